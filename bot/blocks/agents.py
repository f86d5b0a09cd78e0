"""`/session agents`: the organization's agents, one line each (name, region, ready, active sessions)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import CONTEXT_LIMIT, NOT_REPORTED, SECTION_LIMIT, esc, truncate
from bot.blocks.message import Message, build, fallback
from bot.pipecat.models import Agent

#: Agents listed; the rest are counted (an organization rarely has more).
MAX_AGENTS = 50


def _ready(agent: Agent) -> str:
    if agent.ready is None:
        return f"❔ ready {NOT_REPORTED}"
    return "🟢 ready" if agent.ready else "🔴 not ready"


def agent_line(agent: Agent) -> str:
    active = NOT_REPORTED if agent.active_session_count is None else str(agent.active_session_count)
    region = esc(agent.region, 40) if agent.region else NOT_REPORTED
    return f"*{esc(agent.name or '', 80)}* · {region} · {_ready(agent)} · {active} active"


def agents_message(agents: Sequence[Agent]) -> Message:
    ordered = sorted(agents, key=lambda a: (a.name or "").lower())
    shown = ordered[:MAX_AGENTS]
    blocks: list[Block] = [HeaderBlock(text=f"Agents ({len(ordered)})")]
    if not shown:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Pipecat Cloud lists no agents in this organization.")))
    chunk: list[str] = []
    for line in (agent_line(a) for a in shown):
        if chunk and len("\n".join([*chunk, line])) > SECTION_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    note = "`/session <agent>` for an agent's card."
    if len(ordered) > MAX_AGENTS:
        note = f"Showing {MAX_AGENTS} of {len(ordered)}. " + note
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(note, CONTEXT_LIMIT))]))
    names = ", ".join(a.name or "" for a in shown[:10])
    return build(fallback(f"{len(ordered)} agents: {names}"), blocks)
