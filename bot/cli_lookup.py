"""What `python -m bot lookup` needs beyond the one GET (bot/__main__.py): reading the forms `/session`
accepts, short ids, telling a missing agent from a missing session, and the failed session's
cause from its log. Standard library and bot.contracts only at import time (issue 15: the
terminal lookup's fast path imports nothing heavy); `get` is any `path -> decoded JSON` that
raises bot.pipecat.errors (bot.pipecat.oneshot.get_json, or the app's client on the settings path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from bot.contracts.names import (
    AGENT_NAME,
    AGENT_NAME_PATTERN,
    SESSION_ID,
    SHORT_ID_LENGTH,
    SHORT_ID_PATTERN,
    UUID_PATTERN,
)

Get = Callable[[str], Any]

_SHORT_ID = re.compile(rf"^{SHORT_ID_PATTERN}$")
_AGENT_SLASH_ID = re.compile(rf"^({AGENT_NAME_PATTERN})/({UUID_PATTERN}|{SHORT_ID_PATTERN})$")
_URL_AGENT = re.compile(rf"agents/({AGENT_NAME_PATTERN})/")
_UUID_ANYWHERE = re.compile(UUID_PATTERN)

USAGE = (
    "usage: python -m bot lookup <agent> <session-id> | <agent>/<session-id> | <dashboard URL> | <session-id> "
    "(with PIPECAT_DEFAULT_AGENT); a session id may be the short one the app prints (3e896c64…)"
)
#: A short id is matched against at most this many pages of the agent's newest sessions (as in Slack).
SHORT_ID_PAGES = 3
SHORT_ID_PAGE_SIZE = 100
#: Lines of a failed session's log read for its cause (one request).
CAUSE_LOG_LINES = 300
NEAREST_NAMES = 3


class Usage(Exception):
    """The arguments name no session: the message says what was wrong (exit 2)."""


class Missing(Exception):
    """The agent or the session is not there: the message says which (exit 1)."""


def session_word(word: str) -> str | None:
    """A full or short session id, lower case (the short one without its ellipsis), else None."""
    if SESSION_ID.fullmatch(word):
        return word.lower()
    if _SHORT_ID.fullmatch(word):
        return word[:SHORT_ID_LENGTH].lower()
    return None


def parse_target(words: Sequence[str], default_agent: str | None) -> tuple[str, str]:
    """(agent, full or short session id) from the forms `/session` accepts. Pure."""
    if len(words) == 2:
        agent, sid = words[0], session_word(words[1])
        if not AGENT_NAME.fullmatch(agent):
            raise Usage(f"“{agent[:80]}” is not an agent name (letters, digits, '-' or '_', up to 63)")
        if sid is None:
            raise Usage(f"“{words[1][:80]}” is not a session id")
        return agent, sid
    if len(words) == 1:
        word = words[0].strip("<>").split("|", 1)[0]
        if match := _AGENT_SLASH_ID.fullmatch(word):
            sid = session_word(match.group(2))
            assert sid is not None  # the pattern only matches ids
            return match.group(1), sid
        if (url_agent := _URL_AGENT.search(word)) and (ids := _UUID_ANYWHERE.findall(word)):
            return url_agent.group(1), ids[-1].lower()
        if (sid := session_word(word)) is not None:
            if default_agent and AGENT_NAME.fullmatch(default_agent):
                return default_agent, sid
            raise Usage("which agent? Give `<agent> <session-id>` or set PIPECAT_DEFAULT_AGENT")
    raise Usage(USAGE)


def _agent_path(agent: str) -> str:
    return f"agents/{quote(agent, safe='')}"


def resolve_short(get: Get, agent: str, prefix: str) -> str:
    """The full id of the one recent session of `agent` whose id starts with `prefix`."""
    ids: list[str] = []
    offset = 0
    for _ in range(SHORT_ID_PAGES):
        path = f"{_agent_path(agent)}/sessions?status=all&limit={SHORT_ID_PAGE_SIZE}&offset={offset}"
        answer = get(path)
        items = (answer.get("sessions") or []) if isinstance(answer, dict) else []
        ids += [i["sessionId"].lower() for i in items if isinstance(i, dict) and isinstance(i.get("sessionId"), str)]
        offset += len(items)
        total = answer.get("total_count") if isinstance(answer, dict) else None
        if not items or (isinstance(total, int) and offset >= total):
            break
    matches = list(dict.fromkeys(s for s in ids if s.startswith(prefix)))
    if not matches:
        raise Missing(f"no recent session of {agent} starts with {prefix}: give the full session id")
    if len(matches) > 1:
        raise Missing(f"{prefix}… matches {len(matches)} sessions of {agent}: {', '.join(matches[:5])}")
    return matches[0]


def what_is_missing(get: Get, agent: str, session_id: str) -> Missing:
    """After a 404 on the session: is it the agent (with the nearest names) or the session?"""
    from bot.pipecat.errors import NotFound, PipecatError

    try:
        get(_agent_path(agent))
    except NotFound:
        return Missing(f"no agent named {agent}{_nearest(get, agent)}")
    except PipecatError:
        pass  # cannot tell: say what is known
    return Missing(f"session {session_id} not found: agent {agent} exists but has no such session")


def _nearest(get: Get, agent: str) -> str:
    from bot.pipecat.errors import PipecatError

    try:
        answer = get("agents")
    except PipecatError:
        return ""
    items = answer.get("services") if isinstance(answer, dict) else None
    names = [i["name"] for i in items or [] if isinstance(i, dict) and isinstance(i.get("name"), str)]
    import difflib

    by_lower = {n.lower(): n for n in names}
    close = [by_lower[n] for n in difflib.get_close_matches(agent.lower(), list(by_lower), n=NEAREST_NAMES, cutoff=0.5)]
    return f" (nearest: {', '.join(close)})" if close else ""


def cause_lines(get: Get, agent: str, session_id: str) -> list[str] | None:
    """The quoted first error of a failed session's log (masked), [] when the log has none, None
    when it could not be read. One request of at most CAUSE_LOG_LINES lines, oldest first."""
    from bot.pipecat.errors import PipecatError

    path = f"{_agent_path(agent)}/logs?sessionId={session_id}&order=asc&limit={CAUSE_LOG_LINES}"
    try:
        answer = get(path)
    except PipecatError:
        return None
    logs = answer.get("logs") if isinstance(answer, dict) else None
    texts = [str(i.get("log") or "") for i in logs or [] if isinstance(i, dict)]
    from bot.explain.cause import first_error, quote_lines

    cause = first_error(texts)
    return [] if cause is None else quote_lines(cause)
