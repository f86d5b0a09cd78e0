"""Alert Block Kit: snapshots of a parent and a reply, escaping, button contracts, watches."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.blocks.alert_notices import bad_item_notice, outage_notice, poll_failed_notice, recovery_notice
from bot.blocks.alert_watches import WatchView
from bot.blocks.alerts import (
    Background,
    IncidentView,
    RolledSession,
    incident_parent,
    rollup_reply,
    session_reply,
    watches_message,
)
from bot.blocks.message import Message
from bot.contracts.actions import Action, parse_mute_value
from bot.contracts.alerts import ALERT_EVENT_TYPE as EVENT_TYPE
from bot.pipecat.models import Session
from tests.paths import SNAPSHOTS

T0 = datetime(2026, 10, 30, 14, 2, 11, tzinfo=UTC)
SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
HOSTILE = "<!channel> & <https://evil.example|click>"


def parent_view(**overrides: Any) -> IncidentView:
    values: dict[str, Any] = {
        "agent": "voice-bot",
        "session_count": 7,
        "first_failure_at": T0,
        "last_failure_at": T0 + timedelta(minutes=9),
        "statuses": ["HTTP_ERROR", "500"],
        "latest_session_id": SID,
        "group": "<!subteam^S0ONCALL>",
        "acknowledged_by": "U0STEVE",
        "acknowledged_at": T0 + timedelta(minutes=10),
        "muted_until": T0 + timedelta(hours=1),
    }
    values.update(overrides)
    return IncidentView(**values)


def failed_session(**overrides: Any) -> Session:
    data: dict[str, Any] = {
        "sessionId": SID,
        "serviceId": "svc-1",
        "deploymentId": "dep-42",
        "createdAt": "2026-10-30T14:01:14Z",
        "endedAt": "2026-10-30T14:02:11Z",
        "completionStatus": "HTTP_ERROR",
        "endState": "agent_error",
        "coldStart": True,
        "botStartSeconds": 3.2,
        "resourceMetrics": {"memoryBytesP99": 412_000_000, "timeseries": [{"t": 1, "c": 10, "m": 420_000_000}]},
    }
    data.update(overrides)
    return Session.model_validate(data)


def rendered(message: Message) -> str:
    body = {"text": message.text, "blocks": message.blocks, "metadata": message.metadata}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


RATE = "2.1% of calls failing (last 5 min), usually 2.0%"
BACKGROUND = Background(rate=RATE, causes=[("OpenAI timeout", 4), ("Daily room expired", 2)], causes_read=5)


def background_sessions(count: int) -> list[RolledSession]:
    return [
        RolledSession(f"{i:08d}-0000-4000-8000-000000000000", "HTTP_ERROR", T0 + timedelta(seconds=40 * i))
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alert-parent", incident_parent(parent_view(), "incident:12")),
        ("alert-parent-rate", incident_parent(parent_view(rate=RATE), "incident:12")),
        ("alert-reply", session_reply("voice-bot", failed_session(), f"3:{SID}")),
        ("rollup-background", rollup_reply("voice-bot", background_sessions(12), "rollup:9:4", background=BACKGROUND)),
    ],
)
def test_snapshot(name: str, message: Message) -> None:
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(rendered(message), encoding="utf-8")
    assert path.exists(), f"{path.name} missing; run with UPDATE_SNAPSHOTS=1 to write it"
    assert path.read_text(encoding="utf-8") == rendered(message), f"{path.name} changed; UPDATE_SNAPSHOTS=1 to accept"


def actions_of(message: Message) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in message.blocks if b["type"] == "actions" for e in b["elements"]}


def test_parent_buttons_follow_the_handler_contract() -> None:
    actions = actions_of(incident_parent(parent_view(acknowledged_by=None, muted_until=None), "incident:1"))
    assert actions[Action.INCIDENT_ACK]["value"] == actions[Action.INCIDENT_RESOLVE]["value"] == "voice-bot"
    assert actions[Action.INCIDENT_DETAILS]["value"] == actions[Action.INCIDENT_LOGS]["value"] == f"voice-bot:{SID}"
    values = [o["value"] for o in actions[Action.INCIDENT_MUTE]["options"]]
    assert values == ["voice-bot|1h", "voice-bot|4h", "voice-bot|24h"]
    assert [parse_mute_value(v) for v in values] == [
        ("voice-bot", timedelta(hours=1)),
        ("voice-bot", timedelta(hours=4)),
        ("voice-bot", timedelta(hours=24)),
    ]


def test_parent_buttons_follow_the_state() -> None:
    """Acknowledged: Unacknowledge instead of Acknowledge; muted: Unmute instead of the menu;
    resolved: none of the state buttons, Details and Logs stay."""
    acked_muted = actions_of(incident_parent(parent_view(), "incident:1"))
    assert Action.INCIDENT_ACK not in acked_muted and Action.INCIDENT_MUTE not in acked_muted
    assert acked_muted[Action.INCIDENT_UNACK]["value"] == acked_muted[Action.INCIDENT_UNMUTE]["value"] == "voice-bot"
    assert Action.INCIDENT_RESOLVE in acked_muted
    closed = actions_of(incident_parent(parent_view(closed=True, closed_at=T0 + timedelta(minutes=40)), "i:1"))
    assert set(closed) == {Action.INCIDENT_DETAILS, Action.INCIDENT_LOGS}


@pytest.mark.parametrize("value", ["voice-bot", "voice-bot|2h", "|1h", "voice-bot|", ""])
def test_parse_mute_value_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError):
        parse_mute_value(value)


def test_parent_states() -> None:
    fresh = incident_parent(parent_view(acknowledged_by=None, muted_until=None, group=None), "incident:1")
    assert fresh.text == "voice-bot: 7 sessions failed since 14:02 UTC · Triggered"
    assert "Acknowledged" not in str(fresh.blocks) and "Muted" not in str(fresh.blocks)
    closed = incident_parent(parent_view(closed=True), "incident:1")
    assert closed.text.endswith("Resolved after 9 min") and "*Resolved* after 9 min" in str(closed.blocks)
    assert "Muted until" not in str(closed.blocks)  # a closed incident does not advertise the mute
    one = incident_parent(parent_view(session_count=1), "incident:1")
    assert "1 session failed" in one.text


def without_values(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_values(v) for k, v in node.items() if k != "value"}
    if isinstance(node, list):
        return [without_values(v) for v in node]
    return node


def test_everything_from_users_or_the_api_is_escaped() -> None:
    messages = [
        incident_parent(parent_view(agent=HOSTILE, statuses=[HOSTILE], group=HOSTILE, acknowledged_by=HOSTILE), "k"),
        session_reply(HOSTILE, failed_session(completionStatus=HOSTILE, endState=HOSTILE, deploymentId=HOSTILE), "k"),
        rollup_reply(HOSTILE, [RolledSession(HOSTILE, HOSTILE, T0)], "k"),
        rollup_reply(
            HOSTILE,
            [RolledSession(HOSTILE, HOSTILE, T0)],
            "k",
            background=Background(rate=HOSTILE, causes=[(HOSTILE, 2)], causes_read=2),
        ),
        incident_parent(parent_view(rate=HOSTILE), "k"),
        outage_notice(HOSTILE, T0, HOSTILE, "k"),
        recovery_notice(HOSTILE, T0, T0, "k"),
        recovery_notice(HOSTILE, T0, T0, "k", data=True),
        poll_failed_notice(HOSTILE, T0, 3, HOSTILE, "k"),
        bad_item_notice(HOSTILE, HOSTILE, 3, HOSTILE, "k"),
        watches_message([WatchView(HOSTILE, frozenset({HOSTILE}), HOSTILE, None, None, None, HOSTILE)]),
    ]
    for message in messages:
        # Button and option values are data for our handlers, never rendered: only text counts.
        text = json.dumps([message.text, without_values(message.blocks)])
        assert "<!channel>" not in text and "<https://evil" not in text


def test_every_alert_post_carries_its_dedup_key() -> None:
    rolled = [RolledSession(SID, "HTTP_ERROR", T0)]
    for message, key in [
        (incident_parent(parent_view(), "incident:9"), "incident:9"),
        (session_reply("voice-bot", failed_session(), "3:x"), "3:x"),
        (rollup_reply("voice-bot", rolled, "rollup:9:4"), "rollup:9:4"),
        (outage_notice("voice-bot", T0, "Cannot reach", "outage:3:1"), "outage:3:1"),
        (recovery_notice("voice-bot", T0, T0, "recovery:3:1"), "recovery:3:1"),
    ]:
        assert message.metadata is not None and message.metadata["event_type"] == EVENT_TYPE
        assert message.metadata["event_payload"]["dedup_key"] == key
        assert message.metadata["event_payload"]["agent"] == "voice-bot"


def test_a_big_rollup_lists_twenty_and_counts_the_rest() -> None:
    rolled = [RolledSession(f"{i:08d}-0000-4000-8000-000000000000", "HTTP_ERROR", T0) for i in range(30)]
    message = rollup_reply("voice-bot", rolled, "rollup:1:1")
    text = message.blocks[0]["text"]["text"]
    assert text.startswith(":heavy_plus_sign: *30 more sessions failed:*")
    assert text.count("• ") == 20 and "and 10 more" in text
    assert message.text == "30 more voice-bot sessions failed"


def test_a_parent_leads_with_the_failure_rate_against_usual_when_there_is_one() -> None:
    text = incident_parent(parent_view(rate=RATE), "incident:1").blocks[0]["text"]["text"]
    first, second, third = text.split("\n")[:3]
    assert "*voice-bot*: 7 sessions failed since" in first
    assert second == f":bar_chart: {RATE}"
    assert "Acknowledged" in third
    without = incident_parent(parent_view(), "incident:1").blocks[0]["text"]["text"]
    assert "of calls failing" not in without and len(without.split("\n")) == 2


def test_a_periodic_rollup_counts_its_sessions_with_the_rate_the_causes_and_the_ids() -> None:
    message = rollup_reply("voice-bot", background_sessions(30), "rollup:1:1", background=BACKGROUND)
    lines = message.blocks[0]["text"]["text"].split("\n")
    assert lines[0].startswith(":heavy_plus_sign: *30 more sessions failed* between <!date^")
    assert lines[1] == f":bar_chart: {RATE}"
    assert lines[2] == "Top causes (of 5 logs read): OpenAI timeout ×4 · Daily room expired ×2"
    assert sum(line.startswith("• `") for line in lines) == 20 and lines[-1].startswith("…and 10 more")
    assert message.text == f"30 more voice-bot sessions failed · {RATE}"
    # Without a usable rate or any cause read, only the count, the times and the ids.
    bare = rollup_reply("voice-bot", background_sessions(2), "rollup:1:2", background=Background())
    text = bare.blocks[0]["text"]["text"]
    assert "of calls failing" not in text and "Top causes" not in text and text.count("• `") == 2


def test_reply_tolerates_a_session_with_nothing_reported() -> None:
    bare = Session.model_validate(
        {
            "sessionId": SID,
            "createdAt": "2026-10-30T14:01:14Z",
            "endedAt": "2026-10-30T14:02:11Z",
            "endState": "SOMETHING_NEW",
        }
    )
    message = session_reply("voice-bot", bare, "k")
    assert "SOMETHING_NEW" in message.text and "not reported" in str(message.blocks)


def test_watches_message() -> None:
    empty = watches_message([])
    assert "No agents are watched" in empty.text
    views = [
        WatchView("voice-bot", frozenset({"HTTP_ERROR"}), "<!subteam^S0ONCALL>", T0, "U1", T0, None),
        WatchView("support-bot", frozenset({"HTTP_ERROR", "500"}), None, None, None, None, "not_in_channel"),
        WatchView("odd-bot", frozenset({"HTTP_ERROR"}), None, None, None, None, "some_new_error"),
    ]
    message = watches_message(views)
    text = str(message.blocks)
    assert message.text == "3 watched agents, 2 not delivering"
    assert "muted until" in text and "<!subteam^S0ONCALL>" in text and "Last alert: never" in text
    assert "bot not in channel — invite it with /invite @pipecat-ops" in text
    assert "Slack refused posts here (some_new_error)" in text
    many = watches_message(
        [WatchView(f"bot-{i}", frozenset({"HTTP_ERROR"}), None, None, None, None, None) for i in range(60)]
    )
    assert len(many.blocks) <= 50 and "and 15 more" in str(many.blocks)
