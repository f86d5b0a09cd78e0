"""The `/session` grammar, as a pure parser with table tests (tests/unit/slack/test_parsing.py).

`parse_command(text)` never raises for bad input: it returns `Help(error=...)`, one line naming
what was wrong and the form expected (bot/blocks/help.py adds "`/session help` for more").

Session ids are full UUIDs or the short ids the app prints (`3e896c64…`: the first 8 hex
characters, the ellipsis optional); a short id is resolved against the agent's recent sessions
when the command runs (bot/lookup.py).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import ClassVar

from bot.contracts.actions import Verb
from bot.contracts.alerts import MUTE_DURATIONS, MUTE_USAGE
from bot.contracts.links import BadLink, runbook_url
from bot.contracts.names import (
    AGENT_NAME,
    AGENT_NAME_PATTERN,
    SESSION_ID,
    SHORT_ID_LENGTH,
    SHORT_ID_PATTERN,
    UUID_PATTERN,
)
from bot.rates.policy import SLO_DEFAULT_PERIOD, SLO_PERIODS

_SHORT_ID = re.compile(rf"^{SHORT_ID_PATTERN}$")
_AGENT_SLASH_ID = re.compile(rf"^({AGENT_NAME_PATTERN})/({UUID_PATTERN}|{SHORT_ID_PATTERN})$")
_URL_AGENT = re.compile(rf"agents/({AGENT_NAME_PATTERN})/")
_UUID_ANYWHERE = re.compile(UUID_PATTERN)
_STATUS = re.compile(r"^[A-Za-z0-9_]{1,40}$")
# Slack escapes a user-group mention as <!subteam^S0123|@oncall> when "escape" is on.
_SUBTEAM = re.compile(r"^<!subteam\^([A-Z0-9]+)(?:\|@?([^>]*))?>$")
_PLAIN_GROUP = re.compile(r"^@([A-Za-z0-9._-]{1,80})$")

PRIVATE_FLAGS = frozenset({"-p", "--private", "private"})
LIST_DEFAULT, LIST_MAX = 10, 25
STATS_WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
STATS_DEFAULT_WINDOW = "24h"
MAX_INPUT_CHARS = 2000
#: The `watch` option that escalates to PagerDuty (so PAGE is never read as a status).
PAGE_WORD = "page"
RUNBOOK_WORD = "runbook"
DIGEST_DEFAULT_TIME = time(9, 0)
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Help:
    verb: ClassVar[Verb] = Verb.HELP
    error: str | None = None
    private: bool = True


@dataclass(frozen=True)
class Lookup:
    verb: ClassVar[Verb] = Verb.LOOKUP
    session_id: str  # a full UUID, or a short id (SHORT_ID_LENGTH hex characters), lower case
    agent: str | None  # None: resolve from the channel's watches and the default agent
    private: bool = False

    @property
    def short(self) -> bool:
        """A short id: resolved against the agent's recent sessions before the lookup."""
        return len(self.session_id) == SHORT_ID_LENGTH


@dataclass(frozen=True)
class ListSessions:
    verb: ClassVar[Verb] = Verb.LIST
    agent: str
    errors_only: bool = False
    limit: int = LIST_DEFAULT
    private: bool = False
    asked: int | None = None  # a count above LIST_MAX, capped to it: the answer says so


@dataclass(frozen=True)
class _Windowed:
    """A verb about one agent over one of STATS_WINDOWS."""

    agent: str
    window_label: str = STATS_DEFAULT_WINDOW
    private: bool = False

    @property
    def window(self) -> timedelta:
        return STATS_WINDOWS[self.window_label]


@dataclass(frozen=True)
class Stats(_Windowed):
    verb: ClassVar[Verb] = Verb.STATS


@dataclass(frozen=True)
class Causes(_Windowed):
    verb: ClassVar[Verb] = Verb.CAUSES


