"""The agent status job: its own interval beside the alert cycle, off at 0, and a cycle that never raises."""

from __future__ import annotations

import asyncio

import pytest

from bot.alerts.scheduler import JOB_ID, start_scheduler
from bot.alerts.service import AlertService
from bot.alerts.status_job import STATUS_JOB_ID, add_status_job
from tests.fixtures_store import AlertRig


class Counting:
    """A test double with the service's scheduling surface."""

    replica_id = "test-replica"

    async def run_poll(self) -> None:
        return None

    async def run_delivery(self) -> None:
        return None

    def set_delivery_waker(self, waker: object) -> None:
        return None

    async def status_cycle(self) -> None:
        return None


async def test_the_status_job_has_its_own_interval_and_is_off_at_zero() -> None:
    service = Counting()
    scheduler = start_scheduler(service, interval_seconds=60)  # type: ignore[arg-type]
    try:
        assert add_status_job(scheduler, service, interval_seconds=120)  # type: ignore[arg-type]
        job, poll = scheduler.get_job(STATUS_JOB_ID), scheduler.get_job(JOB_ID)
        assert job is not None and poll is not None and job.func == service.status_cycle
        assert job.trigger.interval.total_seconds() == 120 and poll.trigger.interval.total_seconds() == 60
        assert job.coalesce is True and job.max_instances == 1
        scheduler.remove_job(STATUS_JOB_ID)
        assert not add_status_job(scheduler, service, interval_seconds=0)  # type: ignore[arg-type]
        assert scheduler.get_job(STATUS_JOB_ID) is None
    finally:
        scheduler.shutdown(wait=False)


async def test_status_cycle_never_raises_and_still_delivers(
    alert_rig: AlertRig, caplog: pytest.LogCaptureFixture
) -> None:
    service: AlertService = await alert_rig.new_service(status_interval=120)
    delivered = asyncio.Event()

    async def broken() -> None:
        raise RuntimeError("database gone")

    async def deliver() -> None:
        delivered.set()

    service.health.read_once = broken  # type: ignore[method-assign]
    service.deliver_once = deliver  # type: ignore[method-assign]
    await service.status_cycle()
    assert "status cycle: status read failed" in caplog.text and delivered.is_set()
