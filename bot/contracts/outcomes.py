"""What "failed" means: the one definition of a session's outcome, for every surface that shows or
counts sessions (badges, `/session list … errors`, `/session stats`, the agent card, the digest,
the terminal).

A session's outcome is read from its two open strings, `completionStatus` first (it is what alerts
key on, so it wins) and `endState` for the rest:

| completionStatus                         | endState                                   | outcome   |
|------------------------------------------|--------------------------------------------|-----------|
| (the session is still running)           |                                            | active    |
| HTTP_ERROR, or an HTTP code 500-599      |                                            | error     |
| BOT_CONNECTION_TIMEOUT                   |                                            | timeout   |
| HTTP_COMPLETED                           |                                            | completed |
| anything else or absent                  | agent_error, ended_before_agent_start,     | error     |
|                                          | terminated                                 |           |
| anything else or absent                  | agent_start_timeout                        | timeout   |
| anything else or absent                  | completed                                  | completed |
| anything else or absent                  | anything else or absent                    | other     |

A session **failed** when it ended with outcome error or timeout (`is_failed`). Case does not
matter. A watch's own statuses (`/session watch voice-bot 404`) stay what that watch alerts on;
they do not change what is counted or shown as failed.
"""

from __future__ import annotations

ACTIVE, COMPLETED, ERROR, TIMEOUT, OTHER = "active", "completed", "error", "timeout", "other"

#: Outcomes that count as a failed session.
FAILED_OUTCOMES = frozenset({ERROR, TIMEOUT})

#: completionStatus values with a fixed outcome (upper case); any other value defers to endState,
#: except an HTTP code 500-599, which is an error.
COMPLETION_OUTCOMES = {"HTTP_COMPLETED": COMPLETED, "HTTP_ERROR": ERROR, "BOT_CONNECTION_TIMEOUT": TIMEOUT}
#: endState values with a fixed outcome (upper case), read when completionStatus decides nothing.
END_STATE_OUTCOMES = {
    "COMPLETED": COMPLETED,
    "AGENT_START_TIMEOUT": TIMEOUT,
    "AGENT_ERROR": ERROR,
    "ENDED_BEFORE_AGENT_START": ERROR,
    "TERMINATED": ERROR,
}


def _server_error(status: str) -> bool:
    return status.isdigit() and 500 <= int(status) <= 599


def outcome(completion_status: str | None, end_state: str | None, *, active: bool) -> str:
    """One of ACTIVE, COMPLETED, ERROR, TIMEOUT, OTHER (see the table above). Pure."""
    if active:
        return ACTIVE
    status = (completion_status or "").strip().upper()
    if status in COMPLETION_OUTCOMES:
        return COMPLETION_OUTCOMES[status]
    if _server_error(status):
        return ERROR
    return END_STATE_OUTCOMES.get((end_state or "").strip().upper(), OTHER)


def is_failed(completion_status: str | None, end_state: str | None, *, active: bool) -> bool:
    """True when the session ended as an error or a timeout: what every count of failures counts."""
    return outcome(completion_status, end_state, active=active) in FAILED_OUTCOMES
