"""Session summary over every Pipecat fixture: Slack limits, "not reported", escaping, snapshots."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from bot.blocks.format import status_badge, status_kind
from bot.blocks.session import ACTIONS_BLOCK_ID, session_summary
from bot.contracts.actions import Action
from tests.blocks_checks import (
    CASES,
    HOSTILE,
    action_ids,
    assert_no_raw_markup,
    assert_within_limits,
    fields_of,
)
from tests.paths import SNAPSHOTS

AGENT = "voice-bot"
NOW = datetime(2026, 10, 30, 14, 13, 0, tzinfo=UTC)
# --- every fixture -------------------------------------------------------------------------------------


def test_fixtures_are_found() -> None:
    assert {"session-detail-active", "session-detail-error", "session-detail-odd"} <= set(CASES)
    assert len([c for c in CASES if c.startswith("sessions-list-page-")]) == 3


@pytest.mark.parametrize("name", sorted(CASES))
def test_summary_builds_within_limits(name: str) -> None:
    message = session_summary(AGENT, CASES[name], now=NOW)
    assert_within_limits(message)
    assert_no_raw_markup(message)
    dumped = json.dumps(message.blocks) + message.text
    assert "None" not in dumped and "null" not in dumped
    assert {"Status", "Cold start", "Peak memory", "Duration", "Bot start"} <= set(fields_of(message))


@pytest.mark.parametrize("name", sorted(CASES))
def test_buttons_carry_agent_and_session(name: str) -> None:
    session = CASES[name]
    message = session_summary(AGENT, session, now=NOW)
    actions = next(b for b in message.blocks if b["type"] == "actions")
    assert actions["block_id"] == ACTIONS_BLOCK_ID
    assert {e["value"] for e in actions["elements"]} == {f"{AGENT}:{session.session_id}"}
    ids = action_ids(message)
    assert ids[:2] == [Action.SESSION_REFRESH, Action.SESSION_LOGS]
    assert (Action.SESSION_STOP in ids) == (name == "session-detail-active")


def test_stop_has_a_confirmation() -> None:
    message = session_summary(AGENT, CASES["session-detail-active"], now=NOW)
    stop = next(
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == Action.SESSION_STOP
    )
    assert stop["style"] == "danger"
    assert stop["confirm"]["title"]["text"] == "Stop session?"
    assert "disconnects the caller" in stop["confirm"]["text"]["text"]


def test_chart_button_only_with_samples() -> None:
    assert Action.SESSION_CHART in action_ids(session_summary(AGENT, CASES["session-detail-error"]))
    assert Action.SESSION_CHART not in action_ids(session_summary(AGENT, CASES["session-detail-odd"]))
    assert Action.SESSION_CHART not in action_ids(session_summary(AGENT, CASES["session-detail-active"]))


# --- the facts shown -----------------------------------------------------------------------------------


def test_error_fixture() -> None:
    message = session_summary(AGENT, CASES["session-detail-error"], now=NOW)
    fields = fields_of(message)
    assert fields["Status"] == "HTTP_ERROR"
    assert fields["End state"] == "agent_error"
    assert fields["Peak memory"] == "592 MiB (p50 468 MiB)"
    assert fields["Cold start"] == "Yes"
    assert fields["Bot start"] == "7s"
    assert fields["CPU p50 / p99"] == "480m / 718m"
    assert message.blocks[0]["text"]["text"] == "voice-bot · 🔴 error"
    assert message.text == "voice-bot session 0b6f2c1e… ended with HTTP_ERROR after 57s"
    body = json.dumps(message.blocks, ensure_ascii=False)
    assert "SESSION_START_INITIATED" in body and "(+7s)" in body
    assert "▁" in body and "█" in body  # sparklines


def test_odd_fixture_renders_unknown_values() -> None:
    message = session_summary(AGENT, CASES["session-detail-odd"], now=NOW)
    fields = fields_of(message)
    assert fields["Status"] == "500"
    assert fields["Peak memory"] == "1.0 GiB"  # p99 only; the "0" p50 of zero samples is absent
    assert fields["CPU p50 / p99"] == "not reported"
    assert fields["Cold start"] == "Yes"
    assert message.blocks[0]["text"]["text"] == "voice-bot · 🔴 error (500)"
    assert "no resource samples reported" in json.dumps(message.blocks)


def test_active_fixture() -> None:
    session = CASES["session-detail-active"]
    fields = fields_of(session_summary(AGENT, session, now=NOW))
    assert fields["Status"] == "active"
    assert fields["Duration"] == "running for 2m 58s"
    assert fields["Ended"] == "still running"
    for key in ("Bot start", "Cold start", "Peak memory", "CPU p50 / p99", "End state"):
        assert fields[key] == "not reported"
    assert fields_of(session_summary(AGENT, session))["Duration"] == "still running"
    naive = datetime(2026, 10, 30, 14, 13, 0)
    assert fields_of(session_summary(AGENT, session, now=naive))["Duration"] == "running for 2m 58s"


def test_list_item_without_cold_start_or_metrics() -> None:
    fields = fields_of(session_summary(AGENT, CASES["sessions-list-page-2"]))
    assert fields["Cold start"] == "not reported"
    assert fields["Peak memory"] == "not reported"
    assert fields_of(session_summary(AGENT, CASES["sessions-list-page-1"]))["Cold start"] == "No"


def test_meeting_ids_in_context() -> None:
    message = session_summary(AGENT, CASES["session-detail-seed"])
    context = next(b for b in message.blocks if b["type"] == "context")["elements"][0]["text"]
    assert "f1e2d3c4-b5a6-9780-1234-567890abcdef" in context
    assert "81f4da55-106d-401f-b069-a1f1992f871a" in context


@pytest.mark.parametrize(
    ("status", "end_state", "active", "kind", "badge"),
    [
        (None, None, True, "active", "🟢 active"),
        ("HTTP_COMPLETED", "completed", False, "completed", "✅ completed"),
        (None, "completed", False, "completed", "✅ completed"),
        ("HTTP_ERROR", "agent_error", False, "error", "🔴 error"),
        ("503", None, False, "error", "🔴 error (503)"),
        ("404", None, False, "other", "⚪ 404"),
        ("BOT_CONNECTION_TIMEOUT", None, False, "timeout", "⏱️ timeout"),
        (None, "agent_start_timeout", False, "timeout", "⏱️ timeout (agent_start_timeout)"),
        ("WS_CONNECTION_CLOSED", "ended_before_agent_start", False, "error", "🔴 error (WS_CONNECTION_CLOSED)"),
        ("WS_CONNECTION_CLOSED", None, False, "other", "⚪ WS_CONNECTION_CLOSED"),
        ("SOMETHING_NEW", "brand_new", False, "other", "⚪ SOMETHING_NEW"),
        (None, None, False, "other", "⚪ unknown"),
    ],
)
def test_badges(status: str | None, end_state: str | None, active: bool, kind: str, badge: str) -> None:
    assert status_kind(status, end_state, active=active) == kind
    assert status_badge(status, end_state, active=active) == badge


# --- hostile and oversized input -----------------------------------------------------------------------


def test_hostile_agent_and_status_are_escaped() -> None:
    session = CASES["session-detail-error"].model_copy(
        update={"completion_status": HOSTILE, "end_state": HOSTILE, "deployment_id": HOSTILE}
    )
    message = session_summary(HOSTILE, session, now=NOW)
    assert_within_limits(message)
    assert_no_raw_markup(message)
    fields = fields_of(message)
    assert fields["Status"] == "&lt;!channel&gt; &lt;@U123&gt; &lt;http://evil|click&gt; &amp; co"
    assert "&lt;!channel&gt;" in message.text


def test_huge_status_is_truncated() -> None:
    huge = "X&" * 2000
    session = CASES["session-detail-odd"].model_copy(update={"completion_status": huge, "end_state": huge})
    message = session_summary("a" * 200, session)
    assert_within_limits(message)
    status = fields_of(message)["Status"]
    assert status.endswith("…") and "&amp…" not in status and not status.endswith("&…")
    assert len(message.blocks[0]["text"]["text"]) <= 150
    assert len(message.text) <= 300


# --- snapshots -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_snapshot(name: str) -> None:
    rendered = (
        json.dumps(session_summary(AGENT, CASES[name], now=NOW).blocks, indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
    )
    path = SNAPSHOTS / f"summary-{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"{path.name} missing; run with UPDATE_SNAPSHOTS=1 to write it"
    assert path.read_text(encoding="utf-8") == rendered, f"{path.name} changed; UPDATE_SNAPSHOTS=1 to accept"


@pytest.mark.parametrize("seconds", [-1, -0.5, float("nan")])
def test_a_negative_bot_start_is_not_reported(seconds: float) -> None:
    """A bot start Pipecat reports as -1 (or NaN) is no measurement: "not reported", never "-1s"."""
    session = CASES["session-detail-error"].model_copy(update={"bot_start_seconds": seconds})
    fields = fields_of(session_summary("voice-bot", session))
    assert fields["Bot start"] == "not reported"
