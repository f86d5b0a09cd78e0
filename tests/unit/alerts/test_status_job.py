"""The agent status job: its own interval beside the alert cycle, off at 0, and a cycle that never raises."""

from __future__ import annotations

import asyncio

import pytest

from bot.alerts.scheduler import JOB_ID, STATUS_JOB_ID, Housekeeping, start_scheduler
from tests.fixtures_store import AlertRig


class Counting:
    """A test double with the pipeline's scheduling surface."""

    replica_id = "test-replica"

    async def run_poll(self) -> None:
        return None

    async def tick_delivery(self) -> None:
        return None

    def set_delivery_waker(self, waker: object) -> None:
        return None

    async def status_cycle(self) -> None:
        return None


async def test_the_status_job_has_its_own_interval_and_is_off_at_zero() -> None:
    service = Counting()
    scheduler = start_scheduler(service, interval_seconds=60, status_interval_seconds=120, housekeeping=())
    try:
        job, poll = scheduler.get_job(STATUS_JOB_ID), scheduler.get_job(JOB_ID)
        assert job is not None and poll is not None and job.func == service.status_cycle
        assert job.trigger.interval.total_seconds() == 120 and poll.trigger.interval.total_seconds() == 60
        assert job.coalesce is True and job.max_instances == 1
    finally:
        scheduler.shutdown(wait=False)
    scheduler = start_scheduler(service, interval_seconds=60, status_interval_seconds=0, housekeeping=())
    try:
        assert scheduler.get_job(STATUS_JOB_ID) is None and scheduler.get_job(JOB_ID) is not None
    finally:
        scheduler.shutdown(wait=False)


async def test_housekeeping_jobs_are_registered_beside_the_pipeline_s() -> None:
    async def prune() -> None:
        return None

    scheduler = start_scheduler(
        Counting(), interval_seconds=60, status_interval_seconds=0, housekeeping=[Housekeeping("prune", prune, 3600)]
    )
    try:
        job = scheduler.get_job("prune")
        assert job is not None and job.func is prune and job.trigger.interval.total_seconds() == 3600
        assert job.coalesce is True and job.max_instances == 1
    finally:
        scheduler.shutdown(wait=False)


async def test_status_cycle_never_raises_and_still_delivers(
    alert_rig: AlertRig, caplog: pytest.LogCaptureFixture
) -> None:
    service = (await alert_rig.new_service(status_interval=120)).jobs
    delivered = asyncio.Event()

    async def broken() -> None:
        raise RuntimeError("database gone")

    async def deliver() -> None:
        delivered.set()

    service.health.read_once = broken  # type: ignore[method-assign]
    service.deliver_once = deliver  # type: ignore[method-assign]
    await service.status_cycle()
    assert "status cycle: status read failed" in caplog.text and delivered.is_set()
