"""The PagerDuty lines of `/session watches` and the set-up answer."""

from __future__ import annotations

from bot.blocks.alert_watches import WatchView, watches_message
from bot.blocks.paging import paging_line, paging_needs_key


def view(**overrides: object) -> WatchView:
    values: dict[str, object] = {
        "agent": "voice-bot", "statuses": frozenset({"HTTP_ERROR"}), "group": None, "muted_until": None,
        "muted_by": None, "last_alert_at": None, "broken_reason": None, "page": True, "page_error": None,
    }  # fmt: skip
    values.update(overrides)
    return WatchView(**values)  # type: ignore[arg-type]


def test_only_paging_watches_get_a_paging_line() -> None:
    assert paging_line(view(page=False)) is None
    assert paging_line(view()) == ":pager: Pages PagerDuty"


def test_pagerdutys_error_is_shown_escaped_with_the_fix() -> None:
    line = paging_line(view(page_error="Event object is invalid: <!channel> & more"))
    assert line is not None
    assert "Event object is invalid: &lt;!channel&gt; &amp; more" in line and "<!channel>" not in line
    assert "`/session watch voice-bot page`" in line


def test_the_watch_list_counts_paging_watches() -> None:
    message = watches_message([view(), view(agent="support-bot", page=False)])
    assert message.text == "2 watched agents, 1 paging PagerDuty"


def test_the_set_up_answer_walks_through_the_integration() -> None:
    text = str(paging_needs_key("voice-bot").blocks)
    for step in ("Events API v2", "Integration Key", "PAGERDUTY_ROUTING_KEY", "/session watch voice-bot page"):
        assert step in text
