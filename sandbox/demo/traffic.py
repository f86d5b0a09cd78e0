"""Simulated Pipecat traffic for the demo: a wall clock, an hour of history and a live trickle.

Sessions are started and ended on the real clock (not back-dated), so the app's poller sees them
come and go exactly as it would on Pipecat Cloud: active for a while, then ended, most of them
`HTTP_COMPLETED`, some `HTTP_ERROR`, some cold starts and now and then a long one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sandbox.pipecat.simulator import PipecatSimulator

logger = logging.getLogger(__name__)

#: How far back the seeded history goes, and how many ended sessions each agent gets in it.
HISTORY_SPAN = timedelta(hours=2)
HISTORY_SESSIONS = 30


@dataclass(frozen=True)
class AgentProfile:
    """How one simulated agent behaves: seconds between calls (mean), and the odds of each outcome."""

    name: str
    mean_gap: float
    error_rate: float
    cold_rate: float
    long_rate: float = 0.04
    timeout_rate: float = 0.02


PROFILES = (
    AgentProfile("voice-bot", mean_gap=7, error_rate=0.10, cold_rate=0.25),
    AgentProfile("support-bot", mean_gap=10, error_rate=0.05, cold_rate=0.15),
    AgentProfile("sales-bot", mean_gap=14, error_rate=0.08, cold_rate=0.35),
)


@dataclass(frozen=True)
class Outcome:
    status: str
    end_state: str | None
    cold_start: bool
    duration: float


def pick_outcome(profile: AgentProfile, rng: random.Random) -> Outcome:
    cold = rng.random() < profile.cold_rate
    roll = rng.random()
    if roll < profile.error_rate:
        return Outcome("HTTP_ERROR", None, cold, rng.uniform(3, 20))
    if roll < profile.error_rate + profile.timeout_rate:
        return Outcome("BOT_CONNECTION_TIMEOUT", "agent_start_timeout", cold, rng.uniform(10, 15))
    if rng.random() < profile.long_rate:
        return Outcome("HTTP_COMPLETED", None, cold, rng.uniform(120, 300))
    return Outcome("HTTP_COMPLETED", None, cold, rng.uniform(8, 50))


def seed_history(sim: PipecatSimulator, rng: random.Random, profiles: tuple[AgentProfile, ...] = PROFILES) -> None:
    """Ended sessions over the last two hours, so lists and stats have something to show at once."""
    now = sim.clock.now()
    for profile in profiles:
        starts = sorted(rng.uniform(60, HISTORY_SPAN.total_seconds()) for _ in range(HISTORY_SESSIONS))
        for ago in reversed(starts):
            outcome = pick_outcome(profile, rng)
            created = now - timedelta(seconds=ago)
            ended = min(created + timedelta(seconds=outcome.duration), now - timedelta(seconds=1))
            sid = sim.start_session(profile.name, cold_start=outcome.cold_start, created_at=created)
            sim.end_session(profile.name, sid, outcome.status, end_state=outcome.end_state, at=ended)


def add_failed_session(sim: PipecatSimulator, agent: str, *, seconds_ago: float, duration: float = 6) -> str:
    """An `HTTP_ERROR` session that started `seconds_ago` (for seeded conversations)."""
    now = sim.clock.now()
    created = now - timedelta(seconds=seconds_ago)
    sid = sim.start_session(agent, cold_start=True, created_at=created)
    sim.end_session(agent, sid, "HTTP_ERROR", at=min(created + timedelta(seconds=duration), now))
    return sid


class Traffic:
    """Background tasks: one per agent starting sessions, one per live session ending it."""

    def __init__(self, sim: PipecatSimulator, *, profiles: tuple[AgentProfile, ...] = PROFILES, seed: int = 7) -> None:
        self.sim = sim
        self.profiles = profiles
        self._rng = random.Random(seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = 0

    def start(self) -> None:
        for profile in self.profiles:
            self._spawn(self._agent_loop(profile))

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` with the traffic (scenarios add theirs); cancelled by `stop`."""
        self._spawn(coro)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _agent_loop(self, profile: AgentProfile) -> None:
        await asyncio.sleep(self._rng.uniform(0.5, profile.mean_gap))
        while True:
            if not self.sim.at_capacity(profile.name):  # Pipecat refuses starts at capacity (429)
                self.start_one(profile)
            await asyncio.sleep(self._rng.expovariate(1 / profile.mean_gap))

    def start_one(self, profile: AgentProfile) -> str:
        """Start a session of `profile` now; it ends on its own after its (real-time) duration."""
        outcome = pick_outcome(profile, self._rng)
        sid = self.sim.start_session(profile.name, cold_start=outcome.cold_start)
        self.started += 1
        self._spawn(self._finish_later(profile.name, sid, outcome))
        return sid

    async def _finish_later(self, agent: str, sid: str, outcome: Outcome) -> None:
        await asyncio.sleep(outcome.duration)
        try:
            self.sim.end_session(agent, sid, outcome.status, end_state=outcome.end_state)
        except ValueError:
            logger.debug("session %s of %s already ended (stopped from Slack?)", sid, agent)
