"""A traffic model for the Pipecat simulator: steady arrivals, a background failure rate, a
regression (a higher failure rate, on a deployment of its own), and calls that stop.

`minute()` adds the sessions of the minute that just passed on the simulator's clock (call it
after advancing the clock): `per_minute` sessions created evenly over it, each ended 20 s later
(or at the minute's end), and a `fail_share` of them ending with `failure_status`, spread
deterministically (a failure each time the running sum of shares passes a whole number), so tests
and benchmarks see exact rates. Setting `per_minute` to 0 is a stop (a spend limit: nothing starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

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
    _owed: float = 0.0
    _cold_owed: float = 0.0
    _carry: float = 0.0
    failed: int = 0
    started: int = 0
    failed_ids: list[str] = field(default_factory=list)

    def minute(self) -> None:
        now = self.sim.clock.now()
        self._carry += self.per_minute
        count = int(self._carry)
        self._carry -= count
        if not count:
            return
        step = 60.0 / count
        for i in range(count):
            created = now - timedelta(seconds=60 - i * step)
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
            status = self.failure_status if failed else "HTTP_COMPLETED"
            self.started += 1
            if failed:
                self.failed += 1
                self.failed_ids.append(sid)
            self.sim.end_session(self.agent, sid, status, at=min(created + timedelta(seconds=SESSION_SECONDS), now))
