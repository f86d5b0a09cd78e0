"""The scheduler wiring and the Slack error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.alerts import policy
from bot.alerts.delivery.slack_errors import Permanent, RateLimited, Retryable, Uncertain, from_api_error, slack_call
from bot.alerts.jobs import AlertJobs
from bot.alerts.scheduler import DELIVERY_JOB_ID, JOB_ID, start_scheduler
from tests.fixtures_store import AlertRig


class CountingService:
    """A test double with the service's scheduling surface."""

    replica_id = "test-replica"

    def __init__(self) -> None:
        self.polls = asyncio.Event()
        self.deliveries = 0
        self.delivered = asyncio.Event()
        self.waker: Callable[[], None] | None = None

    async def run_poll(self) -> None:
        self.polls.set()

    async def run_delivery(self) -> None:
        self.deliveries += 1
        self.delivered.set()

    async def status_cycle(self) -> None:
        return None

    def set_delivery_waker(self, waker: Callable[[], None] | None) -> None:
        self.waker = waker


def start(service: CountingService, interval_seconds: float) -> Any:
    return start_scheduler(service, interval_seconds=interval_seconds, status_interval_seconds=0, housekeeping=())


async def test_start_scheduler_runs_a_poll_job_and_a_delivery_job_on_the_running_loop() -> None:
    service = CountingService()
    scheduler = start(service, interval_seconds=30)
    try:
        job = scheduler.get_job(JOB_ID)
        assert job is not None and job.coalesce is True and job.max_instances == 1
        assert job.trigger.jitter == 3.0 and job.trigger.interval.total_seconds() == 30
        delivery = scheduler.get_job(DELIVERY_JOB_ID)
        assert delivery is not None and delivery.max_instances == 1
        assert delivery.trigger.interval == policy.DELIVERY_TICK  # retries come due between polls
        await asyncio.wait_for(service.polls.wait(), timeout=5)  # the first cycle starts right away
        await asyncio.wait_for(service.delivered.wait(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)


async def test_waking_runs_the_delivery_job_now_not_at_its_next_tick() -> None:
    service = CountingService()
    scheduler = start(service, interval_seconds=3600)
    try:
        await asyncio.wait_for(service.delivered.wait(), timeout=5)
        service.delivered.clear()
        assert service.waker is not None
        service.waker()
        await asyncio.wait_for(service.delivered.wait(), timeout=5)  # the tick is an hour away
        assert service.deliveries == 2
    finally:
        scheduler.shutdown(wait=False)


def test_start_scheduler_refuses_a_bad_interval() -> None:
    with pytest.raises(ValueError):
        start(CountingService(), interval_seconds=0)


async def test_run_cycle_never_raises_and_delivers_after_a_failed_poll(
    alert_rig: AlertRig, caplog: pytest.LogCaptureFixture
) -> None:
    service: AlertJobs = alert_rig.jobs
    delivered = asyncio.Event()

    async def broken() -> None:
        raise RuntimeError("database gone")

    async def deliver() -> None:
        delivered.set()

    service.poll_once = broken  # type: ignore[method-assign]
    service.deliver_once = deliver  # type: ignore[method-assign]
    await service.run_cycle()
    assert "alert cycle: poll failed" in caplog.text and delivered.is_set()


def api_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.test/api/chat.postMessage",
        req_args={},
        data=body,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "detail"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}, RateLimited, 30.0),
        (429, {"ok": False, "error": "ratelimited"}, {}, RateLimited, policy.DEFAULT_RETRY_AFTER_SECONDS),
        (429, {"ok": False}, {"Retry-After": "99999"}, RateLimited, policy.MAX_RETRY_AFTER_SECONDS),
        (200, {"ok": False, "error": "channel_not_found"}, {}, Permanent, True),
        (200, {"ok": False, "error": "not_in_channel"}, {}, Permanent, True),
        (200, {"ok": False, "error": "is_archived"}, {}, Permanent, True),
        (200, {"ok": False, "error": "invalid_auth"}, {}, Permanent, True),
        (200, {"ok": False, "error": "account_inactive"}, {}, Permanent, True),
        (200, {"ok": False, "error": "invalid_blocks"}, {}, Permanent, False),
        (500, {"ok": False, "error": "internal_error"}, {}, Uncertain, None),
        (503, {}, {}, Uncertain, None),
        (200, {"ok": False, "error": "request_timeout"}, {}, Uncertain, None),
        (404, {}, {}, Retryable, None),
    ],
)
def test_slack_api_errors_map_to_typed_errors(
    status: int, body: dict[str, Any], headers: dict[str, str], kind: type, detail: object
) -> None:
    error = from_api_error(api_error(status, body, headers))
    assert type(error) is kind
    if isinstance(error, RateLimited):
        assert error.retry_after == detail
    if isinstance(error, Permanent):
        assert error.channel_level is detail


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (TimeoutError(), Uncertain),
        (aiohttp.ServerDisconnectedError(), Uncertain),
        (aiohttp.ConnectionTimeoutError(), Retryable),
    ],
)
async def test_transport_errors_map_by_whether_the_request_left(raised: Exception, kind: type) -> None:
    async def call() -> None:
        raise raised

    with pytest.raises(kind):
        await slack_call(call())
