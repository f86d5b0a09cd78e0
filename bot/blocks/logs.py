"""The Logs button: the last lines of a session's log, code-formatted, safe against any log text
(secrets masked by the same masker as the cause quote, mrkdwn escaped, fences defused)."""

from __future__ import annotations

import re
from datetime import UTC

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    cut_escaped,
    escape,
    plain,
    short_id,
    truncate,
)
from bot.blocks.message import Message, build, fallback
from bot.contracts.text import outside
from bot.pipecat.models import LogLine, LogPage

LINE_LIMIT = 500  # raw characters per log line; a stack trace line beyond this is noise in Slack
FENCE = "```"
# Room for the fences ("```\n" + "\n```") inside one section's 3000 characters.
CHUNK_LIMIT = SECTION_LIMIT - 2 * (len(FENCE) + 1)
MAX_SECTIONS = MAX_BLOCKS - 3  # header + note, with one spare
_BACKTICK_RUN = re.compile(r"`{3,}")


def _defuse(text: str) -> str:
    """A ``` inside the log would close our code block early; swap the run for look-alike quotes."""
    return _BACKTICK_RUN.sub(lambda m: "ʼ" * len(m.group()), text)


def _render(line: LogLine) -> str:
    # Masked before it is cut: a key cut in half is no longer key-shaped, and half a key leaks.
    text = _defuse(truncate(outside(line.log.replace("\r", "")), LINE_LIMIT).rstrip("\n"))
    when = line.timestamp
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(UTC)
    stamp = f"{when:%H:%M:%S} " if when else ""
    # Escape after truncating (an entity is never split), then bound the escaped form (≤5x longer).
    return cut_escaped(escape(stamp + text), CHUNK_LIMIT)


def _chronological(lines: list[LogLine]) -> list[LogLine]:
    # The API may be asked for order=desc; sort when every line has a time, else trust the page.
    if lines and all(line.timestamp is not None for line in lines):
        return sorted(lines, key=lambda line: line.timestamp.timestamp() if line.timestamp else 0.0)
    return lines


def _chunks(rendered: list[str]) -> list[tuple[str, int]]:
    """Pack whole lines into code blocks under the section limit: (text, number of log lines)."""
    chunks: list[tuple[str, int]] = []
    current: list[str] = []
    size = 0
    for text in rendered:
        extra = len(text) + (1 if current else 0)
        if current and size + extra > CHUNK_LIMIT:
            chunks.append(("\n".join(current), len(current)))
            current, size, extra = [], 0, len(text)
        current.append(text)
        size += extra
    if current:
        chunks.append(("\n".join(current), len(current)))
    return chunks


def _total(page: LogPage, shown: int) -> str:
    total = page.total.value if page.total and page.total.value is not None else len(page.logs)
    more = "+" if page.total and (page.total.relation or "").lower() == "gte" else ""
    return f"{max(total, shown)}{more}"


def logs_message(agent: str, session_id: str, page: LogPage, *, max_lines: int = 20) -> Message:
    title = f"Logs · {truncate(agent, 80)} · {short_id(session_id)}"
    blocks: list[Block] = [HeaderBlock(text=plain(title, HEADER_LIMIT))]
    lines = _chronological(list(page.logs))[-max_lines:] if max_lines > 0 else []
    if not lines:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="_no log lines for this session_")))
        return build(fallback(f"No log lines for {agent} session {short_id(session_id)}"), blocks)
    # Past the block limit the *oldest* chunks go: the newest lines are the ones being asked for.
    chunks = _chunks([_render(line) for line in lines])[-MAX_SECTIONS:]
    for chunk, _ in chunks:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"{FENCE}\n{chunk}\n{FENCE}")))
    shown = sum(n for _, n in chunks)
    note = f"showing {shown} of {_total(page, len(lines))} lines"
    if any(line.timestamp for line in lines):
        note += " (times UTC)"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return build(fallback(f"Last {shown} log lines of {agent} session {short_id(session_id)}"), blocks)
