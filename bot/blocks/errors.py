"""Error answers and the "looking up…" placeholder that is replaced once the API answers."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks.format import SECTION_LIMIT, esc, short_id
from bot.blocks.message import Message, build, fallback

TITLE_LIMIT = 200


def error_message(title: str, detail: str) -> Message:
    # Title and detail may carry API error bodies or user input: both are escaped.
    head = f"⚠️ *{esc(title, TITLE_LIMIT)}*"
    body = esc(detail, SECTION_LIMIT - len(head) - 1) if detail.strip() else ""
    text = f"{head}\n{body}" if body else head
    return build(
        fallback(f"{title}: {detail}" if detail.strip() else title),
        [SectionBlock(text=MarkdownTextObject(text=text))],
    )


def looking_up(agent: str | None, session_id: str) -> Message:
    target = f"{agent}/{session_id}" if agent else session_id
    text = f"Looking up `{esc(target, 300)}` …"
    return build(
        fallback(f"Looking up {agent + ' ' if agent else ''}session {short_id(session_id)} …"),
        [SectionBlock(text=MarkdownTextObject(text=text))],
    )
