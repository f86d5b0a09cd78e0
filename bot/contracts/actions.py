"""Slash-command verbs, button action ids and the values buttons carry.

The Block Kit builders put these ids and values on buttons; the Slack handlers listen for the ids
and parse the values; the access policy names the admin-only ones. A value comes back from a
client, so it is re-validated when parsed; a bad one raises `BadButtonValue`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum

from bot.contracts.alerts import MUTE_DURATIONS, MUTE_MENU
from bot.contracts.names import AGENT_NAME, SESSION_ID


class Verb(StrEnum):
    """`/session <verb> …`; also the `action` recorded in the audit trail and checked for access."""

    HELP = "help"
    LOOKUP = "lookup"
    LIST = "list"
    STATS = "stats"
    AGENT = "agent"
    AGENTS = "agents"
    CAUSES = "causes"
    WATCH = "watch"
    UNWATCH = "unwatch"
    WATCHES = "watches"
    MUTE = "mute"
    UNMUTE = "unmute"
    DIGEST = "digest"
    CHANGES = "changes"
    RATES = "rates"
    SLO = "slo"


class Action(StrEnum):
    """`action_id` of every interactive element the app posts."""

    SESSION_REFRESH = "session_refresh"
    SESSION_LOGS = "session_logs"
    SESSION_CHART = "session_chart"
    SESSION_STOP = "session_stop"
    INCIDENT_ACK = "incident_ack"
    INCIDENT_MUTE = "incident_mute"
    INCIDENT_DETAILS = "incident_details"
    INCIDENT_LOGS = "incident_logs"
    INCIDENT_UNACK = "incident_unack"
    #: Opens the Resolve modal (RESOLVE_VIEW); its submission resolves.
    INCIDENT_RESOLVE = "incident_resolve"
    INCIDENT_UNMUTE = "incident_unmute"
    #: Acknowledge / Unacknowledge on an agent health or webhook alert (its condition occurrence).
    HEALTH_ACK = "health_ack"
    HEALTH_UNACK = "health_unack"
    #: Link buttons (a watch's runbook, the Pipecat Cloud dashboard): Slack opens the URL and
    #: still sends the click, which is acknowledged and audited.
    ALERT_RUNBOOK = "alert_runbook"
    ALERT_DASHBOARD = "alert_dashboard"
    ALERT_DASHBOARD_SESSION = "alert_dashboard_session"
    HOME_MORE = "home_more"
    #: Acknowledge / Unacknowledge on a rate alert (its episode, in every channel).
    RATE_ACK = "rate_ack"
    RATE_UNACK = "rate_unack"
    RATE_DETAILS = "rate_details"


def nth_action(action: Action, n: int) -> str:
    """The action_id of the n-th (from 0) of several like buttons in one block ("Details" for each
    of an agent's worst sessions): Slack refuses a whole message whose block repeats an action_id
    ("action_id … already exists"), so the second and later carry `#n`. Handlers listen for the id
    with or without it (`listens_for`); the button's value says which session it is."""
    return action.value if n == 0 else f"{action.value}#{n}"


def listens_for(action_id: str) -> re.Pattern[str]:
    """What a handler of `action_id` matches: the id itself and its `nth_action` forms."""
    return re.compile(rf"^{re.escape(action_id)}(?:#[0-9]+)?$")


#: `callback_id` of the message shortcut (manifest.yaml declares the same).
SHORTCUT_LOOKUP = "lookup_session"
#: `callback_id` of the Resolve modal, and its one (optional) input: block and action ids.
RESOLVE_VIEW = "incident_resolve_view"
RESOLVE_REASON_BLOCK = "resolve_reason"
RESOLVE_REASON_INPUT = "resolve_reason_input"
#: The longest reason the modal takes (bot/store/schema.py incidents.resolve_reason holds 500).
RESOLVE_REASON_MAX = 300


def interaction_kind(action: str) -> str:
    """What an audited action is, for the interactions metric: a /session verb, the shortcut, or a
    button/menu."""
    if action in set(Verb):
        return "command"
    return "shortcut" if action == SHORTCUT_LOOKUP else "action"


#: What changes what a channel hears, or stops a caller's session: admins only when ADMIN_USERS is set.
#: Acknowledge is one: it acknowledges the PagerDuty alert, which stops its escalation; so are
#: Unacknowledge, Resolve (it resolves the PagerDuty alert; the modal's submission is checked
#: again) and Unmute, like the mute they undo; a health or rate alert's Acknowledge (it acknowledges
#: its PagerDuty alert) and Unacknowledge; and setting an SLO (it decides what pages).
ADMIN_ONLY: frozenset[str] = frozenset(
    {
        Verb.WATCH,
        Verb.UNWATCH,
        Verb.MUTE,
        Verb.UNMUTE,
        Verb.DIGEST,
        Action.SESSION_STOP,
        Action.INCIDENT_MUTE,
        Action.INCIDENT_ACK,
        Action.INCIDENT_UNACK,
        Action.INCIDENT_RESOLVE,
        Action.INCIDENT_UNMUTE,
        Action.HEALTH_ACK,
        Action.HEALTH_UNACK,
        Action.RATE_ACK,
        Action.RATE_UNACK,
        Verb.SLO,
    }
)


class BadButtonValue(ValueError):
    """A button or menu value that is not one the app made (stale, tampered with, or truncated)."""

    user_message = "That button's value is not one I made (an old or altered message): look the session up again."


def session_value(agent: str, session_id: str) -> str:
    """What every session button carries: "agent:session-id" (agent names have no ':')."""
    return f"{agent}:{session_id}"


def parse_session_value(value: str) -> tuple[str, str]:
    """ "voice-bot:0b6f…" → ("voice-bot", "0b6f…" lower-cased); BadButtonValue for anything else."""
    agent, _, session_id = value.partition(":")
    if not AGENT_NAME.fullmatch(agent) or not SESSION_ID.fullmatch(session_id):
        raise BadButtonValue(f"not an agent:session value: {value[:120]!r}")
    return agent, session_id.lower()


def parse_agent_value(value: str) -> str:
    """What Acknowledge, Unacknowledge, Resolve and Unmute carry: the agent; BadButtonValue else."""
    if not AGENT_NAME.fullmatch(value):
        raise BadButtonValue(f"not an agent name: {value[:120]!r}")
    return value


def mute_value(agent: str, label: str) -> str:
    """What each option of an incident's Mute menu carries: "agent|1h"."""
    return f"{agent}|{label}"


def parse_mute_value(value: str) -> tuple[str, timedelta]:
    """ "voice-bot|4h" → ("voice-bot", 4 hours); BadButtonValue for anything the menu does not offer."""
    agent, sep, label = value.rpartition("|")
    if not sep or not AGENT_NAME.fullmatch(agent) or label not in MUTE_MENU:
        raise BadButtonValue(f"not a mute choice: {value[:120]!r}")
    return agent, MUTE_DURATIONS[label]