@dataclass(frozen=True)
class Watch:
    verb: ClassVar[Verb] = Verb.WATCH
    agent: str
    statuses: frozenset[str] = field(default_factory=frozenset)  # empty: the default ALERT_STATUSES
    group: str | None = None  # a mention ready for mrkdwn: <!subteam^ID> or "@handle"
    private: bool = True
    page: bool = False  # `page`: the watch's incidents also page PagerDuty
    runbook: str | None = None  # `runbook <https-url>`: a button on every alert of the watch


@dataclass(frozen=True)
class _OneAgent:
    """A verb that names one agent and nothing else; answered privately."""

    agent: str
    private: bool = True


@dataclass(frozen=True)
class Unwatch(_OneAgent):
    verb: ClassVar[Verb] = Verb.UNWATCH


@dataclass(frozen=True)
class Watches:
    verb: ClassVar[Verb] = Verb.WATCHES
    private: bool = True


@dataclass(frozen=True)
class Mute:
    verb: ClassVar[Verb] = Verb.MUTE
    agent: str
    duration_label: str
    private: bool = True

    @property
    def duration(self) -> timedelta:
        return MUTE_DURATIONS[self.duration_label]


@dataclass(frozen=True)
class Unmute(_OneAgent):
    verb: ClassVar[Verb] = Verb.UNMUTE


@dataclass(frozen=True)
class AgentStatus:
    """`/session agent <agent>`: the agent's status card."""

    verb: ClassVar[Verb] = Verb.AGENT
    agent: str
    private: bool = False


@dataclass(frozen=True)
class Agents:
    """`/session agents`: the organization's agents (name, region, ready, active sessions)."""

    verb: ClassVar[Verb] = Verb.AGENTS
    private: bool = False


@dataclass(frozen=True)
class Digest:
    """`/session digest on [HH:MM]` (UTC) or `/session digest off`."""

    verb: ClassVar[Verb] = Verb.DIGEST
    on: bool
    at: time = DIGEST_DEFAULT_TIME
    private: bool = True


@dataclass(frozen=True)
class Changes:
    """`/session changes [<agent>] [1h|24h|7d]`: the change timeline from Pipecat Cloud webhooks."""

    verb: ClassVar[Verb] = Verb.CHANGES
    agent: str | None = None  # None: the whole organization's
    window_label: str = STATS_DEFAULT_WINDOW
    private: bool = False

    @property
    def window(self) -> timedelta:
        return STATS_WINDOWS[self.window_label]


@dataclass(frozen=True)
class Rates:
    """`/session rates <agent>`: rates over 5 min / 1 h / 24 h against the agent's usual."""

    verb: ClassVar[Verb] = Verb.RATES
    agent: str
    private: bool = False


@dataclass(frozen=True)
class Slo:
    """`/session slo <agent> <target>% [7d|28d|30d]` or `/session slo <agent> off` (target None)."""

    verb: ClassVar[Verb] = Verb.SLO
    agent: str
    target: float | None
    period: str = SLO_DEFAULT_PERIOD
    private: bool = True


#: Every parsed command; each names its `verb` (the audit and access name). A new verb is a new
#: class here, a parser in _VERBS and a `case` in bot/slack/commands.py (mypy checks the last).
Command = (
    Help
    | Lookup
    | ListSessions
    | Stats
    | Causes
    | Watch
    | Unwatch
    | Watches
    | Mute
    | Unmute
    | Digest
    | AgentStatus
    | Agents
    | Changes
    | Rates
    | Slo
)
_VerbParser = Callable[[list[str], bool], Command]


class _Refused(Exception):
    """Internal: carries the message for Help(error=...)."""


