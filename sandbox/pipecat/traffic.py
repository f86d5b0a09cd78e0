"""A traffic model for the Pipecat simulator: steady arrivals, a background failure rate, a
regression (a higher failure rate, on a deployment of its own), and calls that stop.

`minute()` adds the sessions of the minute that just passed on the simulator's clock (call it
after advancing the clock): `per_minute` sessions created evenly over it, each ended
`session_seconds` later (or at the minute's end), and a `fail_share` of them ending with
`failure_status`, spread deterministically (a failure each time the running sum of shares passes a
whole number), so tests and benchmarks see exact rates. Setting `per_minute` to 0 is a stop (a
spend limit: nothing starts).

`tick(seconds)` is the same for live play (the demo calls it every second or so) and for poll
intervals (bench/busy.py: 15 s ticks of 50 s calls): the sessions of the last `seconds`, each
running its whole `session_seconds`, ended by the tick its end falls in. Whether a session fails is
decided when it starts, so a rollback does not save the calls already running on the bad
deployment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox.pipecat.simulator import PipecatSimulator

SESSION_SECONDS = 20.0


@dataclass(frozen=True)
class _Running:
    ends_at: datetime
    session_id: str
    status: str


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
    _running: list[_Running] = field(default_factory=list)
    failed: int = 0
    started: int = 0
    failed_ids: list[str] = field(default_factory=list)

    def minute(self) -> None:
        now = self.sim.clock.now()
        for created in self._arrivals(now, 60.0):
            sid, status = self._start(created)
            self.sim.end_session(
                self.agent, sid, status, at=min(created + timedelta(seconds=self.session_seconds), now)
            )

    def tick(self, seconds: float) -> None:
        """The sessions of the last `seconds` start; every running one whose `session_seconds` are up
        ends (at its own end)."""
        now = self.sim.clock.now()
        for created in self._arrivals(now, seconds):
            sid, status = self._start(created)
            self._running.append(_Running(created + timedelta(seconds=self.session_seconds), sid, status))
        due = [r for r in self._running if r.ends_at <= now]
        self._running = [r for r in self._running if r.ends_at > now]
        for run in due:
            self.sim.end_session(self.agent, run.session_id, run.status, at=run.ends_at)

    @property
    def running(self) -> int:
        """Sessions started by `tick` and not ended yet."""
        return len(self._running)

    def _arrivals(self, now: datetime, seconds: float) -> list[datetime]:
        """When the sessions of the `seconds` before `now` were created: evenly spread."""
        if seconds <= 0:
            return []
        self._carry += self.per_minute * seconds / 60.0
        count = int(self._carry)
        self._carry -= count
        if not count:
            return []
        step = seconds / count
        return [now - timedelta(seconds=seconds - i * step) for i in range(count)]

    def _start(self, created: datetime) -> tuple[str, str]:
        """Start one session created at `created`; returns its id and the status it will end with."""
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
        failed = int(self._owed) > before
        self.started += 1
        if failed:
            self.failed += 1
            self.failed_ids.append(sid)
        return sid, self.failure_status if failed else "HTTP_COMPLETED"
