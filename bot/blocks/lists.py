"""`/session list <agent> [errors] [N]`: one compact line per session, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import (
    CONTEXT_LIMIT,
    HEADER_LIMIT,
    NOT_REPORTED,
    SECTION_LIMIT,
    badge_emoji,
    esc,
    human_duration,
    slack_date,
    truncate,
)
from bot.blocks.message import Message, build, fallback
from bot.pipecat.models import Session

MAX_ITEMS = 25  # a list longer than this stops being scannable in a channel


def _line(session: Session) -> str:
    emoji = badge_emoji(session.completion_status, session.end_state, active=session.is_active)
    status = session.completion_status or ("active" if session.is_active else NOT_REPORTED)
    duration = "running" if session.is_active else human_duration(session.duration)
    # Full id in code so it can be copied into `/session <agent> <id>`; ids are UUIDs, 100 is slack.
    return (
        f"{emoji} `{esc(session.session_id, 100)}` {slack_date(session.created_at, '{date_short} {time}')}"
        f" · {duration} · {esc(status, 100)}"
    )


def _sections(lines: list[str]) -> list[SectionBlock]:
    """Pack lines into as few sections as fit under the 3000-char limit (~130 chars a line)."""
    sections: list[SectionBlock] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > SECTION_LIMIT:
            sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return sections


def session_list(agent: str, sessions: Sequence[Session], *, total_count: int | None, errors_only: bool) -> Message:
    shown = list(sessions)[:MAX_ITEMS]
    noun = "session" if len(shown) == 1 else "sessions"
    suffix = " · errors only" if errors_only else ""
    title = f"Newest {len(shown)} {noun} of " if shown else "Newest sessions of "
    header = truncate(title + truncate(agent, HEADER_LIMIT - len(title) - len(suffix)) + suffix, HEADER_LIMIT)
    blocks: list[Block] = [HeaderBlock(text=header)]
    if shown:
        blocks.extend(_sections([_line(s) for s in shown]))
    else:
        what = "No failed sessions" if errors_only else "No sessions"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"{what} found for *{esc(agent, 200)}*.")))
    if errors_only:
        # The API cannot filter by completionStatus, so errors are picked from the newest pages only
        # and the API's total (of all sessions) would mislead here.
        note = "Errors are picked from the newest sessions (Pipecat cannot filter by status)."
    elif total_count is not None:
        note = f"Pipecat reports {total_count} sessions in total."
    else:
        note = "Pipecat did not say how many sessions there are in total."
    if len(sessions) > MAX_ITEMS:
        note = f"Showing {MAX_ITEMS} of {len(sessions)}. " + note
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(note, CONTEXT_LIMIT))]))
    kind = "failed sessions" if errors_only else "sessions"
    text = f"{len(shown)} {kind} of {agent}" if shown else f"No {kind} found for {agent}"
    return build(fallback(text), blocks)
