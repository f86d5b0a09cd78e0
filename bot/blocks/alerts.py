"""Alert messages: an incident's parent, its per-session replies and roll-ups (design.md §4).

Every post carries `metadata` with our event type and the outbox dedup key: delivery reconciles
against channel history with it, and the lookup shortcut finds the session in it.

Action ids and values are a contract with the handlers in bot/slack (bot/contracts/actions.py):
- Action.INCIDENT_ACK (button "Acknowledge"): value is the agent; the handler passes the message ts.
- Action.INCIDENT_MUTE (static_select): each option's value is `mute_value(agent, label)`, label in
  MUTE_MENU.
- Action.INCIDENT_DETAILS / INCIDENT_LOGS (buttons): value `session_value(agent, session_id)`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks.alert_watches import mention, watches_message
from bot.blocks.format import (
    BUTTON_VALUE_LIMIT,
    CONTEXT_LIMIT,
    FIELD_LIMIT,
    NOT_REPORTED,
    SECTION_LIMIT,
    esc,
    human_bytes,
    human_duration,
    short_id,
    slack_date,
    status_badge,
    truncate,
    yes_no,
)
from bot.blocks.message import Message, build, fallback
from bot.blocks.triage import CausesView, Change, ReplyCause, reply_cause_block, triage_sections
from bot.contracts.actions import Action, mute_value, session_value
from bot.contracts.alerts import ALERT_EVENT_TYPE, MUTE_DURATIONS, MUTE_MENU
from bot.pipecat.models import Session

__all__ = [
    "INCIDENT_ACTIONS_BLOCK_ID",
    "IncidentView",
    "RolledSession",
    "alert_metadata",
    "incident_parent",
    "rollup_reply",
    "session_reply",
    "watches_message",
]

INCIDENT_ACTIONS_BLOCK_ID = "incident_actions"
#: Rolled-up sessions listed by id in one roll-up message; the rest are only counted.
ROLLUP_LIST_MAX = 20
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def alert_metadata(dedup_key: str, agent: str, session_id: str | None = None) -> dict[str, Any]:
    payload = {"dedup_key": dedup_key, "agent": agent}
    if session_id:
        payload["session_id"] = session_id
    return {"event_type": ALERT_EVENT_TYPE, "event_payload": payload}


def notice_message(summary: str, text: str, dedup_key: str, agent: str) -> Message:
    """A one-section top-level notice (outage, recovery, health resolved...): what every such
    post shares, so each keeps the section limit and the metadata reconcile finds it by."""
    return build(
        fallback(summary),
        [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent),
    )


def _mute_label(label: str) -> str:
    """ "4h" → "Mute 4 hours" (from the duration itself, so a new menu entry needs no text)."""
    minutes = int(MUTE_DURATIONS[label].total_seconds() // 60)
    amount, unit = (minutes // 60, "hour") if minutes % 60 == 0 else (minutes, "minute")
    return f"Mute {amount} {unit}{'s' if amount != 1 else ''}"


def user_mention(user_id: str) -> str:
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else esc(user_id, 40)


@dataclass(frozen=True)
class IncidentView:
    agent: str
    session_count: int
    first_failure_at: datetime
    last_failure_at: datetime
    statuses: Sequence[str]
    latest_session_id: str
    group: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    muted_until: datetime | None = None
    closed: bool = False
    causes: CausesView | None = None
    change: Change | None = None
    #: The agent-health slot (plain text), filled from the agent's status when it has something to say.
    health: str | None = None


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


def _time(value: datetime) -> str:
    return slack_date(value, "{time}")


def _headline(view: IncidentView) -> tuple[str, str]:
    """(mrkdwn, plain fallback) of the parent's first line."""
    agent, count = esc(view.agent, 100), _sessions(view.session_count)
    if view.closed:
        text = f":white_check_mark: *{agent}*: {count} failed, quiet since {slack_date(view.last_failure_at)}"
        plain = f"{view.agent}: {count} failed, quiet since {view.last_failure_at:%H:%M} UTC"
    else:
        text = f":rotating_light: *{agent}*: {count} failed since {_time(view.first_failure_at)}"
        plain = f"{view.agent}: {count} failed since {view.first_failure_at:%H:%M} UTC"
    if view.group:
        text += f"\n{mention(view.group)}"
    return text, plain


def _parent_fields(view: IncidentView) -> list[MarkdownTextObject]:
    statuses = ", ".join(f"`{esc(s, 60)}`" for s in view.statuses[:20]) or NOT_REPORTED
    return [
        MarkdownTextObject(text=truncate(f"*Statuses seen*\n{statuses}", FIELD_LIMIT)),
        MarkdownTextObject(text=f"*Sessions*\n{view.session_count}"),
        MarkdownTextObject(text=f"*First failure*\n{slack_date(view.first_failure_at)}"),
        MarkdownTextObject(text=f"*Last failure*\n{slack_date(view.last_failure_at)}"),
        MarkdownTextObject(text=f"*Latest session*\n`{esc(view.latest_session_id, 100)}`"),
    ]