#: The form each verb expects, named in its one-line usage error.
_USAGE: dict[str, str] = {
    Verb.AGENT: "<agent>",
    Verb.AGENTS: "agents",
    Verb.LIST: "list <agent> [errors] [N]",
    Verb.STATS: "stats <agent> [1h|24h|7d]",
    Verb.CAUSES: "causes <agent> [1h|24h|7d]",
    Verb.WATCH: "watch <agent> [status …] [@group] [page] [runbook <https-url>]",
    Verb.UNWATCH: "unwatch <agent>",
    Verb.WATCHES: "watches",
    Verb.RATES: "rates <agent>",
    Verb.SLO: "slo <agent> <target>% [7d|28d|30d] | off",
    Verb.MUTE: MUTE_USAGE,
    Verb.UNMUTE: "unmute <agent>",
    Verb.DIGEST: "digest on [HH:MM] | off",
    Verb.CHANGES: "changes [<agent>] [1h|24h|7d]",
}
_LOOKUP_USAGE = "<agent> <session-id>"


def _one_line(why: str, usage: str) -> str:
    """What was wrong and the form expected, once (a message that already names a form keeps it)."""
    why = why.rstrip(" ")
    if "`/session " in why:
        return why if why.endswith((".", "?")) else f"{why}."
    return f"{why.rstrip('.')}: expected `/session {usage}`."


def parse_command(text: str) -> Command:
    if len(text) > MAX_INPUT_CHARS:
        return Help(error=f"That command is too long ({len(text)} characters).")
    words = text.split()
    private = any(w.lower() in PRIVATE_FLAGS for w in words)
    words = [w for w in words if w.lower() not in PRIVATE_FLAGS]
    if not words or words[0].lower() in ("help", "-h", "--help", "?"):
        return Help()
    verb, args = words[0].lower(), words[1:]
    parser = _VERBS.get(verb)
    try:
        if parser is not None:
            return parser(args, private)
        return _parse_lookup(words, private)
    except _Refused as refusal:
        return Help(error=_one_line(str(refusal), _USAGE.get(verb, _LOOKUP_USAGE) if parser else _LOOKUP_USAGE))


def _agent(word: str) -> str:
    if not AGENT_NAME.fullmatch(word):
        raise _Refused(f"“{word[:80]}” is not an agent name (letters, digits, '-' or '_', up to 63).")
    return word


def _arity(args: list[str], low: int, high: int, usage: str) -> None:
    if len(args) < low:
        raise _Refused(f"Missing {'the agent' if '<agent>' in usage else 'a word'}: expected `/session {usage}`")
    if len(args) > high:
        raise _Refused(f"Too many words: expected `/session {usage}`")


def _parse_list(args: list[str], private: bool) -> Command:
    _arity(args, 1, 3, _USAGE[Verb.LIST])
    errors_only, limit, asked = False, LIST_DEFAULT, None
    for word in args[1:]:
        if word.lower() in ("errors", "error", "failed"):
            errors_only = True
        elif word.isdigit() and int(word) >= 1:
            limit = min(int(word), LIST_MAX)
            asked = int(word) if int(word) > LIST_MAX else None
        else:
            raise _Refused(f"`list` takes `errors` and a count (at most {LIST_MAX} are shown), not “{word[:40]}”")
    return ListSessions(_agent(args[0]), errors_only, limit, private, asked)


def _parse_stats(args: list[str], private: bool) -> Command:
    _arity(args, 1, 2, _USAGE[Verb.STATS])
    label = args[1].lower() if len(args) == 2 else STATS_DEFAULT_WINDOW
    if label not in STATS_WINDOWS:
        raise _Refused("`stats` windows are 1h, 24h or 7d.")
    return Stats(_agent(args[0]), label, private)


def _parse_causes(args: list[str], private: bool) -> Command:
    _arity(args, 1, 2, _USAGE[Verb.CAUSES])
    label = args[1].lower() if len(args) == 2 else STATS_DEFAULT_WINDOW
    if label not in STATS_WINDOWS:
        raise _Refused("`causes` windows are 1h, 24h or 7d.")
    return Causes(_agent(args[0]), label, private)


