"""Alert messages: an incident's parent, its per-session replies and roll-ups (bot/alerts/incidents/keeper.py).

Every post carries `metadata` with our event type and the outbox dedup key: delivery reconciles
against channel history with it, and the lookup shortcut finds the session in it.

Action ids and values are a contract with the handlers in bot/slack (bot/contracts/actions.py):
- Action.INCIDENT_ACK, INCIDENT_UNACK, INCIDENT_RESOLVE, INCIDENT_UNMUTE (buttons that follow the
  state, bot/blocks/alert_state.py): value is the agent; the handler passes the message ts.
- Action.INCIDENT_MUTE (static_select): each option's value is `mute_value(agent, label)`, label in
  MUTE_MENU.
- Action.ALERT_RUNBOOK, ALERT_DASHBOARD, ALERT_DASHBOARD_SESSION: link buttons.
- Action.INCIDENT_DETAILS / INCIDENT_LOGS (buttons): value `session_value(agent, session_id)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot.blocks.alert_state import (
    EMOJI,
    AlertState,
    Phase,
    StateActions,
    span,
    state_buttons,
    state_line,
    user_mention,
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
from bot.contracts.links import agent_link, session_link
from bot.pipecat.models import Session

__all__ = [
    "INCIDENT_ACTIONS_BLOCK_ID",
    "Background",
    "IncidentView",
    "RolledSession",
    "alert_metadata",
    "incident_parent",
    "rollup_reply",
    "session_reply",
    "user_mention",
    "watches_message",
]

INCIDENT_ACTIONS_BLOCK_ID = "incident_actions"
#: Rolled-up sessions listed by id in one roll-up message; the rest are only counted.
ROLLUP_LIST_MAX = 20


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


def mute_options(agent: str) -> list[Option]:
    """The Mute menu's choices (every alert kind with a Mute menu offers these)."""
    return [Option(text=_mute_label(label), value=mute_value(agent, label)) for label in MUTE_MENU]


#: The incident parent's state buttons (bot/slack/incident_actions.py handles them).
INCIDENT_STATE_ACTIONS = StateActions(
    acknowledge=Action.INCIDENT_ACK,
    unacknowledge=Action.INCIDENT_UNACK,
    resolve=Action.INCIDENT_RESOLVE,
    mute=Action.INCIDENT_MUTE,
    unmute=Action.INCIDENT_UNMUTE,
)


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
    #: When it closed (quiet, or resolved by hand: `resolved_by`, with `resolve_reason`).
    closed_at: datetime | None = None
    resolved_by: str | None = None
    resolve_reason: str | None = None
    #: When the card is rendered: "12 min so far" counts to here.
    now: datetime | None = None
    #: The agent's ended sessions the polls saw over the incident (its failures' share of them).
    calls: int | None = None
    #: What to do next: the watch's runbook, the dashboard template (PIPECAT_DASHBOARD_URL), and
    #: the hint of the top cause (bot/explain/hints.py, plain text).
    runbook: str | None = None
    dashboard: str | None = None
    hint: str | None = None
    #: The agent's failure rate now against its usual, in the rate detector's words (plain text;
    #: None: no usable rate, e.g. a quiet agent, or the incident closed).
    rate: str | None = None

    @property
    def state(self) -> AlertState:
        closed_at = self.closed_at or (self.last_failure_at if self.closed else None)
        return AlertState(
            started_at=self.first_failure_at,
            acknowledged_by=self.acknowledged_by,
            acknowledged_at=self.acknowledged_at,
            resolved_at=closed_at if self.closed else None,
            resolved_by=self.resolved_by,
            reason=self.resolve_reason,
            stopped_at=None if self.resolved_by else self.last_failure_at,
            muted_until=None if self.closed else self.muted_until,
        )


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


def _time(value: datetime) -> str:
    return slack_date(value, "{time}")


def share(failed: int, calls: int | None) -> str | None:
    """ "35% of 20 calls", or None when the polls saw fewer calls than failures (a gap)."""
    if not calls or calls < failed:
        return None
    return f"{round(100 * failed / calls)}% of {calls} call{'s' if calls != 1 else ''}"


