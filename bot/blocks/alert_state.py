"""An alert's state as every alert kind shows it (incidents, agent health and webhook conditions,
and any later kind): *triggered* → *acknowledged by @x at 14:05* → *resolved after 23 min*, the
emoji that goes with it, and the buttons that follow it.

Pure: an alert hands in an `AlertState` (and the action ids its handlers listen for) and gets the
line and the buttons back. Block Kit messages have no colour bar outside legacy attachments (which
the lookup shortcut, reconcile and the demo do not read), so the state shows by its emoji, its
words and its buttons (a green Acknowledge only while nobody is on it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from slack_sdk.models.blocks import ButtonElement, InteractiveElement, Option, StaticSelectElement

from bot.blocks.format import esc, slack_date

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
#: Characters of a resolve reason shown on the alert (the modal takes at most RESOLVE_REASON_MAX).
REASON_SHOWN = 300


class Phase(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


#: The headline's emoji per phase (a muted alert keeps its phase's emoji; the mute has its own line).
EMOJI = {
    Phase.TRIGGERED: ":rotating_light:",
    Phase.ACKNOWLEDGED: ":eyes:",
    Phase.RESOLVED: ":white_check_mark:",
}


@dataclass(frozen=True)
class AlertState:
    """Where one alert is. `started_at`: when the trouble began; `stopped_at`: when it stopped by
    itself (the last failure of an incident that went quiet, a condition that cleared);
    `resolved_at` and `resolved_by`: closed by hand (the Resolve button), with its `reason`."""

    started_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    reason: str | None = None
    stopped_at: datetime | None = None
    muted_until: datetime | None = None

    @property
    def phase(self) -> Phase:
        if self.resolved_at is not None:
            return Phase.RESOLVED
        if self.acknowledged_by is not None:
            return Phase.ACKNOWLEDGED
        return Phase.TRIGGERED


@dataclass(frozen=True)
class StateActions:
    """The action ids an alert kind's handlers listen for (bot/contracts/actions.py). `resolve`
    None: the kind resolves on evidence only (its detector clears), so it has no Resolve button."""

    acknowledge: str
    unacknowledge: str
    resolve: str | None
    mute: str
    unmute: str


def user_mention(user_id: str) -> str:
    """A Slack user mention for a user id; anything else (never expected) as escaped text."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else esc(user_id, 40)


def span(value: timedelta) -> str:
    """How long, as a person says it: "40 s", "23 min", "2 h 05 min", "3 d 4 h"."""
    seconds = max(0, int(value.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def state_line(state: AlertState) -> tuple[str, str]:
    """(mrkdwn, plain) of the state: "*Triggered* 14:05", "*Acknowledged* by @x at 14:07",
    "*Resolved* by @x after 23 min: reason" or "*Resolved* after 23 min (ended 14:28)"."""
    phase = state.phase
    if phase is Phase.RESOLVED:
        assert state.resolved_at is not None
        if state.resolved_by is not None:
            lasted = span(state.resolved_at - state.started_at)
            text = f"*Resolved* by {user_mention(state.resolved_by)} after {lasted}"
            plain = f"Resolved after {lasted}"
            if state.reason:
                text += f": _{esc(state.reason, REASON_SHOWN)}_"
            return text, plain
        end = state.stopped_at or state.resolved_at
        lasted = span(end - state.started_at)
        return f"*Resolved* after {lasted} (ended {slack_date(end, '{time}')})", f"Resolved after {lasted}"
    if phase is Phase.ACKNOWLEDGED:
        assert state.acknowledged_by is not None
        when = f" at {slack_date(state.acknowledged_at, '{time}')}" if state.acknowledged_at else ""
        return f"*Acknowledged* by {user_mention(state.acknowledged_by)}{when}", "Acknowledged"
    return f"*Triggered* {slack_date(state.started_at, '{time}')}", "Triggered"


def state_buttons(
    state: AlertState, actions: StateActions, value: str, mute_options: Sequence[Option]
) -> list[InteractiveElement]:
    """The buttons that follow the state: Acknowledge (triggered) or Unacknowledge (acknowledged);
    Resolve while open (for a kind that has one); the Mute menu, or Unmute while muted. A resolved
    alert has none of them (its other buttons, Details or the runbook, stay). `value` is what the
    handlers read (the agent)."""
    if state.phase is Phase.RESOLVED:
        return []
    elements: list[InteractiveElement] = []
    if state.phase is Phase.TRIGGERED:
        elements.append(ButtonElement(text="Acknowledge", action_id=actions.acknowledge, value=value, style="primary"))
    else:
        elements.append(ButtonElement(text="Unacknowledge", action_id=actions.unacknowledge, value=value))
    if actions.resolve is not None:
        elements.append(ButtonElement(text="Resolve…", action_id=actions.resolve, value=value))
    if state.muted_until is not None:
        elements.append(ButtonElement(text="Unmute", action_id=actions.unmute, value=value))
    elif mute_options:
        elements.append(StaticSelectElement(action_id=actions.mute, placeholder="Mute…", options=list(mute_options)))
    return elements
