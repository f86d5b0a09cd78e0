"""`/session changes [<agent>] [1h|24h|7d]`: the change timeline from Pipecat Cloud webhooks,
newest first (deployments, builds, secrets, API keys, spend, suspensions, trial)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import HEADER_LIMIT, SECTION_LIMIT, cut_escaped, esc, slack_date, truncate
from bot.blocks.message import Message, build, fallback
from bot.webhooks.timeline import Entry

#: Changes listed (the rest are counted); sections of at most this many lines each.
MAX_LISTED = 60
LINES_PER_SECTION = 15
ENTRY_CHARS = 450

NOT_CONFIGURED = (
    "Pipecat Cloud webhooks are not set up for this app: add an endpoint in the Pipecat Cloud dashboard "
    "(Settings → Webhooks → Add endpoint) pointing at this app's `/webhooks/pipecat`, and set "
    "PIPECAT_WEBHOOK_SECRET to its signing secret."
)


def _line(entry: Entry, agent: str | None) -> str:
    scope = " · _organization-wide_" if agent is not None and entry.agent is None else ""
    return f"• {slack_date(entry.at, '{date_short} {time}')} {cut_escaped(entry.text, ENTRY_CHARS)}{scope}"


def changes_message(
    agent: str | None, entries: Sequence[Entry], *, window_label: str, webhooks_configured: bool
) -> Message:
    whose = agent or "all agents"
    blocks: list[Block] = [HeaderBlock(text=truncate(f"Changes · {whose} · last {window_label}", HEADER_LIMIT))]
    if not entries:
        note = f"_No change recorded in the last {esc(window_label, 10)}._"
        if not webhooks_configured:
            note += "\n" + NOT_CONFIGURED
        blocks.append(SectionBlock(text=MarkdownTextObject(text=note)))
        return build(fallback(f"No changes for {whose} in the last {window_label}"), blocks)
    lines = [_line(e, agent) for e in entries[:MAX_LISTED]]
    for start in range(0, len(lines), LINES_PER_SECTION):
        text = "\n".join(lines[start : start + LINES_PER_SECTION])
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT))))
    more = len(entries) - MAX_LISTED
    note = f"{len(entries)} change(s), newest first" + (f"; {more} older ones not shown" if more > 0 else "")
    if agent is not None:
        note += f" · {esc(agent, 64)}'s own and organization-wide ones"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return build(fallback(f"{len(entries)} change(s) for {whose} in the last {window_label}"), blocks)