def _headline(view: IncidentView) -> tuple[str, str]:
    """(mrkdwn, plain fallback) of the parent's first lines: how bad, then the state."""
    state = view.state
    agent, count = esc(view.agent, 100), _sessions(view.session_count)
    how_bad = [f"{count} failed since {_time(view.first_failure_at)}"]
    plain = [f"{view.agent}: {count} failed since {view.first_failure_at:%H:%M} UTC"]
    if part := share(view.session_count, view.calls):
        how_bad.append(part)
        plain.append(part)
    if state.phase is not Phase.RESOLVED and view.now is not None:
        so_far = f"{span(view.now - view.first_failure_at)} so far"
        how_bad.append(so_far)
        plain.append(so_far)
    line, plain_state = state_line(state)
    text = f"{EMOJI[state.phase]} *{agent}*: {' · '.join(how_bad)}\n"
    if view.rate:
        text += f":bar_chart: {esc(view.rate, 200)}\n"
    text += line
    if view.group and state.phase is Phase.TRIGGERED:
        text += f" {mention(view.group)}"
    # The notification leads with the agent and the count, like the PagerDuty summary; the state ends it.
    return text, f"{' · '.join(plain)} · {plain_state}"


def _parent_fields(view: IncidentView) -> list[MarkdownTextObject]:
    statuses = ", ".join(f"`{esc(s, 60)}`" for s in view.statuses[:20]) or NOT_REPORTED
    return [
        MarkdownTextObject(text=truncate(f"*Statuses seen*\n{statuses}", FIELD_LIMIT)),
        MarkdownTextObject(text=f"*Sessions*\n{view.session_count}"),
        MarkdownTextObject(text=f"*First failure*\n{slack_date(view.first_failure_at)}"),
        MarkdownTextObject(text=f"*Last failure*\n{slack_date(view.last_failure_at)}"),
        MarkdownTextObject(text=f"*Latest session*\n`{esc(view.latest_session_id, 100)}`"),
    ]


def _state_note(view: IncidentView) -> str | None:
    """The context under the facts: the mute, or what closing means."""
    if view.closed:
        who = ""
        if view.acknowledged_by:  # who was on it stays on the record
            when = f" at {slack_date(view.acknowledged_at, '{time}')}" if view.acknowledged_at else ""
            who = f":eyes: Acknowledged by {user_mention(view.acknowledged_by)}{when} · "
        return truncate(f"{who}Closed: the next failure opens a new incident", CONTEXT_LIMIT)
    if view.muted_until:
        return truncate(f":mute: Muted until {slack_date(view.muted_until)}: Unmute ends it", CONTEXT_LIMIT)
    return None


def link_buttons(
    agent: str, runbook: str | None, dashboard: str | None, session_id: str | None = None
) -> list[InteractiveElement]:
    """What next, as links: the watch's runbook, the agent (and the session) in the Pipecat Cloud
    dashboard. Every alert kind shows them the same way."""
    buttons: list[InteractiveElement] = []
    if runbook:
        buttons.append(ButtonElement(text="Runbook", action_id=Action.ALERT_RUNBOOK, url=runbook, value=agent))
    if url := agent_link(dashboard, agent):
        buttons.append(ButtonElement(text="Agent in Pipecat", action_id=Action.ALERT_DASHBOARD, url=url, value=agent))
    if session_id and (url := session_link(dashboard, agent, session_id)):
        buttons.append(
            ButtonElement(text="Session in Pipecat", action_id=Action.ALERT_DASHBOARD_SESSION, url=url, value=agent)
        )
    return buttons


def _parent_actions(view: IncidentView) -> ActionsBlock | None:
    value = session_value(view.agent, view.latest_session_id)
    if len(value) > BUTTON_VALUE_LIMIT:
        return None  # a truncated value would point the handlers at the wrong session
    return ActionsBlock(
        block_id=INCIDENT_ACTIONS_BLOCK_ID,
        elements=[
            *state_buttons(view.state, INCIDENT_STATE_ACTIONS, view.agent, mute_options(view.agent)),
            ButtonElement(text="Details", action_id=Action.INCIDENT_DETAILS, value=value),
            ButtonElement(text="Logs", action_id=Action.INCIDENT_LOGS, value=value),
            *link_buttons(view.agent, view.runbook, view.dashboard, view.latest_session_id),
        ],
    )