def _parse_watch(args: list[str], private: bool) -> Command:
    if not args:
        raise _Refused(f"Missing the agent: expected `/session {_USAGE[Verb.WATCH]}`")
    statuses: set[str] = set()
    group: str | None = None
    page = False
    runbook: str | None = None
    words = iter(args[1:])
    for word in words:
        if word.lower() == PAGE_WORD:
            page = True
        elif word.lower() == RUNBOOK_WORD:
            url = next(words, None)
            if url is None:
                raise _Refused("`runbook` takes a link, like `runbook https://wiki.example.com/voice-bot`")
            try:
                runbook = runbook_url(url)
            except BadLink as error:
                raise _Refused(str(error)) from None
        elif (found := _group(word)) is not None:
            group = found
        elif _STATUS.fullmatch(word):
            statuses.add(word.upper())
        else:
            raise _Refused("Statuses are words like HTTP_ERROR or agent_error; a group is @handle.")
    return Watch(_agent(args[0]), frozenset(statuses), group, True, page, runbook)


def _group(word: str) -> str | None:
    if match := _SUBTEAM.fullmatch(word):
        return f"<!subteam^{match.group(1)}>"
    if match := _PLAIN_GROUP.fullmatch(word):
        return f"@{match.group(1)}"
    return None


def _parse_mute(args: list[str], private: bool) -> Command:
    _arity(args, 2, 2, MUTE_USAGE)
    label = args[1].lower()
    if label not in MUTE_DURATIONS:
        raise _Refused(f"Mute for {', '.join(list(MUTE_DURATIONS)[:-1])} or {list(MUTE_DURATIONS)[-1]}.")
    return Mute(_agent(args[0]), label)


def _single_agent(kind: type[Unwatch] | type[Unmute], usage: str) -> _VerbParser:
    def parse(args: list[str], private: bool) -> Command:
        _arity(args, 1, 1, usage)
        return kind(_agent(args[0]))

    return parse


def _parse_watches(args: list[str], private: bool) -> Command:
    _arity(args, 0, 0, "watches")
    return Watches()


def _parse_agents(args: list[str], private: bool) -> Command:
    _arity(args, 0, 0, "agents")
    return Agents(private)


def _parse_agent_status(args: list[str], private: bool) -> Command:
    if len(args) == 1 and SESSION_ID.fullmatch(args[0]):
        return _parse_lookup(["agent", *args], private)  # an agent named "agent": a lookup, as before
    _arity(args, 1, 1, "agent <agent>")
    return AgentStatus(_agent(args[0]), private)


def _is_short_id(word: str) -> bool:
    """An 8-hex word is a short id when it carries the ellipsis or a digit; a bare all-letter one
    (`deadbeef`) is read as an agent name, which it can also be."""
    if not _SHORT_ID.fullmatch(word):
        return False
    return not word[:SHORT_ID_LENGTH].isalpha() or len(word) > SHORT_ID_LENGTH


def _session_word(word: str) -> str | None:
    """A full or short session id, lower case and without the ellipsis; None if it is neither."""
    if SESSION_ID.fullmatch(word):
        return word.lower()
    if _is_short_id(word):
        return word[:SHORT_ID_LENGTH].lower()
    return None


def _parse_digest(args: list[str], private: bool) -> Command:
    usage = "Usage: `/session digest on [HH:MM]` (UTC, default 09:00) or `/session digest off`"
    if not args or args[0].lower() not in ("on", "off") or (args[0].lower() == "off" and len(args) > 1):
        raise _Refused(usage)
    if args[0].lower() == "off":
        return Digest(on=False)
    if len(args) > 2:
        raise _Refused(usage)
    if len(args) == 1:
        return Digest(on=True)
    match = _HH_MM.fullmatch(args[1].upper().removesuffix("UTC").removesuffix("Z"))
    if match is None:
        raise _Refused(f"“{args[1][:20]}” is not a time: use HH:MM in UTC, like 09:00 or 17:30.")
    return Digest(on=True, at=time(int(match.group(1)), int(match.group(2))))


