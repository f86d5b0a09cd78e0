"""`/session watches`: the channel's watches, their mute state, last alert and delivery problems."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import SECTION_LIMIT, esc, slack_date, truncate
from bot.blocks.message import Message, build
from bot.blocks.paging import paging_line
from bot.contracts.slack_errors import broken_text

#: Watches listed one block each; Slack allows 50 blocks, two are the heading and the footer.
MAX_LISTED = 45
# Only real mention tokens render as mentions; anything else is shown as escaped text.
_MENTION = re.compile(r"^<!subteam\^[A-Z0-9]+>$")


@dataclass(frozen=True)
class WatchView:
    """What `/session watches` shows for one watch (built by the alert service from the store)."""

    agent: str
    statuses: frozenset[str]
    group: str | None
    muted_until: datetime | None
    muted_by: str | None
    last_alert_at: datetime | None
    broken_reason: str | None
    #: Alerts of this watch given up undelivered (listed in the channel's undelivered summary).
    undelivered: int = 0
    #: `/session watch … page`, and PagerDuty's last refusal (HTTP 400) for this watch.
    page: bool = False
    page_error: str | None = None


def mention(group: str | None) -> str:
    """A group mention for mrkdwn: a `<!subteam^ID>` token as is, anything else escaped (no ping)."""
    if not group:
        return ""
    return group if _MENTION.fullmatch(group) else esc(group, 100)


def _group(group: str | None) -> str:
    return f" · mentions {mention(group)}" if group else ""


def _watch_block(view: WatchView, paging_configured: bool = True) -> SectionBlock:
    statuses = ", ".join(f"`{esc(s, 60)}`" for s in sorted(view.statuses))
    lines = [f"*{esc(view.agent, 100)}* · {statuses}{_group(view.group)}"]
    last = slack_date(view.last_alert_at) if view.last_alert_at else "never"
    state = f"Last alert: {last}"
    if view.muted_until is not None:
        state += f" · :mute: muted until {slack_date(view.muted_until)}"
    lines.append(state)
    if view.undelivered:
        noun = "alert" if view.undelivered == 1 else "alerts"
        lines.append(
            f":warning: *{view.undelivered} {noun} undelivered*: Slack kept failing; they are listed "
            'in this channel\'s "could not be delivered" summary.'
        )
    if (paging := paging_line(view, configured=paging_configured)) is not None:
        lines.append(paging)
    if view.broken_reason:
        lines.append(
            f":warning: *Not delivering:* {esc(broken_text(view.broken_reason), 300)}; "
            f"then run `/session watch {esc(view.agent, 100)}` again."
        )
    return SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT)))


def watches_message(views: Sequence[WatchView], *, paging_configured: bool = True) -> Message:
    if not views:
        return build(
            "No agents are watched in this channel",
            [SectionBlock(text="No agents are watched in this channel. Start with `/session watch <agent>`.")],
        )
    blocks: list[Block] = [SectionBlock(text=f"*Watched in this channel* ({len(views)})")]
    blocks.extend(_watch_block(v, paging_configured) for v in views[:MAX_LISTED])
    footer = "`/session mute <agent> 1h` silences one · `/session unwatch <agent>` stops one"
    if len(views) > MAX_LISTED:
        footer = f"…and {len(views) - MAX_LISTED} more · " + footer
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    broken = sum(1 for v in views if v.broken_reason)
    undelivered = sum(v.undelivered for v in views)
    text = f"{len(views)} watched agents" + (f", {broken} not delivering" if broken else "")
    text += f", {undelivered} alerts undelivered" if undelivered else ""
    if paging := sum(1 for v in views if v.page):
        text += f", {paging} paging PagerDuty"
    return build(text, blocks)
