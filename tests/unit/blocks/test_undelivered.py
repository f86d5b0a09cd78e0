"""The undelivered summary and the watch list's undelivered count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.blocks.alert_notices import MAX_SUMMARY_LINES, UndeliveredLine, undelivered_summary
from bot.blocks.alert_watches import WatchView, watches_message

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)


def line(n: int, agent: str = "voice-bot") -> UndeliveredLine:
    return UndeliveredLine(agent, "alert", f"sess-{n}", T0 + timedelta(minutes=n), "HTTP 503")


def test_the_summary_counts_lists_and_names_the_period() -> None:
    message = undelivered_summary([line(1), line(2)], T0, T0 + timedelta(hours=24), "undelivered:C1:3")
    text = str(message.blocks)
    assert message.text == "2 alerts could not be delivered"
    assert "*2 alerts could not be delivered* between" in text and "sess-1" in text and "sess-2" in text
    assert message.metadata is not None and message.metadata["event_payload"]["dedup_key"] == "undelivered:C1:3"


def test_the_summary_escapes_names_and_says_how_many_more() -> None:
    lines = [line(n, agent="<!channel>&co") for n in range(MAX_SUMMARY_LINES + 3)]
    text = str(undelivered_summary(lines, T0, T0, "k").blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt;&amp;co" in text
    assert "…and 3 more" in text and f"{MAX_SUMMARY_LINES + 3} alerts" in text


def test_watches_show_how_many_alerts_were_not_delivered() -> None:
    view = WatchView("voice-bot", frozenset({"HTTP_ERROR"}), None, None, None, None, None, undelivered=3)
    message = watches_message([view])
    assert "3 alerts undelivered" in str(message.blocks) and message.text.endswith("3 alerts undelivered")
    quiet = WatchView("voice-bot", frozenset({"HTTP_ERROR"}), None, None, None, None, None)
    assert "undelivered" not in str(watches_message([quiet]).blocks)


def test_a_given_up_health_alert_is_listed_with_what_it_said_escaped() -> None:
    health = UndeliveredLine("voice-bot", "health", None, T0, "HTTP 503", detail="Revision <!here> is crash-looping")
    text = str(undelivered_summary([health], T0, T0, "k").blocks)
    assert "health alert (Revision &lt;!here&gt; is crash-looping)" in text and "<!here>" not in text
