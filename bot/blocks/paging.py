"""PagerDuty bits of Slack messages: the answer when paging is not set up, and a watch's paging line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk.models.blocks import SectionBlock

from bot.blocks.format import esc, escape
from bot.blocks.message import Message, build

if TYPE_CHECKING:  # alert_watches renders these lines, so it is imported only for the type
    from bot.blocks.alert_watches import WatchView


def paging_needs_key(agent: str) -> Message:
    text = (
        f":pager: I can't page PagerDuty for *{escape(agent)}* yet: this app has no PagerDuty integration key.\n"
        "1. In PagerDuty, open the service to page → *Integrations* → *Add an integration* → *Events API v2*, "
        "and copy its *Integration Key*.\n"
        "2. Set it as `PAGERDUTY_ROUTING_KEY` in the app's environment and restart the app.\n"
        f"3. Run `/session watch {escape(agent)} page` again. Nothing was changed meanwhile."
    )
    return build("PagerDuty is not set up: set PAGERDUTY_ROUTING_KEY", [SectionBlock(text=text)])


def paging_line(view: WatchView, *, configured: bool = True) -> str | None:
    """`:pager: pages PagerDuty`, with PagerDuty's last refusal when there is one, or a warning
    when the app has no routing key any more (the watch keeps its `page`, nothing is sent)."""
    if not view.page:
        return None
    line = ":pager: Pages PagerDuty"
    if not configured:
        return line + " — :warning: *not sending:* `PAGERDUTY_ROUTING_KEY` is not set"
    if view.page_error:
        line += (
            f"\n:warning: *PagerDuty refused an event:* {esc(view.page_error, 500)}; "
            f"fix it, then run `/session watch {esc(view.agent, 100)} page` again."
        )
    return line
