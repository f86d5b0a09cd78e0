"""Resolve which agent a session belongs to, then fetch it (shared by /session and the shortcut).

Order: the agent the user or message named, then (the message shortcut) the other agents the
message names, the channel's watched agents, PIPECAT_DEFAULT_AGENT, then (the message shortcut)
the organization's agents, each tried in turn until one has the session.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import NotFound, PipecatError
from bot.pipecat.models import Session

logger = logging.getLogger(__name__)

#: The organization's agent names change rarely; one GET /agents per this long is plenty.
AGENT_LIST_TTL = timedelta(minutes=5)
#: At most this many agents are tried for an id given without one.
MAX_CANDIDATES = 6
#: The message shortcut tries at most this many agents per id (its own hint, the agents the message
#: names, the channel's watched agents, the default, then the organization's agents).
SHORTCUT_MAX_CANDIDATES = 10

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


@dataclass(frozen=True)
class Found:
    agent: str
    session: Session


class AgentDirectory:
    """The organization's agent names, cached; a failure to list them is not fatal to a lookup."""

    def __init__(self, pipecat: PipecatClient, clock: Clock) -> None:
        self._pipecat = pipecat
        self._clock = clock
        self._names: list[str] = []
        self._fetched_at: datetime | None = None

    async def names(self) -> list[str]:
        now = self._clock.now()
        if self._fetched_at is None or now - self._fetched_at > AGENT_LIST_TTL:
            try:
                self._names = [agent.name for agent in await self._pipecat.list_agents() if agent.name]
                self._fetched_at = now
            except PipecatError:
                logger.warning("could not list agents; resolving without them", exc_info=True)
        return self._names


class SessionFinder:
    def __init__(self, pipecat: PipecatClient, watched_agents: WatchedAgents, default_agent: str | None) -> None:
        self._pipecat = pipecat
        self._watched_agents = watched_agents
        self._default_agent = default_agent

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
        for candidate in agents:
            try:
                return Found(candidate, await self._pipecat.get_session(candidate, session_id))
            except NotFound:
                continue
        raise SessionNotFound(session_id, agents)
