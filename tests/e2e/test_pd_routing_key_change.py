"""PAGERDUTY_ROUTING_KEY changed (a new integration / service) while an incident is paged: the app
restarts with the new key and, when the incident goes quiet, sends its resolve to the key that
opened the alert, which PagerDuty resolves. New alerts open with the new key.

Where: bot/store/pager.py keeps the routing key each alert was opened with (`open_pager_alert`,
`pager_routing_key`); bot/alerts/paging/delivery.py sends every event of an alert to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.fixtures_app import AppFactory
from tests.fixtures_pagerduty import ROUTING_KEY

if TYPE_CHECKING:
    from bot.app import Runtime

AGENT = "voice-bot"
NEW_KEY = "Nw9q3Rx8Yt2Km7Vc4Bd6Hf1Gj5Ls0Pa3"


@pytest.fixture
def pagerduty_standin() -> PagerDutyStandIn:
    return PagerDutyStandIn(routing_keys=(ROUTING_KEY, NEW_KEY))


async def cycle(runtime: Runtime, clock: SimClock, seconds: float = 60) -> None:
    clock.advance(seconds)
    await runtime.jobs.poll_once()
    await runtime.jobs.deliver_once()


async def test_a_routing_key_change_leaves_the_old_page_open(
    app_factory: AppFactory,
    pagerduty_url: str,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    """Named for the defect it guards against (the reproduction's name): the old key's page must be resolved."""
    async with app_factory(PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty_url) as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT} page"))
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(rt, sim_clock)
        [alert] = pagerduty_standin.alerts
        assert alert.status == "triggered" and alert.routing_key == ROUTING_KEY
    async with app_factory(PAGERDUTY_ROUTING_KEY=NEW_KEY, PAGERDUTY_EVENTS_URL=pagerduty_url) as (rt, slack):
        await cycle(rt, sim_clock, seconds=31 * 60)  # the incident goes quiet: resolve
        await cycle(rt, sim_clock)
        assert alert.status == "resolved", "the page opened with the old key is never resolved"
        sent = [(e.action, e.body.get("routing_key"), e.status) for e in pagerduty_standin.requests]
        assert sent == [("trigger", ROUTING_KEY, 202), ("resolve", ROUTING_KEY, 202)]
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")  # a new incident opens with the new key
        await cycle(rt, sim_clock)
        [_, new] = pagerduty_standin.alerts
        assert (new.status, new.routing_key) == ("triggered", NEW_KEY)
