"""The per-process timer that runs alert cycles (design.md §5).

APScheduler 3.x only times the work: coordination between replicas is the database's job
(leases, unique keys), so no job store is shared.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.service import AlertService

logger = logging.getLogger(__name__)

JOB_ID = "alert-cycle"
#: Jitter as a share of the interval (capped), so replicas started together drift apart.
JITTER_SHARE = 0.1
MAX_JITTER_SECONDS = 10.0
#: A cycle that starts this late (event loop blocked, process suspended) is skipped, not replayed.
MISFIRE_GRACE_SECONDS = 30


def start_scheduler(service: AlertService, *, interval_seconds: float) -> AsyncIOScheduler:
    """Start an AsyncIOScheduler on the running loop with one coalescing, non-overlapping job."""
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be positive")
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
    scheduler.add_job(
        service.run_cycle,
        "interval",
        seconds=interval_seconds,
        id=JOB_ID,
        coalesce=True,  # a backlog of missed runs collapses into one
        max_instances=1,  # a slow cycle is never overlapped by the next
        jitter=min(interval_seconds * JITTER_SHARE, MAX_JITTER_SECONDS),
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        next_run_time=datetime.now(UTC),  # first cycle right away, not one interval later
    )
    scheduler.start()
    logger.info(
        "alert cycles every %ss as replica %s", interval_seconds, getattr(service, "replica_id", "(unnamed)")
    )
    return scheduler
