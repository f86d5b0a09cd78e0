"""Agent health alerts: a condition opened (top-level post), the same post once it cleared or came
back (an edit), and the replies in its thread (recovered, back again). Findings come from
bot/alerts/health/assess.py as JSON."""

from __future__ import annotations

from collections.abc import Mapping
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
    SectionBlock,
)

from bot.blocks.alert_state import EMOJI, AlertState, Phase, state_line
from bot.blocks.alerts import alert_metadata, link_buttons
from bot.blocks.format import CONTEXT_LIMIT, SECTION_LIMIT, esc, human_duration, slack_date, truncate
from bot.blocks.message import Message, build, fallback
from bot.blocks.quote import code_block
from bot.contracts.actions import Action

#: Emoji per severity (bot/alerts/health/assess.py SEVERITY).
ICONS = {"critical": ":red_circle:", "error": ":large_orange_circle:", "warning": ":warning:"}


#: The block id of a health alert's buttons.
HEALTH_ACTIONS_BLOCK_ID = "health_actions"


@dataclass(frozen=True)
class AlertExtras:
    """What a health (or webhook) alert shows beside its finding: the watch's runbook, the
    dashboard template (PIPECAT_DASHBOARD_URL), and the channel's mute of the agent."""

    runbook: str | None = None
    dashboard: str | None = None
    muted_until: datetime | None = None


NO_EXTRAS = AlertExtras()


def _headline(finding: Mapping[str, Any]) -> str:
    return str(finding.get("title") or finding.get("kind") or "Health condition")


def _facts(finding: Mapping[str, Any]) -> str:
    return " · ".join(str(f) for f in finding.get("facts") or ())


def health_alert(
    agent: str,
    finding: Mapping[str, Any],
    severity: str,
    opened_at: datetime,
    dedup_key: str,
    *,
    returned_at: datetime | None = None,
    returns: int = 0,
    acknowledged_by: str | None = None,
    acknowledged_at: datetime | None = None,
    extras: AlertExtras = NO_EXTRAS,
) -> Message:
    """Condition opened: what, its state (triggered, or acknowledged by whom and when), the facts,
    and health.message quoted like a failure cause (the finding's message is already masked and
    cut). Once it came back after clearing, says when. It resolves on evidence only (the condition
    clears): there is no Resolve button."""
    title = _headline(finding)
    state = AlertState(
        started_at=returned_at or opened_at,
        acknowledged_by=acknowledged_by,
        acknowledged_at=acknowledged_at,
        muted_until=extras.muted_until,
    )
    line, plain = state_line(state)
    icon = EMOJI[Phase.ACKNOWLEDGED] if state.phase is Phase.ACKNOWLEDGED else ICONS.get(severity, ":warning:")
    headline = f"{icon} *{esc(agent, 100)}*: {esc(title, 500)}\n{line}"
    context = [f"Since {slack_date(opened_at)}"]
    if returned_at is not None:
        times = "" if returns <= 1 else f" ({returns} times)"
        context.append(f"cleared, then came back {slack_date(returned_at)}{times}")
    if extras.muted_until is not None:
        context.append(f":mute: muted until {slack_date(extras.muted_until)}")
    text = fallback(f"{plain}: {agent}: {title}")
    buttons = _buttons(agent, extras, True, acknowledged=state.phase is Phase.ACKNOWLEDGED)
    return _alert_blocks(agent, finding, title, headline, context, dedup_key, text, buttons)


def health_resolved(
    agent: str,
    finding: Mapping[str, Any],
    opened_at: datetime,
    cleared_at: datetime,
    dedup_key: str,
    *,
    extras: AlertExtras = NO_EXTRAS,
) -> Message:
    """The opening post once the condition cleared: struck through, with how long it lasted, and
    its evidence (the quoted message, restarts, exit code) kept for whoever reads it later."""
    title = _headline(finding)
    line, _ = state_line(AlertState(started_at=opened_at, resolved_at=cleared_at, stopped_at=cleared_at))
    headline = f":white_check_mark: *{esc(agent, 100)}*: ~{esc(title, 500)}~\n{line}"
    context = [
        f"Resolved {slack_date(cleared_at)} after {human_duration(cleared_at - opened_at)} "
        f"(since {slack_date(opened_at)})"
    ]
    text = fallback(f"Resolved: {agent}: {title}")
    return _alert_blocks(agent, finding, title, headline, context, dedup_key, text, _buttons(agent, extras, False))


def _buttons(agent: str, extras: AlertExtras, open_: bool, *, acknowledged: bool = False) -> ActionsBlock | None:
    """An open alert: Acknowledge (or Unacknowledge once someone is on it), Unmute while the
    channel mutes the agent; then the runbook and the dashboard."""
    elements: list[InteractiveElement] = []
    if open_ and acknowledged:
        elements.append(ButtonElement(text="Unacknowledge", action_id=Action.HEALTH_UNACK, value=agent))
    elif open_:
        elements.append(ButtonElement(text="Acknowledge", action_id=Action.HEALTH_ACK, value=agent, style="primary"))
    if open_ and extras.muted_until is not None:
        elements.append(ButtonElement(text="Unmute", action_id=Action.INCIDENT_UNMUTE, value=agent))
    elements += link_buttons(agent, extras.runbook, extras.dashboard)
    return ActionsBlock(block_id=HEALTH_ACTIONS_BLOCK_ID, elements=elements) if elements else None


def _alert_blocks(
    agent: str,
    finding: Mapping[str, Any],
    title: str,
    headline: str,
    context: list[str],
    dedup_key: str,
    text: str,
    actions: ActionsBlock | None = None,
) -> Message:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate(headline, SECTION_LIMIT)))]
    if message := finding.get("message"):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=code_block(str(message)))))
    if facts := _facts(finding):
        context.append(esc(facts, 800))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(" · ".join(context), CONTEXT_LIMIT))]))
    if actions is not None:
        blocks.append(actions)
    return build(text, blocks, metadata=alert_metadata(dedup_key, agent))


def health_back(
    agent: str, finding: Mapping[str, Any], opened_at: datetime, returned_at: datetime, dedup_key: str
) -> Message:
    """The reply in the alert's thread when a condition that had cleared came back (the alert
    above shows it open again)."""
    title = _headline(finding)
    text = f":repeat: Back again {slack_date(returned_at)}: {esc(title, 500)}"
    return build(
        fallback(f"Back again: {agent}: {title}"),
        [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent),
    )


def health_recovery(
    agent: str, finding: Mapping[str, Any], opened_at: datetime, cleared_at: datetime, now_facts: str, dedup_key: str
) -> Message:
    """The recovery reply in the alert's thread."""
    title = _headline(finding)
    lines = [
        f":white_check_mark: Recovered: {esc(title, 500)}",
        f"Lasted from {slack_date(opened_at)} to {slack_date(cleared_at)}.",
    ]
    if now_facts:
        lines.append(f"Now: {esc(now_facts, 800)}")
    return build(
        fallback(f"Recovered: {agent}: {title}"),
        [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent),
    )
