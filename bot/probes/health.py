"""`GET /healthz` (routed in bot/app.py): a report a load balancer or a Kubernetes probe can act on.

`assess` is the pure decision; `HealthProbe` gathers its inputs with a short database timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.probes.ports import ProbeStore
from bot.store.ops import OpsSnapshot

logger = logging.getLogger(__name__)

#: The database answers within this long or /healthz calls it unreachable.
DB_TIMEOUT_SECONDS = 2.0
#: Unhealthy once no poll succeeded for this many intervals while something is watched.
STALE_POLL_INTERVALS = 3

SocketState = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class HealthReport:
    ok: bool
    database: str
    last_poll_age_seconds: float | None
    watches: int | None
    reasons: tuple[str, ...]
    socket_mode: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": self.ok,
            "database": self.database,
            "last_poll_age_seconds": self.last_poll_age_seconds,
            "watches": self.watches,
            "reasons": list(self.reasons),
        }
        if self.socket_mode is not None:
            body["socket_mode"] = self.socket_mode
        return body


def assess(
    *,
    db_problem: str | None,
    snapshot: OpsSnapshot | None,
    now: datetime,
    poll_interval: float,
    socket_connected: bool | None = None,
) -> HealthReport:
    """Pure: healthy unless the database is away, polling went stale, or Socket Mode is down."""
    reasons: list[str] = []
    if db_problem is not None:
        reasons.append(f"database unreachable: {db_problem}")
    age: float | None = None
    watches: int | None = None
    if snapshot is not None:
        watches = snapshot.watch_count
        newest = snapshot.newest_success
        age = round((now - newest).total_seconds(), 3) if newest is not None else None
        limit = STALE_POLL_INTERVALS * poll_interval
        if watches and (age is None or age > limit):
            reasons.append(
                f"no successful poll for {STALE_POLL_INTERVALS} intervals ({limit:g}s) while {watches} watch(es) exist"
            )
    socket = None if socket_connected is None else ("connected" if socket_connected else "disconnected")
    if socket_connected is False:
        reasons.append("Socket Mode is not connected to Slack")
    return HealthReport(
        ok=not reasons,
        database="ok" if db_problem is None else db_problem,
        last_poll_age_seconds=age,
        watches=watches,
        reasons=tuple(reasons),
        socket_mode=socket,
    )


class HealthProbe:
    def __init__(
        self,
        store: ProbeStore,
        clock: Clock,
        poll_interval: float,
        *,
        timeout: float = DB_TIMEOUT_SECONDS,
        socket_state: SocketState | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._interval = poll_interval
        self._timeout = timeout
        self.socket_state = socket_state

    async def check(self) -> tuple[HealthReport, OpsSnapshot | None]:
        db_problem: str | None = None
        snapshot: OpsSnapshot | None = None
        try:
            snapshot = await asyncio.wait_for(self._store.ops_snapshot(), self._timeout)
        except TimeoutError:
            db_problem = f"no answer within {self._timeout:g}s"
        except (SQLAlchemyError, OSError) as error:  # the database is away: a report, not a 500
            db_problem = _describe(error)
            logger.warning("health check: the database is unreachable: %s", db_problem)
        connected = await self.socket_state() if self.socket_state is not None else None
        report = assess(
            db_problem=db_problem,
            snapshot=snapshot,
            now=self._clock.now(),
            poll_interval=self._interval,
            socket_connected=connected,
        )
        return report, snapshot


def _describe(error: BaseException) -> str:
    """The driver's first line only: enough to act on, no connection string."""
    cause = getattr(error, "orig", None) or error
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first}"[:200]
