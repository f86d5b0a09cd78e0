"""The event builders: what PagerDuty (and the on-call engineer's phone) will show."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.contracts import keys
from bot.pagerduty import events
from sandbox.pagerduty.checks import problems
from sandbox.pagerduty.standin import DEFAULT_ROUTING_KEY

T0 = datetime(2026, 10, 30, 14, 2, tzinfo=UTC)
T1 = datetime(2026, 10, 30, 14, 9, tzinfo=UTC)


def facts(**overrides: object) -> events.IncidentFacts:
    values: dict[str, object] = {
        "agent": "voice-bot",
        "session_count": 6,
        "statuses": ("HTTP_ERROR", "HTTP_ERROR"),
        "first_failure_at": T0,
        "last_failure_at": T1,
        "latest_session_id": "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11",
        "deployment_id": "dep-42",
        "top_cause": "CartesiaTTSService error: 401 Unauthorized",
        "permalink": "https://example.slack.com/archives/C1/p1793369100000300",
        "channel_id": "C1",
    }
    values.update(overrides)
    return events.IncidentFacts(**values)  # type: ignore[arg-type]


def test_the_summary_names_agent_count_statuses_and_likely_cause() -> None:
    assert events.incident_summary(facts()) == (
        "voice-bot: 6 sessions failed (HTTP_ERROR) — likely cause: CartesiaTTSService error: 401 Unauthorized"
    )
    assert events.incident_summary(facts(session_count=1, top_cause=None, statuses=("500", "HTTP_ERROR"))) == (
        "voice-bot: 1 session failed (500, HTTP_ERROR)"
    )


def test_a_long_cause_is_cut_to_pagerdutys_1024_characters() -> None:
    summary = events.incident_summary(facts(top_cause="Traceback\n  " + "x" * 5000))
    assert len(summary) == events.SUMMARY_LIMIT and summary.endswith("…") and "\n" not in summary


def test_the_trigger_carries_source_severity_deployment_details_and_the_slack_link() -> None:
    event = events.incident_trigger("key-1", facts(), T1)
    payload = event["payload"]
    assert (event["event_action"], event["dedup_key"]) == ("trigger", "key-1")
    assert (payload["source"], payload["severity"]) == ("voice-bot", "error")
    assert (payload["component"], payload["group"]) == ("dep-42", "dep-42")
    assert payload["custom_details"] == {
        "failed_sessions": 6,
        "statuses": ["HTTP_ERROR"],
        "deployment": "dep-42",
        "top_cause": "CartesiaTTSService error: 401 Unauthorized",
        "first_failure": T0.isoformat(),
        "last_failure": T1.isoformat(),
        "latest_session": "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11",
        "slack_channel": "C1",
    }
    assert event["links"] == [{"href": facts().permalink, "text": "Incident thread in Slack"}]
    assert "routing_key" not in event  # added by the client when sending, never stored


def test_without_deployment_or_parent_the_trigger_leaves_those_fields_out() -> None:
    event = events.incident_trigger("k", facts(deployment_id=None, permalink=None, top_cause=None), T1)
    assert "links" not in event and "component" not in event["payload"] and "group" not in event["payload"]
    assert "top_cause" not in event["payload"]["custom_details"]


def test_every_built_event_is_valid_for_the_events_api() -> None:
    key = frozenset({DEFAULT_ROUTING_KEY})
    built = [
        events.incident_trigger("k", facts(top_cause="y" * 4000), T1),
        events.condition_trigger("c", events.ConditionFacts("voice-bot", "revision", "crash loop", T0, "critical"), T1),
        events.follow_up(events.ACKNOWLEDGE, "k"),
        events.follow_up(events.RESOLVE, "k"),
    ]
    for event in built:
        assert problems({**event, "routing_key": DEFAULT_ROUTING_KEY}, key) == []


def test_the_incident_key_is_stable_and_distinct_per_workspace_channel_and_incident() -> None:
    key = keys.incident_dedup_key("T1", "C1", 7)
    assert key == keys.incident_dedup_key("T1", "C1", 7) == "pipecat-ops/T1/C1/incident/7"
    others = {keys.incident_dedup_key(*args) for args in [("T2", "C1", 7), ("T1", "C2", 7), ("T1", "C1", 8)]}
    assert key not in others and len(others) == 3


def test_a_health_condition_pages_with_its_severity_facts_and_masked_message() -> None:
    facts = events.ConditionFacts(
        "voice-bot", "revision", "Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)", T0, "critical",
        deployment_id="dep-9", facts=("5 restarts",), message="Traceback …\n" + "x" * 3000,
    )  # fmt: skip
    event = events.condition_trigger("k", facts, T1)
    payload = event["payload"]
    assert payload["summary"] == "voice-bot: Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)"
    assert (payload["severity"], payload["class"], payload["component"]) == ("critical", "revision", "dep-9")
    details = payload["custom_details"]
    assert details["facts"] == ["5 restarts"] and len(details["message"]) == events.MESSAGE_LIMIT
    with pytest.raises(ValueError):
        events.condition_trigger("k", events.ConditionFacts("a", "x", "y", T0, "fatal"), T1)


def test_a_condition_key_names_workspace_channel_and_occurrence() -> None:
    key = keys.condition_alert_key("T1", "C1", "pipecat-ops:health:voice-bot:revision:dep-9:1793369100")
    assert key == "pipecat-ops/T1/C1/pipecat-ops:health:voice-bot:revision:dep-9:1793369100"
    assert len(keys.condition_alert_key("T1", "C1", "x" * 400)) == keys.PAGERDUTY_DEDUP_KEY_LIMIT


@pytest.mark.parametrize(
    ("key", "namespace"),
    [
        ("pipecat-ops/T0001/C1/incident/7", "T0001"),  # made with the Slack team id, before 0008
        ("pipecat-ops/T0001/C1/pipecat-ops:health:voice-bot:revision:dep-9:1793369100", "T0001"),
        ("pipecat-ops/3f9a0c1b2d4e/C1/incident/7", "3f9a0c1b2d4e"),
        ("k1", None),  # not one of ours
        ("other-app/T1/C1/incident/7", None),
        ("pipecat-ops//C1/incident/7", None),
        (None, None),  # nothing paged yet
    ],
)
def test_the_namespace_is_read_back_from_existing_keys(key: str | None, namespace: str | None) -> None:
    assert events.key_namespace(key) == namespace
    if namespace is not None:
        assert keys.incident_dedup_key(namespace, "C1", 7) == "pipecat-ops/" + namespace + "/C1/incident/7"


def test_follow_ups_take_only_the_key() -> None:
    assert events.follow_up("resolve", "k") == {"event_action": "resolve", "dedup_key": "k"}
    with pytest.raises(ValueError):
        events.follow_up("trigger", "k")


def test_every_text_paged_goes_through_the_masker() -> None:
    """custom_details, summaries and health messages quote Pipecat's text: a key, a URL password or
    a `DB_PASSWORD=` in them reaches PagerDuty masked, like the same text in Slack."""
    secret = "Hunter2Pass"
    incident = events.incident_trigger("key-1", facts(top_cause=f"cannot reach redis://:{secret}@cache:6379"), T1)
    condition = events.condition_trigger(
        "key-2",
        events.ConditionFacts(
            agent="voice-bot",
            condition="revision",
            description=f"crash-looping: DB_PASSWORD={secret}",
            since=T0,
            severity="critical",
            facts=(f"x-api-key: {secret}",),
            message=f'settings {{"db_password": "{secret}"}} AKIAIOSFODNN7EXAMPLE',
        ),
        T1,
    )
    for event in (incident, condition):
        text = str(event)
        assert secret not in text and "IOSFODNN7EXAMPLE" not in text, text
        assert "[masked]" in str(event["payload"]["custom_details"]) and "[masked]" in event["payload"]["summary"]
