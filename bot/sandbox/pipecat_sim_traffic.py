"""A traffic model for the Pipecat simulator: steady arrivals, a background failure rate, a
regression (a higher failure rate, on a deployment of its own), and calls that stop.

`minute()` adds the sessions of the minute that just passed on the simulator's clock (call it
after advancing the clock): `per_minute` sessions created evenly over it, each ended
`session_seconds` later (or at the minute's end), and a `fail_share` of them ending with
`failure_status`, spread deterministically (a failure each time the running sum of shares passes a
whole number), so tests and benchmarks see exact rates. Setting `per_minute` to 0 is a stop (a
spend limit: nothing starts).

`advance(seconds)` is the same over any span (a 15 s poll interval), except that calls outlive it:
each runs its whole `session_seconds`, so calls longer than the span are still running when it
returns (`running`), and a later `advance` ends them at their own end time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.sandbox.pipecat_sim import PipecatSimulator

SESSION_SECONDS = 20.0


@dataclass
class Traffic:
    sim: PipecatSimulator
    agent: str
    per_minute: float
    fail_share: float = 0.02
    failure_status: str = "HTTP_ERROR"
    #: Sessions start on this deployment (None: the one the agent serves).
    deployment_id: str | None = None
    cold_share: float = 0.0
    bot_start_seconds: float = 0.8
    #: How long each call lasts (`minute()` still ends every call by the minute's end).
    session_seconds: float = SESSION_SECONDS
    _owed: float = 0.0
    _cold_owed: float = 0.0
    _carry: float = 0.0
    failed: int = 0
    started: int = 0
    failed_ids: list[str] = field(default_factory=list)
    #: Calls `advance` started that have not ended yet: (end, order, session id, fails).
    _running: list[tuple[datetime, int, str, bool]] = field(default_factory=list)

    @property
    def running(self) -> int:
        """Calls started by `advance` and still running."""
        return len(self._running)

    def minute(self) -> None:
        now = self.sim.clock.now()
        for created, sid, fails in self._arrivals(now, 60.0):
            self._end(sid, fails, min(created + timedelta(seconds=self.session_seconds), now))

    def advance(self, seconds: float) -> None:
        """The `seconds` that just passed on the simulator's clock: their arrivals start (evenly
        over the span), and every call whose `session_seconds` are up by now ends (at its end)."""
        now = self.sim.clock.now()
        for created, sid, fails in self._arrivals(now, seconds):
            heapq.heappush(self._running, (created + timedelta(seconds=self.session_seconds), self.started, sid, fails))
        while self._running and self._running[0][0] <= now:
            ends, _, sid, fails = heapq.heappop(self._running)
            self._end(sid, fails, ends)

    def _arrivals(self, now: datetime, seconds: float) -> Iterator[tuple[datetime, str, bool]]:
        """Start the span's sessions one by one: (created, session id, whether it will fail)."""
        self._carry += self.per_minute * seconds / 60.0
        count = int(self._carry)
        self._carry -= count
        if not count:
            return
        step = seconds / count
        for i in range(count):
            created = now - timedelta(seconds=seconds - i * step)
            before_cold = int(self._cold_owed)
            self._cold_owed += self.cold_share
            sid = self.sim.start_session(
                self.agent,
                created_at=created,
                deployment_id=self.deployment_id,
                cold_start=int(self._cold_owed) > before_cold,
                bot_start_seconds=self.bot_start_seconds,
            )
            before = int(self._owed)
            self._owed += self.fail_share
            self.started += 1
            yield created, sid, int(self._owed) > before

    def _end(self, sid: str, fails: bool, at: datetime) -> None:
        if fails:
            self.failed += 1
            self.failed_ids.append(sid)
        self.sim.end_session(self.agent, sid, self.failure_status if fails else "HTTP_COMPLETED", at=at)
