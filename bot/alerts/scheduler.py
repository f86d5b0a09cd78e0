"""Every timer of the process, registered here and only here.

The alert pipeline's jobs (AlertJobs, bot/alerts/jobs.py): polling every POLL_INTERVAL_SECONDS;
delivery every DELIVERY_TICK or poll interval, whichever is shorter (retries and back-offs come
due between polls), and at once whenever rows are enqueued, apart from polling so one slow agent's
poll never holds back any channel's alerts; agent status reads on their own
AGENT_STATUS_INTERVAL_SECONDS (0: off). Beside them the housekeeping jobs the composition root
passes (audit pruning, digests, the webhook sweep).
APScheduler 3.x only times the work: coordination between replicas is the database's job (leases,
unique keys), so no job store is shared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts import policy

logger = logging.getLogger(__name__)

JOB_ID = "alert-poll"
DELIVERY_JOB_ID = "alert-delivery"
STATUS_JOB_ID = "agent-status"
#: Jitter as a share of the interval (capped), so replicas started together drift apart.
JITTER_SHARE = 0.1
MAX_JITTER_SECONDS = 10.0
#: A cycle that starts this late (event loop blocked, process suspended) is skipped, not replayed.
MISFIRE_GRACE_SECONDS = 30
#: The first status read waits this long after start-up, so it does not land on the first poll.
FIRST_READ_DELAY_SECONDS = 5
#: The delivery job's instances: the running delivery, and a tick beside it that returns at once.
DELIVERY_INSTANCES = 2


class PipelineJobs(Protocol):
    """What the scheduler runs of the alert pipeline (AlertJobs)."""

    @property
    def replica_id(self) -> str: ...

    async def run_poll(self) -> None: ...

    async def tick_delivery(self) -> None: ...

    async def status_cycle(self) -> None: ...

    def set_delivery_waker(self, waker: Callable[[], None] | None) -> None: ...


@dataclass(frozen=True)
class Housekeeping:
    """A job beside the pipeline's: `run` every `seconds` (coalesced, never overlapped)."""

    id: str
    run: Callable[[], Awaitable[object]]
    seconds: float


def start_scheduler(
    jobs: PipelineJobs,
    *,
    interval_seconds: float,
    status_interval_seconds: float,
    housekeeping: Sequence[Housekeeping],
) -> AsyncIOScheduler:
    """Start an AsyncIOScheduler on the running loop with every job: the poll, delivery and status
    jobs (coalescing, non-overlapping, but for the delivery tick beside a running delivery; the
    pipeline wakes the delivery job when rows are enqueued) and the housekeeping ones."""
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be positive")
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
    common = {
        "coalesce": True,  # a backlog of missed runs collapses into one
        "max_instances": 1,  # a slow run is never overlapped by the next
        "misfire_grace_time": MISFIRE_GRACE_SECONDS,
    }
    jitter = min(interval_seconds * JITTER_SHARE, MAX_JITTER_SECONDS)
    now = datetime.now(UTC)  # first runs right away, not one interval later
    scheduler.add_job(
        jobs.run_poll, "interval", seconds=interval_seconds, id=JOB_ID, jitter=jitter, next_run_time=now, **common
    )
    tick = min(interval_seconds, policy.DELIVERY_TICK.total_seconds())
    # Two instances: while one delivers (a drain can last a pass budget), the next tick starts a
    # pass beside it and returns at once (AlertJobs.tick_delivery), instead of being skipped.
    delivery = scheduler.add_job(
        jobs.tick_delivery,
        "interval",
        seconds=tick,
        id=DELIVERY_JOB_ID,
        next_run_time=now,
        **{**common, "max_instances": DELIVERY_INSTANCES},
    )

    def wake() -> None:
        if scheduler.running:
            delivery.modify(next_run_time=datetime.now(UTC))

    jobs.set_delivery_waker(wake)
    if status_interval_seconds > 0:
        scheduler.add_job(
            jobs.status_cycle,
            "interval",
            seconds=status_interval_seconds,
            id=STATUS_JOB_ID,
            jitter=min(status_interval_seconds * JITTER_SHARE, MAX_JITTER_SECONDS),
            next_run_time=now + timedelta(seconds=FIRST_READ_DELAY_SECONDS),
            **common,
        )
        logger.info("agent status read every %ss", status_interval_seconds)
    else:
        logger.info("agent status reads are off (AGENT_STATUS_INTERVAL_SECONDS=0)")
    for job in housekeeping:
        scheduler.add_job(job.run, "interval", seconds=job.seconds, id=job.id, coalesce=True, max_instances=1)
    scheduler.start()
    logger.info("alert polls every %ss, deliveries every %ss, as replica %s", interval_seconds, tick, jobs.replica_id)
    return scheduler
