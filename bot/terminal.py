"""Plain-text session summary for `python -m bot lookup <agent> <id>` (same facts as the Slack one)."""

from __future__ import annotations

import json
import re
from typing import Any

# Only pure text helpers and protocols: `python -m bot lookup` must not load slack_sdk or pydantic
# to print (issue 15); the session is a validated model or the plain reading of bot.pipecat.plain.
from bot.blocks.format import NOT_REPORTED, plain_time, status_badge, yes_no
from bot.blocks.session_text import (
    bot_start_text,
    cpu_text,
    duration_text,
    memory_text,
    sparklines,
    status_text,
)
from bot.contracts.text import outside
from bot.pipecat.facts import SessionFacts

# API text goes to a terminal: strip control characters so a value cannot move the cursor,
# change colours or rewrite earlier lines (ANSI escape injection); bidi controls go and secrets are
# masked by the same `outside()` every Slack text goes through.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LABEL_WIDTH = 14


def _clean(text: str) -> str:
    return _CONTROL.sub("?", outside(text))


def terminal_text(text: str) -> str:
    """Any outside text printed whole (an error message from the API): lines kept, nothing else."""
    return "\n".join(_clean(line) for line in text.split("\n"))


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    return value


def terminal_json(data: Any) -> str:
    """`lookup --json`: the answer as JSON with each string value made safe as above (masked
    before encoding, so a secret inside a quoted string is still seen whole)."""
    return json.dumps(_cleaned(data), indent=2, ensure_ascii=False)


def _row(label: str, value: str) -> str:
    return f"{label + ':':<{LABEL_WIDTH}}{_clean(value)}"


#: What the text says of a failed session whose log has no error, or could not be read.
NO_ERROR_IN_LOG = "no error in this session's log"
LOG_NOT_READ = "this session's log could not be read"


def _cause_rows(cause: list[str] | None) -> list[str]:
    """A failed session's cause: its quoted first error (masked by bot/explain/cause.py, cleaned
    again here like every outside text), one indented line each."""
    if cause is None:
        return [_row("Cause", LOG_NOT_READ)]
    if not cause:
        return [_row("Cause", NO_ERROR_IN_LOG)]
    return ["Cause (from this session's log, times UTC):", *(f"  {_clean(line)}" for line in cause)]


def render_session_text(
    agent: str, session: SessionFacts, cause: list[str] | None = None, *, failed: bool = False
) -> str:
    """`cause`: the quoted first error of a failed session's log ([] none, None not read);
    shown when the session failed (`failed`, or any quote given)."""
    badge = status_badge(session.completion_status, session.end_state, active=session.is_active)
    ended = (
        "still running" if session.is_active else (plain_time(session.ended_at) if session.ended_at else NOT_REPORTED)
    )
    lines = [
        _clean(f"{agent} · session {session.session_id} · {badge}"),
        _row("Status", status_text(session)),
        _row("End state", session.end_state or NOT_REPORTED),
        _row("Created", plain_time(session.created_at) if session.created_at else NOT_REPORTED),
        _row("Ended", ended),
        _row("Duration", duration_text(session)),
        _row("Bot start", bot_start_text(session)),
        _row("Cold start", yes_no(session.cold_start)),
        _row("Peak memory", memory_text(session)),
        _row("CPU p50/p99", cpu_text(session)),
    ]
    sparks = sparklines(session)
    if sparks is None:
        lines.append(_row("Samples", "no resource samples reported"))
    else:
        lines.append(_row("CPU", sparks[0] or "-"))
        lines.append(_row("Memory", sparks[1] or "-"))
    if session.events:
        lines.append("Events:")
        for event in session.events:
            when = plain_time(event.event_ts) if event.event_ts else NOT_REPORTED
            lines.append(_clean(f"  {when}  {event.event_code}"))
    lines.append(_row("Deployment", session.deployment_id or NOT_REPORTED))
    if failed or cause:
        lines.extend(_cause_rows(cause))
    return "\n".join(lines) + "\n"
