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
from bot.alerts.delivery.reconcile import while_looking
from bot.alerts.delivery.slack_errors import SlackFailure, from_api_error, slack_call
from bot.alerts.delivery.transitions import (
    CannotCheck,
    Failed,
    MaybeSent,
    NotSent,
    Outcome,
    ParentLost,
    RateLimited,
    Refused,
)
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
        self.hold = asyncio.Event()
        self.hold.set()

    async def run_poll(self) -> None:
        self.polls.set()

    async def tick_delivery(self) -> None:
        self.deliveries += 1
        self.delivered.set()
        await self.hold.wait()  # a delivery that drains a channel: it runs on while the test holds it

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
        assert delivery is not None and delivery.max_instances == 2  # the tick beside a running delivery
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
    ("status", "body", "headers", "outcome"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}, RateLimited(30.0, "ratelimited")),
        (
            429,
            {"ok": False, "error": "ratelimited"},
            {},
            RateLimited(policy.DEFAULT_RETRY_AFTER_SECONDS, "ratelimited"),
        ),
        (429, {"ok": False}, {"Retry-After": "99999"}, RateLimited(policy.MAX_RETRY_AFTER_SECONDS, "HTTP 429")),
        (200, {"ok": False, "error": "channel_not_found"}, {}, Refused("channel_not_found", channel_level=True)),
        (200, {"ok": False, "error": "not_in_channel"}, {}, Refused("not_in_channel", channel_level=True)),
        (200, {"ok": False, "error": "is_archived"}, {}, Refused("is_archived", channel_level=True)),
        (200, {"ok": False, "error": "invalid_auth"}, {}, Refused("invalid_auth", channel_level=True)),
        (200, {"ok": False, "error": "account_inactive"}, {}, Refused("account_inactive", channel_level=True)),
        (200, {"ok": False, "error": "invalid_blocks"}, {}, Refused("invalid_blocks", channel_level=False)),
        (200, {"ok": False}, {}, Refused("unknown_error", channel_level=False)),
        (500, {"ok": False, "error": "internal_error"}, {}, MaybeSent("HTTP 500 internal_error")),
        (503, {}, {}, MaybeSent("HTTP 503")),
        (200, {"ok": False, "error": "request_timeout"}, {}, MaybeSent("HTTP 200 request_timeout")),
        (404, {}, {}, NotSent("HTTP 404")),
    ],
)
def test_slack_api_errors_map_to_delivery_outcomes(
    status: int, body: dict[str, Any], headers: dict[str, str], outcome: Failed
) -> None:
    assert from_api_error(api_error(status, body, headers)) == outcome


@pytest.mark.parametrize(
    ("raised", "outcome"),
    [
        (TimeoutError(), MaybeSent("TimeoutError")),
        (aiohttp.ServerDisconnectedError(), MaybeSent("ServerDisconnectedError")),
        (aiohttp.ConnectionTimeoutError(), NotSent("ConnectionTimeoutError")),
        (api_error(200, {"ok": False, "error": "not_in_channel"}), Refused("not_in_channel", channel_level=True)),
    ],
)
async def test_failed_calls_raise_one_error_carrying_their_outcome(raised: Exception, outcome: Failed) -> None:
    async def call() -> None:
        raise raised

    with pytest.raises(SlackFailure) as caught:
        await slack_call(call())
    assert caught.value.outcome == outcome


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome"),
    [
        # Slack asks us to wait: the row stays uncertain, the channel backs off.
        (
            429,
            {"ok": False, "error": "ratelimited"},
            {"Retry-After": "30"},
            RateLimited(30.0, "reconcile: ratelimited"),
        ),
        # The parent was deleted: no copy can be in its thread, the reply goes top-level.
        (
            200,
            {"ok": False, "error": "thread_not_found"},
            {},
            ParentLost("the incident's parent was deleted: posted top-level"),
        ),
        # No history scope: post again once, unchecked.
        (200, {"ok": False, "error": "missing_scope"}, {}, CannotCheck("missing_scope")),
        # The channel refuses the bot: a post would be refused too.
        (200, {"ok": False, "error": "not_in_channel"}, {}, Refused("not_in_channel", channel_level=True)),
        # Anything else: could not tell, look again later.
        (200, {"ok": False, "error": "invalid_cursor"}, {}, MaybeSent("reconcile: invalid_cursor")),
        (500, {"ok": False, "error": "internal_error"}, {}, MaybeSent("reconcile: HTTP 500 internal_error")),
        (404, {}, {}, MaybeSent("reconcile: HTTP 404")),
    ],
)
def test_slack_answers_while_looking_for_an_earlier_copy_map_to_outcomes(
    status: int, body: dict[str, Any], headers: dict[str, str], outcome: Outcome
) -> None:
    assert while_looking(from_api_error(api_error(status, body, headers))) == outcome


async def test_a_tick_while_the_delivery_job_runs_still_reaches_the_pipeline() -> None:
    """A delivery draining a channel at 1 post/s runs for up to a pass budget: the ticks meanwhile
    are not skipped (the pipeline serves the other channels beside the drain)."""
    service = CountingService()
    service.hold.clear()
    scheduler = start(service, interval_seconds=3600)
    try:
        await asyncio.wait_for(service.delivered.wait(), timeout=5)  # the first run, still running
        service.delivered.clear()
        assert service.waker is not None
        service.waker()  # the next tick, while the first run is held
        await asyncio.wait_for(service.delivered.wait(), timeout=5)
        assert service.deliveries == 2
    finally:
        service.hold.set()
        scheduler.shutdown(wait=False)
