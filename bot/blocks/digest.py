"""The daily digest message, rendered from the outbox row's payload (bot/alerts/digest.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.alerts import alert_metadata
from bot.blocks.format import BUTTON_TEXT_LIMIT, esc, percent, short_id, slack_date
from bot.blocks.message import Message, build
from bot.blocks.rates import SloLine, slo_budget_text
from bot.contracts.actions import Action, nth_action, session_value

#: Agents shown in one digest: each takes up to 5 blocks of the 50 a message may have.
MAX_AGENTS = 9
CAUSES_PENDING = "_Top causes appear here once failure fingerprints are recorded._"


def _change(rate: float | None, before: float | None) -> str:
    if rate is None or before is None:
        return ""
    points = (rate - before) * 100
    if abs(points) < 0.05:
        return " (unchanged from the day before)"
    arrow = ":arrow_up:" if points > 0 else ":arrow_down:"
    return f" ({arrow} {abs(points):.1f} pts from {percent(before)} the day before)"


def _seconds(value: Any) -> str:
    return f"{float(value):.1f}s" if isinstance(value, int | float) else "not reported"


def _agent_blocks(item: dict[str, Any]) -> list[Block]:
    agent = esc(str(item.get("agent", "")), 100)
    if item.get("unreachable"):
        return [
            SectionBlock(text=MarkdownTextObject(text=f"*{agent}* · :red_circle: {esc(str(item['unreachable']), 500)}"))
        ]
    by_status = item.get("by_status") or {}
    statuses = " · ".join(f"`{esc(str(k), 60)}` {v}" for k, v in list(by_status.items())[:12]) or "no sessions"
    rate = item.get("error_rate")
    lines = [
        f"*{agent}* · {item.get('count', 0)} sessions, {item.get('failures', 0)} failed · {statuses}",
        f"Error rate {percent(rate)}{_change(rate, item.get('prev_error_rate'))}",
        f"Bot start p95 {_seconds(item.get('bot_start_p95'))} · cold starts {percent(item.get('cold_start_share'))}"
        + (" · _capped: the busiest day was only partly read_" if item.get("capped") else ""),
    ]
    slo = item.get("slo")
    if isinstance(slo, dict):
        lines.append(esc(slo_budget_text(SloLine.from_json(slo)), 300))
    causes = item.get("causes")
    if causes is None:
        lines.append(CAUSES_PENDING)
    elif causes:
        lines.append("Top causes: " + "; ".join(f"{esc(str(c['text']), 200)} ×{c['count']}" for c in causes))
    else:
        lines.append("Top causes: none recorded.")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    worst = item.get("worst") or []
    if worst:
        buttons = [
            ButtonElement(
                text=f"Details {short_id(str(w['session_id']))}"[:BUTTON_TEXT_LIMIT],
                action_id=nth_action(Action.INCIDENT_DETAILS, n),
                value=session_value(str(item.get("agent")), str(w["session_id"])),
            )
            for n, w in enumerate(worst)
        ]
        text = "Worst: " + ", ".join(f"`{short_id(str(w['session_id']))}` {esc(str(w['status']), 60)}" for w in worst)
        blocks += [ContextBlock(elements=[MarkdownTextObject(text=text)]), ActionsBlock(elements=buttons)]
    return blocks


def digest_message(payload: dict[str, Any], dedup_key: str) -> Message:
    day = str(payload.get("day", ""))
    end = datetime.fromisoformat(str(payload["window_end"]))
    agents = list(payload.get("agents") or [])
    failures = sum(int(a.get("failures") or 0) for a in agents)
    blocks: list[Block] = [
        # A header is plain text (no date token): the day is the UTC day the window ends, and says so.
        HeaderBlock(text=f"Daily digest · {day} (UTC)"),
        ContextBlock(elements=[MarkdownTextObject(text=f"The 24 hours up to {slack_date(end)}, per watched agent")]),
    ]
    if not agents:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="This channel watches no agent: `/session watch <agent>`."))
        )
    for item in agents[:MAX_AGENTS]:
        blocks += [DividerBlock(), *_agent_blocks(item)]
    if len(agents) > MAX_AGENTS:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(agents) - MAX_AGENTS} more agents")]))
    text = f"Daily digest {day} (UTC): {len(agents)} agent(s), {failures} failed session(s)"
    # Our alert metadata (with the dedup key) lets delivery find an uncertain post in the channel.
    return build(text, blocks, metadata=alert_metadata(dedup_key, "digest"))
