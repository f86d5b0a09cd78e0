"""The per-process timers that run the alert pipeline (bot/alerts/service.py).

Two jobs, so one slow agent's poll never holds back any channel's alerts: polling every
POLL_INTERVAL_SECONDS, and delivery every DELIVERY_TICK or poll interval, whichever is shorter
(retries and back-offs come due between polls), and at once whenever rows are enqueued.
APScheduler 3.x only times the work: coordination between replicas is the database's job (leases,
unique keys), so no job store is shared.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts import policy
from bot.alerts.service import AlertService

logger = logging.getLogger(__name__)

JOB_ID = "alert-poll"
DELIVERY_JOB_ID = "alert-delivery"
#: Jitter as a share of the interval (capped), so replicas started together drift apart.
JITTER_SHARE = 0.1
MAX_JITTER_SECONDS = 10.0
#: A cycle that starts this late (event loop blocked, process suspended) is skipped, not replayed.
MISFIRE_GRACE_SECONDS = 30


def start_scheduler(service: AlertService, *, interval_seconds: float) -> AsyncIOScheduler:
    """Start an AsyncIOScheduler on the running loop with a coalescing, non-overlapping poll job
    and delivery job; the service wakes the delivery job when rows are enqueued."""
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be positive")
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
    common = {
        "coalesce": True,  # a backlog of missed runs collapses into one
        "max_instances": 1,  # a slow run is never overlapped by the next
        "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        "next_run_time": datetime.now(UTC),  # first run right away, not one interval later
    }
    scheduler.add_job(
        service.run_poll,
        "interval",
        seconds=interval_seconds,
        id=JOB_ID,
        jitter=min(interval_seconds * JITTER_SHARE, MAX_JITTER_SECONDS),
        **common,
    )
    tick = min(interval_seconds, policy.DELIVERY_TICK.total_seconds())
    delivery = scheduler.add_job(service.run_delivery, "interval", seconds=tick, id=DELIVERY_JOB_ID, **common)

    def wake() -> None:
        if scheduler.running:
            delivery.modify(next_run_time=datetime.now(UTC))

    service.set_delivery_waker(wake)
    scheduler.start()
    logger.info(
        "alert polls every %ss, deliveries every %ss, as replica %s", interval_seconds, tick, service.replica_id
    )
    return scheduler
