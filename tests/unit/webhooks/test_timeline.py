"""The change timeline (bot/webhooks/timeline.py): one escaped line per change, newest first, an
agent's own changes and the organization's, deployments named by their build's commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.webhooks.timeline import timeline
from tests.unit.webhooks.fixtures import stored

T = datetime(2026, 8, 25, 11, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("event_type", "line"),
    [
        ("secret.updated", "`OPENAI_API_KEY` in secret set `voice-agent-secrets` changed"),
        ("api_key.rotated", "private API key `ci-deploy` rotated"),
        ("spend.threshold_reached", "spend reached 80% of the limit ($80.00 of $100.00)"),
        ("spend.limit_reached", "spend limit reached ($100.00): every new session refused (402)"),
        ("spend.limit_cleared", "spend limit cleared (it was $100.00)"),
        ("org.trial_ended", "free trial ended (amount due $12.50): new sessions refused"),
        ("service.suspended", "`voice-agent` suspended (trial exhausted)"),
        ("service.resumed", "`voice-agent` resumed"),
        (
            "build.failed",
            "build `0b7e4d21` failed after 41 s: Step 6/9 : RUN pip install -r requirements.txt returned a non-zero "
            "code: 1",
        ),
        ("deployment.updated", "`voice-agent` deployed build `9f1c3a52`, deployment `d1f7b2c8`"),
    ],
)
def test_each_change_reads_as_one_line(event_type: str, line: str) -> None:
    [entry] = timeline([stored(event_type)])
    assert entry.text == line


@pytest.mark.parametrize("event_type", ["session.started", "build.started"])
def test_what_is_no_change_has_no_line(event_type: str) -> None:
    data = {"build_id": "b"} if event_type == "build.started" else None
    assert timeline([stored(event_type, data, at=T)]) == []


def test_a_deployment_names_its_build_s_commit_ref_and_repository() -> None:
    events = [stored("build.succeeded", at=at(0), event_id=1), stored("deployment.updated", at=at(4), event_id=2)]
    deployed, built = timeline(events)
    assert deployed.text == (
        "`voice-agent` deployed build `9f1c3a52` (acme-co/voice-agent@e3b0c44 on main), deployment `d1f7b2c8`"
    )
    assert built.text == "build `9f1c3a52` succeeded (acme-co/voice-agent@e3b0c44 on main, 94 s)"
    assert (deployed.agent, built.agent) == ("voice-agent", "voice-agent")  # the build is the agent's


def test_a_build_found_outside_the_window_still_names_the_deployment() -> None:
    deploy = stored("deployment.updated", at=at(4), event_id=2)
    [entry] = timeline([deploy], builds=[stored("build.succeeded", at=at(-90), event_id=1)])
    assert "(acme-co/voice-agent@e3b0c44 on main)" in entry.text


def test_an_agent_s_timeline_has_its_changes_and_the_organization_s_newest_first() -> None:
    other_deploy = {
        "deployment_id": "e2a8c3d9-1",
        "service_id": "x",
        "service_name": "support-bot",
        "build_id": "b-other",
    }
    events = [
        stored("build.succeeded", at=at(0), event_id=1),
        stored("deployment.updated", at=at(4), event_id=2),
        stored("secret.updated", at=at(6), event_id=3),
        stored("build.succeeded", {"build_id": "b-other"}, at=at(7), event_id=4),
        stored("deployment.updated", other_deploy, at=at(8), event_id=5),
        stored("build.failed", at=at(9), event_id=6),  # no deployment came from it
        stored("session.started", at=at(10), event_id=7),
    ]
    mine = timeline(events, agent="voice-agent")
    assert [e.event_type for e in mine] == ["secret.updated", "deployment.updated", "build.succeeded"]
    assert [e.agent for e in mine] == [None, "voice-agent", "voice-agent"]
    everything = timeline(events)
    assert [e.event_type for e in everything] == [
        "build.failed",
        "deployment.updated",
        "build.succeeded",
        "secret.updated",
        "deployment.updated",
        "build.succeeded",
    ]


def test_outside_text_is_escaped_and_free_text_masked() -> None:
    secret = {"set_name": "<!channel> & co", "scope": "field", "field_names": ["A`B"]}
    [entry] = timeline([stored("secret.updated", secret, at=T)])
    assert entry.text == "`A'B` in secret set `&lt;!channel&gt; &amp; co` changed"
    failed = {
        "build_id": "b1",
        "error_message": "pull failed: OPENAI_API_KEY=sk-proj-4f9a8b7c6d5e3f2a1b0c\u202e\n  <@U1>",
    }
    [entry] = timeline([stored("build.failed", failed, at=T)])
    assert entry.text == "build `b1` failed: pull failed: OPENAI_API_KEY=[masked] &lt;@U1&gt;"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({"set_name": "s", "scope": "set"}, "secret set `s` changed"),
        ({"set_name": "s", "type": "imagePullSecret", "scope": "set"}, "image pull secret `s` changed"),
        ({"set_name": "s", "scope": "field", "field_names": []}, "secret set `s` changed"),
    ],
)
def test_secret_changes_of_a_whole_set(data: dict[str, object], line: str) -> None:
    [entry] = timeline([stored("secret.updated", data, at=T)])
    assert entry.text == line


def test_fields_added_and_removed() -> None:
    data = {"set_name": "s", "scope": "field", "field_names": ["A", "B"]}
    [added] = timeline([stored("secret.created", data, at=T)])
    [removed] = timeline([stored("secret.deleted", data, at=T)])
    assert (added.text, removed.text) == ("`A`, `B` added to secret set `s`", "`A`, `B` removed from secret set `s`")
