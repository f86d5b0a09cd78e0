"""Every state of every alert kind (issue 23 §1): the incident parent, the agent-health alert
(which webhook conditions reuse) and the rate alert as *triggered*, *acknowledged*, *muted*,
*resolved* (by hand with a reason, or by itself), snapshot-tested; and the pure state function's
table (bot/blocks/alert_state.py) that every alert kind, rate alerts included, renders through."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.blocks.alert_state import (
    AlertState,
    Phase,
    StateActions,
    span,
    state_buttons,
    state_line,
)
from bot.blocks.alerts import IncidentView, incident_parent, share
from bot.blocks.health import AlertExtras, health_alert, health_resolved
from bot.blocks.message import Message
from bot.blocks.rates import rate_alert, reading_text
from bot.blocks.triage import CauseLine, CausesView
from bot.contracts.actions import Action
from bot.webhooks.decide import condition_key
from tests.blocks_checks import assert_unique_action_ids, assert_within_limits
from tests.unit.blocks.test_triage import check_snapshot

T0 = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
RUNBOOK = "https://wiki.example.com/runbooks/voice-bot?x=1&y=2"
DASHBOARD = "https://pipecat.daily.co/acme/agents/{agent}/sessions/{session}"
QUOTA = "CartesiaTTSService#0 error: quota exceeded for this API key"


def incident(**state: Any) -> IncidentView:
    values: dict[str, Any] = {"runbook": RUNBOOK, "dashboard": DASHBOARD, **state}
    return IncidentView(
        agent="voice-bot",
        session_count=7,
        first_failure_at=T0,
        last_failure_at=T0 + timedelta(minutes=12),
        statuses=["HTTP_ERROR"],
        latest_session_id=SID,
        group="<!subteam^S0ONCALL>",
        causes=CausesView(lines=[CauseLine(QUOTA, 7)]),
        now=T0 + timedelta(minutes=14),
        calls=20,
        hint="quota exceeded at Cartesia: check the plan or the key (text-to-speech)",
        **values,
    )


ACKED = {"acknowledged_by": "U0STEVE", "acknowledged_at": T0 + timedelta(minutes=2)}
INCIDENT_STATES: dict[str, dict[str, Any]] = {
    "triggered": {},
    "triggered-muted": {"muted_until": T0 + timedelta(hours=1)},
    "acknowledged": ACKED,
    "acknowledged-muted": {**ACKED, "muted_until": T0 + timedelta(hours=1)},
    "resolved-by-hand": {
        **ACKED,
        "closed": True,
        "closed_at": T0 + timedelta(minutes=23),
        "resolved_by": "U0STEVE",
        "resolve_reason": "rotated the Cartesia key",
    },
    "resolved-quiet": {"closed": True, "closed_at": T0 + timedelta(minutes=42)},
}

FINDING = {"title": "Crash-looping", "kind": "revision", "facts": ["3 restarts"], "message": "exit code 1"}
WEBHOOK = {"key": condition_key("build_failed"), "title": "Build failed", "kind": "build_failed", "facts": []}
EXTRAS = AlertExtras(runbook=RUNBOOK, dashboard=DASHBOARD)
MUTED = AlertExtras(runbook=RUNBOOK, dashboard=DASHBOARD, muted_until=T0 + timedelta(hours=1))
HEALTH_ACKED: dict[str, Any] = {"acknowledged_by": "U0STEVE", "acknowledged_at": T0 + timedelta(minutes=2)}
HEALTH_STATES: dict[str, Any] = {
    "health-triggered": lambda: health_alert("voice-bot", FINDING, "critical", T0, "k", extras=EXTRAS),
    "health-triggered-muted": lambda: health_alert("voice-bot", FINDING, "critical", T0, "k", extras=MUTED),
    "health-acknowledged": lambda: health_alert(
        "voice-bot", FINDING, "critical", T0, "k", extras=EXTRAS, **HEALTH_ACKED
    ),
    "health-acknowledged-muted": lambda: health_alert(
        "voice-bot", FINDING, "critical", T0, "k", extras=MUTED, **HEALTH_ACKED
    ),
    "health-came-back": lambda: health_alert(
        "voice-bot", FINDING, "critical", T0, "k", returned_at=T0 + timedelta(minutes=30), returns=2
    ),
    "health-resolved": lambda: health_resolved("voice-bot", FINDING, T0, T0 + timedelta(minutes=23), "k"),
    "webhook-triggered": lambda: health_alert("voice-bot", WEBHOOK, "error", T0, "k", extras=EXTRAS),
    "webhook-acknowledged": lambda: health_alert("voice-bot", WEBHOOK, "error", T0, "k", extras=EXTRAS, **HEALTH_ACKED),
    "webhook-resolved": lambda: health_resolved(
        "voice-bot", WEBHOOK, T0, T0 + timedelta(minutes=5), "k", extras=EXTRAS
    ),
}


#: A failure-rate episode (bot/rates/detectors.py Episode JSON) past its worst: 18% now, 31% at
#: worst, 12 sessions over the usual so far.
EPISODE: dict[str, Any] = {
    "key": "failure-rate",
    "opened_at": T0.isoformat(),
    "usual": 0.02,
    "headline": "18% of calls failing (last 5 min), usually 2.0%",
    "current": 0.18,
    "peak": 0.31,
    "peak_headline": "31% of calls failing (last 5 min), usually 2.0%",
    "severity": "page",
    "cost": 12,
}
RATE_DETAIL: dict[str, Any] = {
    "deployments": [{"deployment": "dep-7f3a9c2e41", "ended": 120, "failed": 37}],
    "causes": [{"label": QUOTA, "count": 9}],
}
MUTED_UNTIL: dict[str, Any] = {"muted_until": T0 + timedelta(hours=1)}
RATE_STATES: dict[str, dict[str, Any]] = {
    "triggered": {},
    "triggered-muted": MUTED_UNTIL,
    "acknowledged": HEALTH_ACKED,
    "acknowledged-muted": {**HEALTH_ACKED, **MUTED_UNTIL},
    # Cleared 23 min after it opened, 41 sessions over the usual in all; who was on it stays.
    "resolved": {**HEALTH_ACKED, "cleared_at": T0 + timedelta(minutes=23), "cost": 41},
}


def rate(state: str) -> Message:
    return rate_alert("voice-bot", EPISODE, T0, "k", **RATE_DETAIL, **RATE_STATES[state])


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in message.blocks if b["type"] == "actions" for e in b["elements"]}


def headline(message: Message) -> str:
    return str(message.blocks[0]["text"]["text"])


@pytest.mark.parametrize("state", list(INCIDENT_STATES))
def test_incident_state_snapshot(state: str) -> None:
    message = incident_parent(incident(**INCIDENT_STATES[state]), "incident:12")
    assert_within_limits(message)
    assert_unique_action_ids(message.blocks)
    check_snapshot(f"state-incident-{state}", message)


@pytest.mark.parametrize("state", list(HEALTH_STATES))
def test_health_state_snapshot(state: str) -> None:
    message = HEALTH_STATES[state]()
    assert_within_limits(message)
    assert_unique_action_ids(message.blocks)
    check_snapshot(f"state-{state}", message)


@pytest.mark.parametrize("state", list(RATE_STATES))
def test_rate_state_snapshot(state: str) -> None:
    message = rate(state)
    assert_within_limits(message)
    assert_unique_action_ids(message.blocks)
    check_snapshot(f"state-rate-{state}", message)


def test_the_rate_alert_headline_reads_how_bad_and_its_state() -> None:
    first, state = headline(rate("triggered")).split("\n")
    assert first.startswith(":rotating_light: *voice-bot*: 18% of calls failing (last 5 min), usually 2.0%")
    assert " · worst 31% · since <!date^" in first and first.endswith(" · about 12 sessions affected so far")
    assert state.startswith("*Triggered* <!date^")
    assert rate("triggered").text == "voice-bot: 18% of calls failing (last 5 min), usually 2.0% · Triggered"
    acked = headline(rate("acknowledged-muted"))
    assert acked.startswith(":eyes: *voice-bot*: 18%") and "\n*Acknowledged* by <@U0STEVE> at <!date^" in acked
    done = headline(rate("resolved"))
    assert done.startswith(":white_check_mark: *voice-bot*: ~31% of calls failing (last 5 min), usually 2.0%~")
    assert "· about 41 sessions affected\n*Resolved* after 23 min (ended <!date^" in done
    assert "so far" not in done and "18%" not in done
    assert ":eyes: acknowledged by <@U0STEVE> at" in json.dumps(rate("resolved").blocks)  # stays on the record
    # At its worst now: no "worst"; nothing cost yet (a detector that counts none): no count.
    fresh = rate_alert("voice-bot", {**EPISODE, "peak_headline": EPISODE["headline"], "cost": 0}, T0, "k")
    assert " · worst" not in headline(fresh) and "affected" not in headline(fresh)
    warn = rate_alert("voice-bot", {**EPISODE, "key": "cold-start", "severity": "warn"}, T0, "k")
    assert headline(warn).startswith(":chart_with_upwards_trend: *voice-bot*")


def test_buttons_follow_the_rate_alert_state_and_there_is_no_resolve() -> None:
    ids = {name: list(buttons(rate(name))) for name in RATE_STATES}
    assert ids["triggered"] == [Action.RATE_ACK, Action.INCIDENT_MUTE, Action.RATE_DETAILS]
    assert ids["triggered-muted"] == [Action.RATE_ACK, Action.INCIDENT_UNMUTE, Action.RATE_DETAILS]
    assert ids["acknowledged"] == [Action.RATE_UNACK, Action.INCIDENT_MUTE, Action.RATE_DETAILS]
    assert ids["acknowledged-muted"] == [Action.RATE_UNACK, Action.INCIDENT_UNMUTE, Action.RATE_DETAILS]
    assert ids["resolved"] == [Action.RATE_DETAILS]  # Details stays; the mute is not shown once resolved
    assert all(Action.INCIDENT_RESOLVE not in found for found in ids.values())  # resolves on evidence only
    muted = json.dumps(rate("triggered-muted").blocks)
    assert ":mute: muted until <!date^" in muted and ":mute:" not in json.dumps(rate("resolved").blocks)


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("failure-rate", 0.31, "31%"),
        ("cold-start", 0.045, "4.5%"),
        ("silence", 0.0, "0.0 calls a minute"),
        ("silence", 42.0, "42 calls a minute"),
        ("bot-start", 13.0, "p95 13s"),
        ("bot-start", 3600.0, "p95 over 60s"),
        ("slo-fast", 14.44, "14.4x"),
        ("something-new", 1.0, None),
    ],
)
def test_reading_text_table(key: str, value: float, said: str | None) -> None:
    assert reading_text(key, value) == said


def test_the_incident_headline_reads_its_state_and_how_bad() -> None:
    triggered = incident_parent(incident(), "k")
    first = headline(triggered).split("\n")[0]
    assert first.startswith(":rotating_light: *voice-bot*: 7 sessions failed since")
    assert "35% of 20 calls" in first and "14 min so far" in first
    assert "*Triggered*" in headline(triggered) and "<!subteam^S0ONCALL>" in headline(triggered)
    acked = headline(incident_parent(incident(**ACKED), "k"))
    assert acked.startswith(":eyes:") and "*Acknowledged* by <@U0STEVE> at <!date^" in acked
    assert "<!subteam" not in acked  # somebody is on it: the group is not pinged again on edits
    done = headline(incident_parent(incident(**INCIDENT_STATES["resolved-by-hand"]), "k"))
    assert done.startswith(":white_check_mark:") and "so far" not in done
    assert "*Resolved* by <@U0STEVE> after 23 min: _rotated the Cartesia key_" in done
    quiet = headline(incident_parent(incident(**INCIDENT_STATES["resolved-quiet"]), "k"))
    assert "*Resolved* after 12 min (ended" in quiet  # the last failure, not when the window closed it


def test_buttons_follow_the_incident_state() -> None:
    ids = {name: set(buttons(incident_parent(incident(**s), "k"))) for name, s in INCIDENT_STATES.items()}
    links = {Action.ALERT_RUNBOOK, Action.ALERT_DASHBOARD, Action.ALERT_DASHBOARD_SESSION}
    common = {Action.INCIDENT_DETAILS, Action.INCIDENT_LOGS} | links
    assert ids["triggered"] == {Action.INCIDENT_ACK, Action.INCIDENT_RESOLVE, Action.INCIDENT_MUTE} | common
    assert ids["triggered-muted"] == {Action.INCIDENT_ACK, Action.INCIDENT_RESOLVE, Action.INCIDENT_UNMUTE} | common
    assert ids["acknowledged"] == {Action.INCIDENT_UNACK, Action.INCIDENT_RESOLVE, Action.INCIDENT_MUTE} | common
    assert ids["resolved-by-hand"] == ids["resolved-quiet"] == common
    shown = buttons(incident_parent(incident(), "k"))
    assert shown[Action.ALERT_RUNBOOK]["url"] == RUNBOOK
    assert shown[Action.ALERT_DASHBOARD]["url"] == "https://pipecat.daily.co/acme/agents/voice-bot"
    assert (
        shown[Action.ALERT_DASHBOARD_SESSION]["url"] == f"https://pipecat.daily.co/acme/agents/voice-bot/sessions/{SID}"
    )


def test_without_runbook_or_dashboard_there_are_no_links() -> None:
    bare = incident_parent(incident(runbook=None, dashboard=None), "k")
    assert not {Action.ALERT_RUNBOOK, Action.ALERT_DASHBOARD, Action.ALERT_DASHBOARD_SESSION} & set(buttons(bare))
    agent_only = incident_parent(incident(dashboard="https://pipecat.example/{agent}"), "k")
    assert Action.ALERT_DASHBOARD in buttons(agent_only) and Action.ALERT_DASHBOARD_SESSION not in buttons(agent_only)


def test_the_hint_shows_under_the_causes() -> None:
    text = json.dumps(incident_parent(incident(), "k").blocks)
    assert ":bulb: *Next:* quota exceeded at Cartesia: check the plan or the key" in text


def test_health_alert_states() -> None:
    opened = HEALTH_STATES["health-triggered-muted"]()
    assert "*Triggered*" in headline(opened) and headline(opened).startswith(":red_circle:")
    assert list(buttons(opened)) == [
        Action.HEALTH_ACK,
        Action.INCIDENT_UNMUTE,
        Action.ALERT_RUNBOOK,
        Action.ALERT_DASHBOARD,
    ]
    acked = HEALTH_STATES["health-acknowledged-muted"]()
    assert headline(acked).startswith(":eyes:") and "*Acknowledged* by <@U0STEVE> at <!date^" in headline(acked)
    assert acked.text.startswith("Acknowledged: voice-bot")
    assert list(buttons(acked)) == [
        Action.HEALTH_UNACK,
        Action.INCIDENT_UNMUTE,
        Action.ALERT_RUNBOOK,
        Action.ALERT_DASHBOARD,
    ]
    assert Action.INCIDENT_RESOLVE not in buttons(acked)  # health alerts resolve on evidence only
    resolved = HEALTH_STATES["webhook-resolved"]()
    assert "*Resolved* after 5 min" in headline(resolved)
    assert set(buttons(resolved)) == {Action.ALERT_RUNBOOK, Action.ALERT_DASHBOARD}  # no Unmute once resolved


T = T0 + timedelta(minutes=23)


@pytest.mark.parametrize(
    ("state", "phase", "line"),
    [
        (AlertState(T0), Phase.TRIGGERED, "*Triggered* <!date^"),
        (AlertState(T0, acknowledged_by="U0X", acknowledged_at=T0), Phase.ACKNOWLEDGED, "*Acknowledged* by <@U0X> at"),
        (AlertState(T0, acknowledged_by="U0X"), Phase.ACKNOWLEDGED, "*Acknowledged* by <@U0X>"),
        (AlertState(T0, resolved_at=T, resolved_by="U0X"), Phase.RESOLVED, "*Resolved* by <@U0X> after 23 min"),
        (
            AlertState(T0, resolved_at=T, resolved_by="U0X", reason="<!channel> fixed"),
            Phase.RESOLVED,
            ": _&lt;!channel&gt; fixed_",
        ),
        (
            AlertState(T0, resolved_at=T + timedelta(minutes=30), stopped_at=T),
            Phase.RESOLVED,
            "*Resolved* after 23 min (ended",
        ),
        (AlertState(T0, acknowledged_by="U0X", resolved_at=T, resolved_by="U0Y"), Phase.RESOLVED, "by <@U0Y>"),
        (AlertState(T0, acknowledged_by="not a user <!here>"), Phase.ACKNOWLEDGED, "by not a user &lt;!here&gt;"),
    ],
)
def test_state_line_table(state: AlertState, phase: Phase, line: str) -> None:
    assert state.phase is phase
    assert line in state_line(state)[0]


ACTIONS = StateActions("ack", "unack", "resolve", "mute", "unmute")
EVIDENCE_ONLY = StateActions("ack", "unack", None, "mute", "unmute")


@pytest.mark.parametrize(
    ("state", "ids"),
    [
        (AlertState(T0), ["ack", "resolve", "mute"]),
        (AlertState(T0, muted_until=T), ["ack", "resolve", "unmute"]),
        (AlertState(T0, acknowledged_by="U0X"), ["unack", "resolve", "mute"]),
        (AlertState(T0, acknowledged_by="U0X", muted_until=T), ["unack", "resolve", "unmute"]),
        (AlertState(T0, resolved_at=T), []),
    ],
)
def test_state_buttons_table(state: AlertState, ids: list[str]) -> None:
    from slack_sdk.models.blocks import Option

    elements = state_buttons(state, ACTIONS, "voice-bot", [Option(text="1h", value="voice-bot|1h")])
    assert [e.action_id for e in elements] == ids
    assert state_buttons(AlertState(T0), ACTIONS, "v", [])[-1].action_id == "resolve"  # no menu without options
    # A kind that resolves on evidence only (rate alerts): the same buttons, without Resolve.
    evidence = state_buttons(state, EVIDENCE_ONLY, "voice-bot", [Option(text="1h", value="voice-bot|1h")])
    assert [e.action_id for e in evidence] == [i for i in ids if i != "resolve"]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (23 * 60 + 59, "23 min"), (3600, "1 h 00 min"), (49 * 3600, "2 d 1 h")],
)
def test_span_table(seconds: int, said: str) -> None:
    assert span(timedelta(seconds=seconds)) == said


@pytest.mark.parametrize(
    ("failed", "calls", "said"),
    [(7, 20, "35% of 20 calls"), (1, 1, "100% of 1 call"), (7, None, None), (7, 0, None), (7, 5, None)],
)
def test_share_table(failed: int, calls: int | None, said: str | None) -> None:
    """No share when the polls saw fewer calls than failures (a gap in what they saw)."""
    assert share(failed, calls) == said
