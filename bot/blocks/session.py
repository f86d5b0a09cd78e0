"""Session summary: the answer to `/session <agent> <id>`, the shortcut and the Details button."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.blocks.format import (
    BUTTON_VALUE_LIMIT,
    CONTEXT_LIMIT,
    FIELD_LIMIT,
    HEADER_LIMIT,
    NOT_REPORTED,
    SECTION_LIMIT,
    esc,
    human_bytes,
    human_duration,
    millicores,
    short_id,
    slack_date,
    status_badge,
    truncate,
    yes_no,
)
from bot.blocks.message import Message, build, fallback

# The value texts live in session_text.py (no slack_sdk there) and are shared with bot/terminal.py.
from bot.blocks.session_text import (
    bot_start_text,
    cpu_text,
    duration_text,
    memory_text,
    sparklines,
    status_text,
)
from bot.contracts.actions import Action, session_value
from bot.pipecat.models import Session

ACTIONS_BLOCK_ID = "session_actions"

MAX_EVENTS = 20  # a chatty session must not push the buttons past the section limit
MAX_MEETINGS = 3


def summary_fallback(agent: str, session: Session, now: datetime | None = None) -> str:
    head = f"{agent} session {short_id(session.session_id)}"
    if session.is_active:
        return f"{head} is active" + (f", {duration_text(session, now)}" if now else "")
    status = session.completion_status or session.end_state
    ended = f"ended with {status}" if status else "ended (status not reported)"
    return f"{head} {ended} after {human_duration(session.duration)}"


# --- blocks ------------------------------------------------------------------------------------------


def _field(label: str, value: str) -> MarkdownTextObject:
    """A `*Label*\\nvalue` field; `value` is already mrkdwn (escaped or our own date tokens)."""
    return MarkdownTextObject(text=truncate(f"*{label}*\n{value}", FIELD_LIMIT))


def _fields(session: Session, now: datetime | None) -> list[MarkdownTextObject]:
    ended = "still running" if session.is_active else slack_date(session.ended_at)
    return [
        _field("Status", esc(status_text(session), FIELD_LIMIT - 20)),
        _field("End state", esc(session.end_state or NOT_REPORTED, FIELD_LIMIT - 20)),
        _field("Duration", duration_text(session, now)),
        _field("Started", slack_date(session.created_at)),
        _field("Ended", ended),
        _field("Bot start", bot_start_text(session)),
        _field("Cold start", yes_no(session.cold_start)),
        _field("Peak memory", memory_text(session)),
        _field("CPU p50 / p99", cpu_text(session)),
    ]


def _resources(session: Session) -> SectionBlock:
    lines = sparklines(session)
    if lines is None:
        return SectionBlock(text=MarkdownTextObject(text="_no resource samples reported_"))
    metrics = session.resource_metrics
    assert metrics is not None  # sparklines() returned data, so metrics exist
    cpu_peak = max((s.c for s in metrics.timeseries if s.c is not None), default=None)
    mem_peak = max((s.m for s in metrics.timeseries if s.m is not None), default=None)
    text = (
        f"*Resources* ({len(metrics.timeseries)} samples)\n"
        f"CPU `{lines[0] or '-'}` max {millicores(cpu_peak)}\n"
        f"Memory `{lines[1] or '-'}` max {human_bytes(mem_peak)}"
    )
    return SectionBlock(text=MarkdownTextObject(text=text))


def _events(session: Session) -> SectionBlock | None:
    if not session.events:
        return None
    lines = ["*Lifecycle*"]
    for event in session.events[:MAX_EVENTS]:
        when = NOT_REPORTED
        if event.event_ts is not None:
            offset = human_duration(max((event.event_ts - session.created_at).total_seconds(), 0))
            when = f"{slack_date(event.event_ts, '{time_secs}')} (+{offset})"
        lines.append(f"`{esc(event.event_code, 100)}` {when}")
    if len(session.events) > MAX_EVENTS:
        lines.append(f"…and {len(session.events) - MAX_EVENTS} more")
    # Each line is bounded (~250 chars × 22), so joining stays under the section limit.
    return SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT)))


def _context(session: Session) -> ContextBlock:
    parts = [f"Session `{esc(session.session_id, 100)}`"]
    if session.deployment_id:
        parts.append(f"Deployment `{esc(session.deployment_id, 100)}`")
    meetings = [m.meeting_id for m in session.meeting_ids if m.meeting_id][:MAX_MEETINGS]
    if meetings:
        parts.append("Meeting " + ", ".join(f"`{esc(m, 100)}`" for m in meetings))
    if session.service_id:
        parts.append(f"Service `{esc(session.service_id, 100)}`")
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(" · ".join(parts), CONTEXT_LIMIT))])


def _actions(agent: str, session: Session) -> ActionsBlock | None:
    value = session_value(agent, session.session_id)
    if len(value) > BUTTON_VALUE_LIMIT:
        return None  # a truncated value would point the handler at the wrong session
    buttons = [
        ButtonElement(text="Refresh", action_id=Action.SESSION_REFRESH, value=value),
        ButtonElement(text="Logs", action_id=Action.SESSION_LOGS, value=value),
    ]
    if sparklines(session) is not None:
        # The chart handler cannot draw an empty timeseries, so no button that can only fail.
        buttons.append(ButtonElement(text="Chart", action_id=Action.SESSION_CHART, value=value))
    if session.is_active:
        confirm = ConfirmObject(
            title="Stop session?",
            text=PlainTextObject(
                text=truncate(
                    f"This ends session {short_id(session.session_id)} of {agent} now and "
                    "disconnects the caller. It cannot be undone.",
                    300,
                )
            ),
            confirm="Stop session",
            deny="Cancel",
            style="danger",
        )
        stop = ButtonElement(
            text="Stop session", action_id=Action.SESSION_STOP, value=value, style="danger", confirm=confirm
        )
        buttons.append(stop)
    return ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=buttons)


def session_summary(agent: str, session: Session, *, now: datetime | None = None) -> Message:
    badge = truncate(
        status_badge(session.completion_status, session.end_state, active=session.is_active), 60
    )
    title = f"{truncate(agent, HEADER_LIMIT - len(badge) - 3)} · {badge}"
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=title)),
        SectionBlock(fields=_fields(session, now)),
        _resources(session),
    ]
    events = _events(session)
    if events is not None:
        blocks.append(events)
    blocks.append(_context(session))
    actions = _actions(agent, session)
    if actions is not None:
        blocks.append(actions)
    return build(fallback(summary_fallback(agent, session, now)), blocks)
