"""A replica paused (SIGSTOP, a long GC, a frozen VM) between claiming a PagerDuty trigger and
sending it: another replica takes the expired claim over, sends the trigger and then the resolve.
When the paused one resumes, the fence right before the request (bot/pagerduty/client.py
`PagerDutyClient.send` calls it last; bot/alerts/paging/delivery.py `PageDelivery._fence`,
bot/store/pager.py `confirm_page_claim`, margin policy.PAGE_CLAIM_SAFETY_MARGIN) finds the claim is
no longer its own, and nothing is sent: its stale trigger would have opened a new page for a
resolved dedup_key (PagerDuty, and the stand-in, open a new alert then), one nothing resolves.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from pydantic import SecretStr

from bot.pagerduty.client import Accepted, Fence, PagerDutyClient
from sandbox.pagerduty.standin import PagerDutyStandIn
from tests.fixtures_store import ALERT_CHANNEL, PG_URL_ENV, AlertRig, open_store

AGENT = "voice-bot"


def _backends() -> list[Any]:
    params = [pytest.param(None, id="sqlite")]
    if os.environ.get(PG_URL_ENV):
        params.append(pytest.param(os.environ[PG_URL_ENV], id="postgresql"))
    return params


@pytest.fixture(params=_backends())
async def rig(request: pytest.FixtureRequest, alert_rig: AlertRig) -> AlertRig:
    """The alert rig on SQLite, or on the PostgreSQL of PIPECAT_OPS_TEST_PG_URL (emptied first)."""
    if request.param is not None:
        alert_rig.db_url = request.param
        alert_rig.stores.append(await open_store(request.param, fresh=True))
    return alert_rig


class PausesOnce:
    """The replica's PagerDuty client: the first send stalls while `pause` runs (the SIGSTOP),
    after the claim and before the request (the real client's fence comes last, right before it)."""

    def __init__(self, inner: PagerDutyClient) -> None:
        self.inner = inner
        self.routing_key = inner.routing_key
        self.pause: Callable[[], Awaitable[None]] | None = None

    async def send(self, event: Mapping[str, Any], *, routing_key: SecretStr, fence: Fence) -> Accepted:
        pause, self.pause = self.pause, None
        if pause is not None:
            await pause()
        return await self.inner.send(event, routing_key=routing_key, fence=fence)


async def test_a_stale_trigger_from_a_paused_replica_reopens_a_resolved_page(
    rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    """Named for the defect it guards against (the reproduction's name): the resumed replica must send nothing."""
    stalled = PausesOnce(pagerduty_client)
    a = await rig.new_service(pagerduty=stalled, replica_id="replica-a")
    b = await rig.new_service(pagerduty=pagerduty_client, replica_id="replica-b")
    await a.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    rig.clock.advance(5)
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    rig.clock.advance(60)
    await a.jobs.poll_once()
    await a.jobs._deliverer.deliver_once()  # the Slack posts
    await a.jobs.pager.sync_once()  # the trigger is queued

    async def while_a_is_stopped() -> None:
        rig.clock.advance(31)  # past PAGE_CLAIM_TTL: A's claim has expired
        await b.jobs.pager.run_once()  # B takes the trigger over and sends it
        await b.commands.unwatch(ALERT_CHANNEL, AGENT)  # (or the incident closes / the watch stops paging)
        await b.jobs.pager.run_once()  # B sends the resolve
        assert [e.action for e in pagerduty_standin.accepted()] == ["trigger", "resolve"]

    stalled.pause = while_a_is_stopped
    await a.jobs.pager.deliver_once()  # A claimed the trigger, then stalled; now it resumes and sends it
    assert all(x.status == "resolved" for x in pagerduty_standin.alerts), "a page is left open after the resolve"
    assert len(pagerduty_standin.alerts) == 1
    assert [e.action for e in pagerduty_standin.requests] == ["trigger", "resolve"]  # A sent nothing