def _state_line(view: IncidentView) -> str | None:
    parts = []
    if view.acknowledged_by:
        when = f" at {slack_date(view.acknowledged_at)}" if view.acknowledged_at else ""
        parts.append(f":eyes: Acknowledged by {user_mention(view.acknowledged_by)}{when}")
    if view.muted_until and not view.closed:
        parts.append(f":mute: Muted until {slack_date(view.muted_until)} (`/session unmute` ends it)")
    if view.closed:
        parts.append("Closed: the next failure opens a new incident")
    return truncate(" · ".join(parts), CONTEXT_LIMIT) if parts else None


def _parent_actions(view: IncidentView) -> ActionsBlock | None:
    value = session_value(view.agent, view.latest_session_id)
    if len(value) > BUTTON_VALUE_LIMIT:
        return None  # a truncated value would point the handlers at the wrong session
    mute = StaticSelectElement(
        action_id=Action.INCIDENT_MUTE,
        placeholder="Mute…",
        options=[Option(text=_mute_label(label), value=mute_value(view.agent, label)) for label in MUTE_MENU],
    )
    return ActionsBlock(
        block_id=INCIDENT_ACTIONS_BLOCK_ID,
        elements=[
            ButtonElement(text="Acknowledge", action_id=Action.INCIDENT_ACK, value=view.agent, style="primary"),
            mute,
            ButtonElement(text="Details", action_id=Action.INCIDENT_DETAILS, value=value),
            ButtonElement(text="Logs", action_id=Action.INCIDENT_LOGS, value=value),
        ],
    )


def incident_parent(view: IncidentView, dedup_key: str) -> Message:
    """The triage card, top to bottom: headline, likely cause, what changed, agent health, the
    facts, the state line and the buttons."""
    text, plain = _headline(view)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT))),
        *triage_sections(view.causes, view.change, view.health),
        SectionBlock(fields=_parent_fields(view)),
    ]
    state = _state_line(view)
    if state:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=state)]))
    actions = _parent_actions(view)
    if actions is not None:
        blocks.append(actions)
    return build(fallback(plain), blocks, metadata=alert_metadata(dedup_key, view.agent, view.latest_session_id))


def session_reply(
    agent: str, session: Session, dedup_key: str, *, peak_memory: int | None = None, cause: ReplyCause | None = None
) -> Message:
    """One failed session in the incident thread, with the cause its own log gives."""
    status = session.completion_status or session.end_state or NOT_REPORTED
    badge = status_badge(session.completion_status, session.end_state, active=session.is_active)
    peak = peak_memory if peak_memory is not None else session.peak_memory_bytes

    def field(label: str, value: str) -> MarkdownTextObject:
        return MarkdownTextObject(text=truncate(f"*{label}*\n{value}", FIELD_LIMIT))

    fields = [
        field("Status", esc(status, 200)),
        field("End state", esc(session.end_state or NOT_REPORTED, 200)),
        field("Ended", slack_date(session.ended_at)),
        field("Duration", human_duration(session.duration)),
        field("Cold start", yes_no(session.cold_start)),
        field("Peak memory", human_bytes(peak)),
        field("Bot start", human_duration(session.bot_start_seconds)),
        field("Deployment", f"`{esc(session.deployment_id, 100)}`" if session.deployment_id else NOT_REPORTED),
    ]
    head = f"{esc(badge, 100)} · session `{esc(session.session_id, 100)}`"
    plain = f"{agent} session {short_id(session.session_id)} ended with {status}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head))]
    cause_block = reply_cause_block(cause)
    if cause_block is not None:
        blocks.append(cause_block)
    blocks.append(SectionBlock(fields=fields))
    return build(fallback(plain), blocks, metadata=alert_metadata(dedup_key, agent, session.session_id))


@dataclass(frozen=True)
class RolledSession:
    session_id: str
    status: str
    failed_at: datetime


def rollup_reply(agent: str, rolled: Sequence[RolledSession], dedup_key: str) -> Message:
    """A burst: "N more sessions failed: …" in one reply instead of N."""
    count = len(rolled)
    lines = [f":heavy_plus_sign: *{count} more {'sessions' if count != 1 else 'session'} failed:*"]
    for item in rolled[:ROLLUP_LIST_MAX]:
        lines.append(f"• `{esc(item.session_id, 100)}` {esc(item.status, 60)} at {_time(item.failed_at)}")
    if count > ROLLUP_LIST_MAX:
        lines.append(f"…and {count - ROLLUP_LIST_MAX} more (see `/session list {esc(agent, 100)} errors`)")
    first = rolled[0].session_id if rolled else None
    return build(
        fallback(f"{count} more {agent} sessions failed"),
        [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent, first),
    )
