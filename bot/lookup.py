"""Resolve which agent a session belongs to, then fetch it (shared by /session and the shortcut).

Order: the agent the user or message named, then (the message shortcut) the other agents the
message names, the channel's watched agents, PIPECAT_DEFAULT_AGENT, then (the message shortcut)
the organization's agents, each tried in turn until one has the session.

A short id (the first 8 hex characters the app prints, `3e896c64…`) is matched against each
candidate agent's newest sessions (at most SHORT_ID_PAGES pages of the list API): one match is
looked up, several are named back, none says so. Pipecat answers 404 for an unknown agent on the
session endpoint as for an unknown session; the organization's agent list (cached) tells the two
apart, and an unknown agent is answered with the nearest names.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.contracts.names import is_session_id
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import NotFound, PipecatError
from bot.pipecat.models import Agent, Session

logger = logging.getLogger(__name__)

#: The organization's agent names change rarely; one GET /agents per this long is plenty.
AGENT_LIST_TTL = timedelta(minutes=5)
#: At most this many agents are tried for an id given without one.
MAX_CANDIDATES = 6
#: The message shortcut tries at most this many agents per id (its own hint, the agents the message
#: names, the channel's watched agents, the default, then the organization's agents).
SHORTCUT_MAX_CANDIDATES = 10
#: A short id is matched against at most this many pages (SHORT_ID_PAGE_SIZE each) of an agent's
#: newest sessions: the ids the app prints are recent ones.
SHORT_ID_PAGES = 3
SHORT_ID_PAGE_SIZE = 100
#: Candidates named back when a short id matches several sessions.
SHORT_ID_SHOWN = 5
#: Nearest agent names offered for an unknown one (difflib's ratio at least NEAREST_CUTOFF).
NEAREST_NAMES = 3
NEAREST_CUTOFF = 0.5
#: An agent missing from the cached list is checked against a fresh one if the cache is older.
AGENT_LIST_RECHECK = timedelta(seconds=30)

WatchedAgents = Callable[[str], Awaitable[list[str]]]


class AgentNotResolved(PipecatError):
    """No agent to try: the id came alone and nothing in the channel or settings names one."""

    user_message = (
        "Which agent is that session from? Use `/session <agent> <session-id>`, watch an agent in "
        "this channel, or set PIPECAT_DEFAULT_AGENT."
    )


class SessionNotFound(NotFound):
    def __init__(self, session_id: str, agents: list[str]) -> None:
        super().__init__(f"{session_id} not found in {', '.join(agents)}", status=404)
        self.session_id = session_id
        self.agents = agents
        self.user_message = f"Session {session_id} was not found for agent {' or '.join(agents)}."


class UnknownAgent(NotFound):
    """The organization has no agent of that name (told apart from a missing session by the list)."""

    def __init__(self, agent: str, nearest: Sequence[str]) -> None:
        super().__init__(f"no agent named {agent}", status=404)
        self.agent = agent
        self.nearest = list(nearest)
        hint = f" Nearest: {', '.join(self.nearest)}." if self.nearest else ""
        self.user_message = f"No agent named {agent}.{hint} `/session agents` lists them all."


class ShortIdNotFound(NotFound):
    def __init__(self, prefix: str, agents: Sequence[str]) -> None:
        super().__init__(f"no session starting {prefix} in {', '.join(agents)}", status=404)
        self.user_message = (
            f"No recent session of {' or '.join(agents)} starts with {prefix}. "
            "Give the full session id (`/session list <agent>` shows them)."
        )


class AmbiguousShortId(PipecatError):
    def __init__(self, prefix: str, matches: Sequence[tuple[str, str]]) -> None:
        super().__init__(f"{prefix} matches {len(matches)} sessions")
        self.matches = list(matches)
        shown = ", ".join(f"{agent}/{sid}" for agent, sid in self.matches[:SHORT_ID_SHOWN])
        more = f" and {len(self.matches) - SHORT_ID_SHOWN} more" if len(self.matches) > SHORT_ID_SHOWN else ""
        self.user_message = f"{prefix}… matches {len(self.matches)} sessions: {shown}{more}. Give the full id."


def nearest_names(name: str, names: Sequence[str]) -> list[str]:
    """The organization's names closest to `name` (case-insensitive), best first. Pure."""
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=NEAREST_NAMES, cutoff=NEAREST_CUTOFF)
    return [by_lower[n] for n in close]


def short_matches(prefix: str, session_ids: Sequence[str]) -> list[str]:
    """The distinct ids that start with `prefix` (case-insensitive), in the order given. Pure."""
    prefix = prefix.lower()
    return list(dict.fromkeys(s.lower() for s in session_ids if s.lower().startswith(prefix)))


@dataclass(frozen=True)
class Found:
    agent: str
    session: Session


