"""Two replicas page PagerDuty once per incident: on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.pagerduty.client import PagerDutyClient
from bot.wiring import Alerts
from sandbox.pagerduty.standin import PagerDutyStandIn
from tests import store_reads
from tests.fixtures_store import ALERT_CHANNEL, PG_URL_ENV, AlertRig, open_store

AGENT = "voice-bot"


def _urls() -> list[Any]:
    params = [pytest.param(None, id="sqlite")]
    if os.environ.get(PG_URL_ENV):
        params.append(pytest.param(os.environ[PG_URL_ENV], id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(params=_urls())
async def replicas(
    request: pytest.FixtureRequest, alert_rig: AlertRig, pagerduty_client: PagerDutyClient
) -> AsyncIterator[tuple[Alerts, Alerts]]:
    if request.param is not None:  # PostgreSQL: start from empty tables
        alert_rig.db_url = request.param
        alert_rig.stores.append(await open_store(request.param, fresh=True))
    a = await alert_rig.new_service(pagerduty=pagerduty_client, replica_id="replica-a")
    b = await alert_rig.new_service(pagerduty=pagerduty_client, replica_id="replica-b")
    yield a, b


async def test_two_replicas_open_one_alert_and_send_one_trigger(
    replicas: tuple[Alerts, Alerts], alert_rig: AlertRig, pagerduty_standin: PagerDutyStandIn
) -> None:
    a, b = replicas
    await a.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    alert_rig.clock.advance(60)
    alert_rig.sim.add_session(AGENT, "HTTP_ERROR")
    await asyncio.gather(a.jobs.poll_once(), b.jobs.poll_once())
    for _ in range(3):
        await asyncio.gather(a.jobs.deliver_once(), b.jobs.deliver_once())
        await asyncio.gather(a.jobs.pager.run_once(), b.jobs.pager.run_once())
        alert_rig.clock.advance(60)
    assert [e.action for e in pagerduty_standin.requests] == ["trigger"]
    [alert] = pagerduty_standin.alerts
    # Both replicas made the key in the one namespace stored (neither asked Slack for it).
    namespace = await alert_rig.store.pager_namespace("not-this-one", alert_rig.clock.now())
    assert alert.dedup_key == f"pipecat-ops/{namespace}/{ALERT_CHANNEL}/incident/1"
    assert not alert_rig.slack.calls_to("auth.test")
    rows = await store_reads.page_rows(alert_rig.store)
    assert [(r.dedup_key, r.state) for r in rows] == [("page:1:trigger:1", "sent")]
