"""The change timeline in Slack: `/session changes` and the "What changed" of incidents and health
alerts (bot/blocks/changes.py, bot/blocks/triage.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.blocks.changes import MAX_LISTED, NOT_CONFIGURED, changes_message
from bot.blocks.health import health_alert
from bot.blocks.triage import MAX_CHANGE_EVENTS, Change, ChangeEvent, change_text, with_change_events
from bot.webhooks.timeline import Entry

T = datetime(2026, 8, 25, 11, 0, tzinfo=UTC)
SECRET = ChangeEvent(T, "`OPENAI_API_KEY` in secret set `voice-bot-secrets` changed", 3)


def test_what_changed_lists_timeline_changes_even_without_a_suspect_deployment() -> None:
    text = change_text(Change(failing=(), events=(SECRET,)))
    assert text.startswith("*What changed*\n• <!date^")
    assert text.endswith("`OPENAI_API_KEY` in secret set `voice-bot-secrets` changed · 3 min before the failures began")
    assert "Failing on deployment" not in text


def test_what_changed_counts_the_changes_it_does_not_list() -> None:
    events = tuple(ChangeEvent(T - timedelta(minutes=i), f"change {i}", i) for i in range(MAX_CHANGE_EVENTS + 2))
    lines = change_text(Change(failing=(), events=events)).split("\n")
    assert len(lines) == 1 + MAX_CHANGE_EVENTS + 1 and lines[-1] == "• and 2 more (`/session changes`)"
    assert "just before the failures began" in lines[1]  # 0 minutes


def test_a_health_alert_gets_its_what_changed_before_its_context() -> None:
    alert = health_alert("voice-bot", {"title": "Revision 7c1e2f90 is crash-looping"}, "critical", T, "k")
    shown = with_change_events(alert, (SECRET,))
    assert [b["type"] for b in shown.blocks] == ["section", "section", "context", "actions"]
    assert "3 min before this began" in shown.blocks[1]["text"]["text"] and shown.metadata == alert.metadata
    assert with_change_events(alert, ()) is alert


def test_session_changes_lists_newest_first_and_marks_organization_wide_ones() -> None:
    entries = [
        Entry(T, "secret.updated", None, "`K` in secret set `s` changed"),
        Entry(T - timedelta(minutes=5), "deployment.updated", "voice-bot", "`voice-bot` deployed build `9f1c3a52`"),
    ]
    shown = json.dumps(
        changes_message("voice-bot", entries, window_label="24h", webhooks_configured=True).blocks, ensure_ascii=False
    )
    assert "Changes · voice-bot · last 24h" in shown
    assert shown.index("`K` in secret set") < shown.index("deployed build") and "_organization-wide_" in shown
    assert "2 change(s), newest first" in shown


def test_an_empty_timeline_says_how_to_set_webhooks_up_when_they_are_not() -> None:
    unset = json.dumps(
        changes_message(None, [], window_label="1h", webhooks_configured=False).blocks, ensure_ascii=False
    )
    assert "No change recorded in the last 1h" in unset and "Settings → Webhooks → Add endpoint" in unset
    assert "Changes · all agents · last 1h" in unset
    configured = json.dumps(
        changes_message(None, [], window_label="1h", webhooks_configured=True).blocks, ensure_ascii=False
    )
    assert NOT_CONFIGURED[:40] not in configured


def test_a_long_timeline_stays_within_slack_s_limits() -> None:
    entries = [Entry(T - timedelta(minutes=i), "secret.updated", None, "x" * 600) for i in range(MAX_LISTED + 40)]
    message = changes_message(None, entries, window_label="7d", webhooks_configured=True)
    assert len(message.blocks) <= 50 and "40 older ones not shown" in json.dumps(message.blocks, ensure_ascii=False)
