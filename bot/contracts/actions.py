"""Slash-command verbs, button action ids and the values buttons carry (design.md §1.2, §1.3).

The Block Kit builders put these ids and values on buttons; the Slack handlers listen for the ids
and parse the values; the access policy names the admin-only ones. A value comes back from a
client, so it is re-validated when parsed; a bad one raises `BadButtonValue`.
"""

from __future__ import annotations

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
    CAUSES = "causes"
    WATCH = "watch"
    UNWATCH = "unwatch"
    WATCHES = "watches"
    MUTE = "mute"
    UNMUTE = "unmute"
    DIGEST = "digest"
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
    HOME_MORE = "home_more"
    RATE_ACK = "rate_ack"
    RATE_DETAILS = "rate_details"


#: `callback_id` of the message shortcut (manifest.yaml declares the same).
SHORTCUT_LOOKUP = "lookup_session"

#: What changes what a channel hears, or stops a caller's session: admins only when ADMIN_USERS is set.
ADMIN_ONLY: frozenset[str] = frozenset(
    {Verb.WATCH, Verb.UNWATCH, Verb.MUTE, Verb.UNMUTE, Verb.DIGEST, Action.SESSION_STOP, Action.INCIDENT_MUTE}
    | {Verb.SLO}
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


def mute_value(agent: str, label: str) -> str:
    """What each option of an incident's Mute menu carries: "agent|1h"."""
    return f"{agent}|{label}"


def parse_mute_value(value: str) -> tuple[str, timedelta]:
    """ "voice-bot|4h" → ("voice-bot", 4 hours); BadButtonValue for anything the menu does not offer."""
    agent, sep, label = value.rpartition("|")
    if not sep or not AGENT_NAME.fullmatch(agent) or label not in MUTE_MENU:
        raise BadButtonValue(f"not a mute choice: {value[:120]!r}")
    return agent, MUTE_DURATIONS[label]
