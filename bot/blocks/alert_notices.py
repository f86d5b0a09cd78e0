"""Top-level notices of the alert pipeline: Pipecat Cloud unreachable for an agent, and back."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks.alerts import alert_metadata
from bot.blocks.format import SECTION_LIMIT, esc, slack_date, truncate
from bot.blocks.message import Message, build, fallback


def outage_notice(agent: str, since: datetime, problem: str, dedup_key: str) -> Message:
    text = (
        f":warning: Cannot reach Pipecat Cloud for *{esc(agent, 100)}* since {slack_date(since)}: "
        f"{esc(problem, 300)}\nSessions that fail meanwhile will be posted when it answers again."
    )
    return build(
        fallback(f"Cannot reach Pipecat Cloud for {agent}"),
        [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent),
    )


def recovery_notice(agent: str, since: datetime, until: datetime, dedup_key: str) -> Message:
    text = (
        f":white_check_mark: Pipecat Cloud answers again for *{esc(agent, 100)}* "
        f"(unreachable from {slack_date(since)} to {slack_date(until)}). "
        "Sessions that failed meanwhile follow."
    )
    return build(
        fallback(f"Pipecat Cloud answers again for {agent}"),
        [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent),
    )