def _parse_changes(args: list[str], private: bool) -> Command:
    """An optional agent and an optional window, in either order (a window word is never an agent)."""
    _arity(args, 0, 2, "changes [<agent>] [1h|24h|7d]")
    agent: str | None = None
    label = STATS_DEFAULT_WINDOW
    windows = [w for w in args if w.lower() in STATS_WINDOWS]
    agents = [w for w in args if w.lower() not in STATS_WINDOWS]
    if len(windows) > 1 or len(agents) > 1:
        raise _Refused("`changes` takes one agent and one window (1h, 24h or 7d).")
    if windows:
        label = windows[0].lower()
    if agents:
        agent = _agent(agents[0])
    return Changes(agent, label, private)


def _parse_rates(args: list[str], private: bool) -> Command:
    _arity(args, 1, 1, "rates <agent>")
    return Rates(_agent(args[0]), private)


_SLO_USAGE = _USAGE[Verb.SLO]
_TARGET = re.compile(r"^(\d{1,2}(?:\.\d{1,3})?)%?$")


def _parse_slo(args: list[str], private: bool) -> Command:
    _arity(args, 2, 3, _SLO_USAGE)
    agent = _agent(args[0])
    if args[1].lower() == "off":
        _arity(args, 2, 2, _SLO_USAGE)
        return Slo(agent, None)
    match = _TARGET.fullmatch(args[1])
    target = float(match.group(1)) if match else None
    if target is None or not 50 <= target < 100:
        raise _Refused(f"“{args[1][:20]}” is not an SLO target: a percentage from 50 to under 100, like 99.5%.")
    period = args[2].lower() if len(args) == 3 else SLO_DEFAULT_PERIOD
    if period not in SLO_PERIODS:
        raise _Refused("SLO periods are 7d, 28d or 30d.")
    return Slo(agent, target / 100, period)


def _parse_lookup(words: list[str], private: bool) -> Command:
    if len(words) == 2 and (sid := _session_word(words[1])) is not None:
        return Lookup(sid, _agent(words[0]), private)
    if len(words) == 1:
        word = words[0].strip("<>")  # Slack wraps links as <url> or <url|label>
        word = word.split("|", 1)[0]
        if (sid := _session_word(word)) is not None:
            return Lookup(sid, None, private)
        if match := _AGENT_SLASH_ID.fullmatch(word):
            sid = _session_word(match.group(2))
            assert sid is not None  # the pattern only matches ids
            return Lookup(sid, match.group(1), private)
        if (url_agent := _URL_AGENT.search(word)) and (ids := _UUID_ANYWHERE.findall(word)):
            return Lookup(ids[-1].lower(), url_agent.group(1), private)
        if AGENT_NAME.fullmatch(word):
            return AgentStatus(word, private)  # `/session <agent>`: the agent card
    near = difflib.get_close_matches(words[0].lower(), list(_VERBS), n=1, cutoff=0.75)
    if near and len(words) > 1:
        raise _Refused(f"“{words[0][:40]}” is not a command: did you mean `/session {_USAGE[near[0]]}`?")
    raise _Refused("I couldn't read that as a session lookup")


_VERBS: dict[str, _VerbParser] = {
    Verb.AGENT: _parse_agent_status,
    Verb.AGENTS: _parse_agents,
    Verb.LIST: _parse_list,
    Verb.STATS: _parse_stats,
    Verb.CAUSES: _parse_causes,
    Verb.WATCH: _parse_watch,
    Verb.UNWATCH: _single_agent(Unwatch, "unwatch <agent>"),
    Verb.WATCHES: _parse_watches,
    Verb.MUTE: _parse_mute,
    Verb.UNMUTE: _single_agent(Unmute, "unmute <agent>"),
    Verb.DIGEST: _parse_digest,
    Verb.CHANGES: _parse_changes,
    Verb.RATES: _parse_rates,
    Verb.SLO: _parse_slo,
}
