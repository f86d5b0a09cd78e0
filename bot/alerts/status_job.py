"""The agent status job: its own APScheduler interval (AGENT_STATUS_INTERVAL_SECONDS), apart from
the session poll, so status reads never add to a poll cycle's cost."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler

from bot.alerts.scheduler import JITTER_SHARE, MAX_JITTER_SECONDS, MISFIRE_GRACE_SECONDS
from bot.alerts.service import AlertService

logger = logging.getLogger(__name__)

STATUS_JOB_ID = "agent-status"
#: The first status read waits this long after start-up, so it does not land on the first poll.
FIRST_READ_DELAY_SECONDS = 5


def add_status_job(scheduler: BaseScheduler, service: AlertService, *, interval_seconds: float) -> bool:
    """Add the job unless the interval is 0 (health alerts off); True when added."""
    if interval_seconds <= 0:
        logger.info("agent status reads are off (AGENT_STATUS_INTERVAL_SECONDS=0)")
        return False
    scheduler.add_job(
        service.status_cycle,
        "interval",
        seconds=interval_seconds,
        id=STATUS_JOB_ID,
        coalesce=True,
        max_instances=1,
        jitter=min(interval_seconds * JITTER_SHARE, MAX_JITTER_SECONDS),
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        next_run_time=datetime.now(UTC) + timedelta(seconds=FIRST_READ_DELAY_SECONDS),
    )
    logger.info("agent status read every %ss", interval_seconds)
    return True
