"""Steady traffic on the Pipecat simulator, for rate tests: sessions started evenly over each
minute, a given share of them failing (deterministically: every 1/share-th), all ended by the end
of the minute."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.sandbox.pipecat_sim import PipecatSimulator


@dataclass
class Traffic:
    sim: PipecatSimulator
    agent: str
    per_minute: int
    fail_share: float = 0.02
    #: Running sum of failure shares: a failure each time it passes a whole number.
    _owed: float = 0.0
    failed: int = 0
    started: int = 0
    failed_ids: list[str] = field(default_factory=list)

    def minute(self, *, deployment_id: str | None = None) -> None:
        """Sessions of the minute that just passed on the simulator's clock (call after advancing it)."""
        now = self.sim.clock.now()
        if not self.per_minute:
            return
        step = 60.0 / self.per_minute
        for i in range(self.per_minute):
            created = now - timedelta(seconds=60 - i * step)
            sid = self.sim.start_session(
                self.agent, created_at=created, deployment_id=deployment_id, cold_start=False, bot_start_seconds=0.8
            )
            before = int(self._owed)
            self._owed += self.fail_share
            status = "HTTP_ERROR" if int(self._owed) > before else "HTTP_COMPLETED"
            self.failed += status == "HTTP_ERROR"
            if status == "HTTP_ERROR":
                self.failed_ids.append(sid)
            self.started += 1
            self.sim.end_session(self.agent, sid, status, at=min(created + timedelta(seconds=20), now))