class AgentDirectory:
    """The organization's agents, cached; a failure to list them is not fatal to a lookup."""

    def __init__(self, pipecat: PipecatClient, clock: Clock) -> None:
        self._pipecat = pipecat
        self._clock = clock
        self._agents: list[Agent] = []
        self._fetched_at: datetime | None = None

    async def _refresh(self, older_than: timedelta) -> None:
        now = self._clock.now()
        if self._fetched_at is None or now - self._fetched_at > older_than:
            try:
                self._agents = [agent for agent in await self._pipecat.list_agents() if agent.name]
                self._fetched_at = now
            except PipecatError:
                logger.warning("could not list agents; resolving without them", exc_info=True)

    async def names(self) -> list[str]:
        await self._refresh(AGENT_LIST_TTL)
        return [agent.name for agent in self._agents if agent.name]

    async def agents(self) -> list[Agent]:
        """`/session agents`: the list itself, read now (a failure is the user's answer)."""
        agents = [agent for agent in await self._pipecat.list_agents() if agent.name]
        self._agents, self._fetched_at = agents, self._clock.now()
        return agents

    async def unknown(self, agent: str) -> UnknownAgent | None:
        """UnknownAgent when the organization's list (re-read if AGENT_LIST_RECHECK old) lacks
        `agent`; None when it has it or cannot be read (then a 404 says nothing more)."""
        names = await self.names()
        if names and agent.lower() not in {n.lower() for n in names}:
            await self._refresh(AGENT_LIST_RECHECK)
            names = [a.name for a in self._agents if a.name]
        if not names or agent.lower() in {n.lower() for n in names}:
            return None
        return UnknownAgent(agent, nearest_names(agent, names))


class SessionFinder:
    def __init__(
        self,
        pipecat: PipecatClient,
        watched_agents: WatchedAgents,
        default_agent: str | None,
        directory: AgentDirectory | None = None,
    ) -> None:
        """`directory`: tells an unknown agent from a missing session (None: it is not told)."""
        self._pipecat = pipecat
        self._watched_agents = watched_agents
        self._default_agent = default_agent
        self._directory = directory

    async def resolve_short(self, prefix: str, agents: Sequence[str]) -> tuple[str, str]:
        """(agent, full id) of the one recent session of `agents` whose id starts with `prefix`."""
        matches: list[tuple[str, str]] = []
        for agent in agents:
            try:
                ids = await self._recent_ids(agent)
            except NotFound:
                if len(agents) == 1:
                    raise
                continue
            matches += [(agent, sid) for sid in short_matches(prefix, ids)]
        if not matches:
            raise ShortIdNotFound(prefix, agents)
        if len(matches) > 1:
            raise AmbiguousShortId(prefix, matches)
        return matches[0]

    async def _recent_ids(self, agent: str) -> list[str]:
        ids: list[str] = []
        offset = 0
        for _ in range(SHORT_ID_PAGES):
            page = await self._pipecat.list_sessions(agent, status="all", limit=SHORT_ID_PAGE_SIZE, offset=offset)
            ids += [s.session_id for s in page.sessions]
            consumed = len(page.sessions) + page.skipped
            offset += consumed
            if not consumed or not page.more_after(offset):
                break
        return ids

    async def _told_apart(self, error: NotFound, agent: str) -> NotFound:
        """An unknown agent instead of a 404 that only seems to be about the session."""
        if self._directory is None or isinstance(error, UnknownAgent):
            return error
        return await self._directory.unknown(agent) or error

    async def candidates(
        self,
        agent: str | None,
        channel_id: str | None,
        *,
        strict: bool,
        named: Sequence[str] = (),
        organization: Sequence[str] = (),
        limit: int = MAX_CANDIDATES,
    ) -> list[str]:
        """`strict`: the user named the agent, so only that one is tried. Otherwise `agent`, then
        the other agents the message `named`, the channel's watched agents, PIPECAT_DEFAULT_AGENT
        and the `organization`'s agents, at most `limit` of them."""
        if agent and strict:
            return [agent]
        ordered: list[str] = [agent] if agent else []
        ordered += named
        if channel_id:
            ordered += await self._watched_agents(channel_id)
        if self._default_agent:
            ordered.append(self._default_agent)
        ordered += organization
        return list(dict.fromkeys(ordered))[:limit]

    async def find(
        self,
        session_id: str,
        *,
        agent: str | None,
        channel_id: str | None,
        strict: bool = True,
        named: Sequence[str] = (),
        organization: Sequence[str] = (),
        limit: int = MAX_CANDIDATES,
    ) -> Found:
        agents = await self.candidates(
            agent, channel_id, strict=strict, named=named, organization=organization, limit=limit
        )
        if not agents:
            raise AgentNotResolved()
        if not is_session_id(session_id):  # a short id: the one recent session it names
            try:
                agent_found, session_id = await self.resolve_short(session_id, agents)
            except NotFound as error:
                raise (await self._told_apart(error, agents[0]) if strict and agent else error) from None
            agents = [agent_found]
        for candidate in agents:
            try:
                return Found(candidate, await self._pipecat.get_session(candidate, session_id))
            except NotFound:
                continue
        missing = SessionNotFound(session_id, agents)
        if strict and agent:
            raise await self._told_apart(missing, agent)
        raise missing
