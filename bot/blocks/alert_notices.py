"""Top-level notices of the alert pipeline: Pipecat Cloud unreachable for an agent, polls failing on
data it sent, a session given up, the recovery notes; and the summary of alerts Slack never took."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks.alerts import alert_metadata, notice_message
from bot.blocks.format import SECTION_LIMIT, esc, slack_date, truncate
from bot.blocks.message import Message, build, fallback


def outage_notice(agent: str, since: datetime, problem: str, dedup_key: str) -> Message:
    text = (
        f":warning: Cannot reach Pipecat Cloud for *{esc(agent, 100)}* since {slack_date(since)}: "
        f"{esc(problem, 300)}\nSessions that fail meanwhile will be posted when it answers again."
    )
    return notice_message(f"Cannot reach Pipecat Cloud for {agent}", text, dedup_key, agent)


def poll_failed_notice(agent: str, since: datetime, polls: int, problem: str, dedup_key: str) -> Message:
    """Pipecat answers, but polls keep failing on what it sends: not an outage, and said so."""
    text = (
        f":warning: {polls} polls of *{esc(agent, 100)}* failed since {slack_date(since)}: {esc(problem, 300)}\n"
        "Pipecat Cloud answers; what it sent could not be used. Sessions that fail meanwhile "
        "will be posted once polling works again."
    )
    return notice_message(f"{polls} polls of {agent} failed: {problem}", text, dedup_key, agent)


def bad_item_notice(agent: str, session_id: str, polls: int, problem: str, dedup_key: str) -> Message:
    """One session could not be processed and was set aside, so the agent's other alerts go on."""
    text = (
        f":warning: {polls} polls of *{esc(agent, 100)}* failed: unexpected data in session "
        f"`{esc(session_id, 80)}` ({esc(problem, 300)}).\n"
        "It was recorded as seen and will not alert; the agent's other sessions are not held up."
    )
    return notice_message(
        f"{polls} polls of {agent} failed: unexpected data in session {session_id}", text, dedup_key, agent
    )


def recovery_notice(agent: str, since: datetime, until: datetime, dedup_key: str, *, data: bool = False) -> Message:
    if data:
        text = (
            f":white_check_mark: Polling *{esc(agent, 100)}* works again "
            f"(failing from {slack_date(since)} to {slack_date(until)}). Sessions that failed meanwhile follow."
        )
        summary = f"Polling {agent} works again"
    else:
        text = (
            f":white_check_mark: Pipecat Cloud answers again for *{esc(agent, 100)}* "
            f"(unreachable from {slack_date(since)} to {slack_date(until)}). "
            "Sessions that failed meanwhile follow."
        )
        summary = f"Pipecat Cloud answers again for {agent}"
    return notice_message(summary, text, dedup_key, agent)


@dataclass(frozen=True)
class UndeliveredLine:
    """One given-up post, as the channel's summary lists it."""

    agent: str
    what: str  # alert, rollup, notice, health
    session_id: str | None
    created_at: datetime
    reason: str
    #: What a health alert said (its title).
    detail: str | None = None


#: Lines listed in one summary message (the count in its heading covers them all); they fit a section.
MAX_SUMMARY_LINES = 15
_WHAT = {
    "alert": "failed session",
    "rollup": "roll-up of failed sessions",
    "notice": "outage notice",
    "health": "health alert",
    "rate": "rate alert",
}


def undelivered_summary(lines: Sequence[UndeliveredLine], since: datetime, until: datetime, dedup_key: str) -> Message:
    """ "N alerts could not be delivered between … and …", listing them (posted once Slack works)."""
    count = len(lines)
    noun = "alert" if count == 1 else "alerts"
    heading = (
        f":warning: *{count} {noun} could not be delivered* between {slack_date(since)} and {slack_date(until)} "
        "(Slack kept failing); they are listed here so nothing is silently lost:"
    )
    listed = []
    for line in lines[:MAX_SUMMARY_LINES]:
        session = f" `{esc(line.session_id, 64)}`" if line.session_id else ""
        session += f" ({esc(line.detail, 300)})" if line.detail else ""
        listed.append(
            f"• *{esc(line.agent, 100)}*: {_WHAT.get(line.what, esc(line.what, 30))}{session} "
            f"(from {slack_date(line.created_at)})"
        )
    more = f"\n…and {count - MAX_SUMMARY_LINES} more" if count > MAX_SUMMARY_LINES else ""
    blocks = [SectionBlock(text=MarkdownTextObject(text=truncate(heading, SECTION_LIMIT)))]
    body = truncate("\n".join(listed), SECTION_LIMIT - len(more)) + more
    if listed:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(body, SECTION_LIMIT))))
    agent = lines[0].agent if lines else ""
    return build(fallback(f"{count} {noun} could not be delivered"), blocks, metadata=alert_metadata(dedup_key, agent))
