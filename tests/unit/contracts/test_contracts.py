"""The shared contracts: button values round-trip and refuse what the app never made; each id and
code table is the one both of its sides use."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.alerts import IncidentView, incident_parent
from bot.blocks.health import health_alert
from bot.blocks.home import HomeData, home_view
from bot.blocks.rates import rate_alert
from bot.blocks.session import session_summary
from bot.contracts.actions import (
    Action,
    BadButtonValue,
    mute_value,
    parse_mute_value,
    parse_session_value,
    session_value,
)
from bot.contracts.alerts import MUTE_DURATIONS, MUTE_MENU
from bot.contracts.slack_errors import CANNOT_POST_HERE, CHANNEL_ERRORS, broken_text
from bot.contracts.views import HomeWatch
from bot.slack.parsing import Mute, parse_command
from tests.blocks_checks import CASES, action_ids

SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


def test_a_session_value_round_trips_and_normalises_the_id() -> None:
    assert parse_session_value(session_value("voice-bot", SID.upper())) == ("voice-bot", SID)


@pytest.mark.parametrize(
    "value",
    ["", "voice-bot", f":{SID}", f"../../etc:{SID}", "voice-bot:not-a-uuid", f"voice bot:{SID}", f"voice-bot:{SID}x"],
)
def test_a_session_value_the_app_never_made_is_its_own_error(value: str) -> None:
    with pytest.raises(BadButtonValue) as raised:
        parse_session_value(value)
    assert "look the session up again" in raised.value.user_message


def test_every_mute_menu_entry_is_a_mute_duration_and_round_trips() -> None:
    assert set(MUTE_MENU) <= set(MUTE_DURATIONS)
    assert [parse_mute_value(mute_value("voice-bot", label)) for label in MUTE_MENU] == [
        ("voice-bot", MUTE_DURATIONS[label]) for label in MUTE_MENU
    ]


@pytest.mark.parametrize("value", ["voice-bot", "voice-bot|2h", "|1h", "voice-bot|", "", "../x|1h"])
def test_a_mute_value_the_menu_never_offered_is_refused(value: str) -> None:
    with pytest.raises(BadButtonValue):
        parse_mute_value(value)


@pytest.mark.parametrize("label", list(MUTE_DURATIONS))
def test_the_mute_verb_takes_every_duration(label: str) -> None:
    assert parse_command(f"mute voice-bot {label}") == Mute("voice-bot", label)
    assert Mute("voice-bot", label).duration == MUTE_DURATIONS[label]


def test_every_action_id_is_on_a_message_the_app_posts() -> None:
    now = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
    view = IncidentView("voice-bot", 2, now, now + timedelta(minutes=1), ["HTTP_ERROR"], SID)
    dashboard = "https://pipecat.example/agents/{agent}/sessions/{session}"
    linked = replace(view, runbook="https://wiki.example/voice-bot", dashboard=dashboard)
    rendered = set(action_ids(incident_parent(linked, "key")))
    # The state buttons once acknowledged and muted (Unacknowledge, Unmute).
    later = replace(view, acknowledged_by="U0STEVE", muted_until=now + timedelta(hours=1))
    rendered |= set(action_ids(incident_parent(later, "key")))
    for case in CASES.values():
        rendered |= set(action_ids(session_summary("voice-bot", case, now=now)))
    watches = [
        HomeWatch(f"C{i:05d}", "voice-bot", frozenset({"HTTP_ERROR"}), None, None, None, None, 0) for i in range(200)
    ]
    home = home_view(HomeData(watches=watches, incidents=[], alerts=[], polls=[]), now=now)
    rendered |= {e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]}
    episode = {"key": "failure-rate", "headline": "31% of calls failing (last 5 min), usually 2.0%"}
    rendered |= set(action_ids(rate_alert("voice-bot", episode, now, "key")))
    # A rate alert acknowledged (Unacknowledge).
    rendered |= set(action_ids(rate_alert("voice-bot", episode, now, "key", acknowledged_by="U0STEVE")))
    # An agent-health alert, triggered (Acknowledge) and acknowledged (Unacknowledge).
    finding = {"kind": "crash_loop", "title": "is crash-looping", "key": "crash"}
    rendered |= set(action_ids(health_alert("voice-bot", finding, "critical", now, "key")))
    acked = health_alert("voice-bot", finding, "critical", now, "key", acknowledged_by="U0STEVE", acknowledged_at=now)
    rendered |= set(action_ids(acked))
    assert rendered == set(Action)


def test_channel_error_table_serves_all_three_readers() -> None:
    private = set(CANNOT_POST_HERE)
    assert private == {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "missing_scope"}
    assert private <= set(CHANNEL_ERRORS)
    assert broken_text("not_in_channel").startswith("bot not in channel")
    assert broken_text("ekm_access_denied") == "Slack refused posts here (ekm_access_denied)"
    assert broken_text("some_new_error") == "Slack refused posts here (some_new_error)"
