"""`/session causes <agent> [1h|24h|7d]`: an agent's failure causes, most frequent first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import Block, ButtonElement, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import BUTTON_VALUE_LIMIT, HEADER_LIMIT, SECTION_LIMIT, esc, short_id, slack_date, truncate
from bot.blocks.message import Message, build, fallback
from bot.blocks.triage import IncidentLink, code_text, message_link
from bot.contracts.actions import Action, session_value

#: Causes listed (each is one section with a Details button; Slack allows 50 blocks).
MAX_CAUSES = 10


@dataclass(frozen=True)
class CauseRow:
    label: str
    #: Failures with this cause in the window, and ever.
    occurrences: int
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    example_session_id: str
    last_incident: IncidentLink | None = None


def _section(agent: str, rank: int, row: CauseRow) -> SectionBlock:
    incident = (
        f" · last incident {message_link(row.last_incident)}"
        if row.last_incident
        else ""
    )
    text = (
        f"*{rank}. {row.occurrences}×* `{code_text(row.label, 300)}`\n"
        f"{row.count} in all · first seen {slack_date(row.first_seen_at)} · last seen {slack_date(row.last_seen_at)}"
        f"{incident}\nexample session `{esc(row.example_session_id, 100)}`"
    )
    value = session_value(agent, row.example_session_id)
    button = (
        ButtonElement(text="Details", action_id=Action.INCIDENT_DETAILS, value=value)
        if len(value) <= BUTTON_VALUE_LIMIT
        else None
    )
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)), accessory=button)


def causes_message(agent: str, rows: Sequence[CauseRow], *, window_label: str) -> Message:
    title = truncate(f"Failure causes · {agent} · last {window_label}", HEADER_LIMIT)
    blocks: list[Block] = [HeaderBlock(text=title)]
    if not rows:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"_No failure with an error in its log in the last {esc(window_label, 10)}._ "
                    "Causes are read from the logs of sessions that alerted in a watching channel."
                )
            )
        )
        return build(fallback(f"No failure causes for {agent} in the last {window_label}"), blocks)
    for rank, row in enumerate(rows[:MAX_CAUSES], start=1):
        blocks.append(_section(agent, rank, row))
    total = sum(r.occurrences for r in rows)
    note = f"{total} failure(s) with a cause in the window · example {short_id(rows[0].example_session_id)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=esc(note, 300))]))
    return build(fallback(f"Top failure causes of {agent} in the last {window_label}"), blocks)