def hint_block(hint: str | None) -> ContextBlock | None:
    """The hint of a cause (bot/explain/hints.py): what to check first."""
    if not hint:
        return None
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(f":bulb: *Next:* {esc(hint, 400)}", CONTEXT_LIMIT))])


def incident_parent(view: IncidentView, dedup_key: str) -> Message:
    """The triage card, top to bottom: how bad and the state, likely cause, what changed, agent
    health, what to check first, the facts, the mute and the buttons (which follow the state)."""
    text, plain = _headline(view)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT))),
        *triage_sections(view.causes, view.change, view.health),
    ]
    if hint := hint_block(view.hint):
        blocks.append(hint)
    blocks.append(SectionBlock(fields=_parent_fields(view)))
    if note := _state_note(view):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    actions = _parent_actions(view)
    if actions is not None:
        blocks.append(actions)
    return build(fallback(plain), blocks, metadata=alert_metadata(dedup_key, view.agent, view.latest_session_id))


def session_reply(
    agent: str,
    session: Session,
    dedup_key: str,
    *,
    peak_memory: int | None = None,
    cause: ReplyCause | None = None,
    dashboard: str | None = None,
) -> Message:
    """One failed session in the incident thread, with the cause its own log gives (or "same cause
    as above"), and the session's page in the Pipecat Cloud dashboard when there is one."""
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
    if url := session_link(dashboard, agent, session.session_id):
        button = ButtonElement(
            text="Session in Pipecat", action_id=Action.ALERT_DASHBOARD_SESSION, url=url, value=agent
        )
        blocks.append(ActionsBlock(elements=[button]))
    return build(fallback(plain), blocks, metadata=alert_metadata(dedup_key, agent, session.session_id))


@dataclass(frozen=True)
class RolledSession:
    session_id: str
    status: str
    failed_at: datetime


@dataclass(frozen=True)
class Background:
    """What a busy agent's periodic roll-up says beside its sessions (plain text, escaped here)."""

    #: The failure rate against the usual (the rate detector's words); None: no usable rate.
    rate: str | None = None
    #: The top causes among its sessions: (label, sessions), most first.
    causes: Sequence[tuple[str, int]] = ()
    #: How many of its sessions' logs were read (the causes are out of these).
    causes_read: int = 0


def _background_lines(rolled: Sequence[RolledSession], background: Background) -> list[str]:
    times = [item.failed_at for item in rolled]
    count = len(rolled)
    head = f":heavy_plus_sign: *{count} more {'sessions' if count != 1 else 'session'} failed*"
    if times:
        head += f" between {_time(min(times))} and {_time(max(times))}"
    lines = [head]
    if background.rate:
        lines.append(f":bar_chart: {esc(background.rate, 200)}")
    if background.causes:
        top = " · ".join(f"{esc(label, 200)} ×{n}" for label, n in background.causes)
        lines.append(f"Top causes (of {background.causes_read} logs read): {top}")
    return lines


def rollup_reply(
    agent: str, rolled: Sequence[RolledSession], dedup_key: str, *, background: Background | None = None
) -> Message:
    """A burst: "N more sessions failed: …" in one reply instead of N. A busy agent's periodic
    roll-up (`background`) also says when they failed, the agent's failure rate against its usual
    and the top causes among them."""
    count = len(rolled)
    if background is None:
        lines = [f":heavy_plus_sign: *{count} more {'sessions' if count != 1 else 'session'} failed:*"]
    else:
        lines = _background_lines(rolled, background)
    for item in rolled[:ROLLUP_LIST_MAX]:
        lines.append(f"• `{esc(item.session_id, 100)}` {esc(item.status, 60)} at {_time(item.failed_at)}")
    if count > ROLLUP_LIST_MAX:
        lines.append(f"…and {count - ROLLUP_LIST_MAX} more (see `/session list {esc(agent, 100)} errors`)")
    first = rolled[0].session_id if rolled else None
    summary = f"{count} more {agent} sessions failed"
    if background is not None and background.rate:
        summary += f" · {background.rate}"
    return build(
        fallback(summary),
        [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent, first),
    )
