"""OUTBOX_GIVE_UP_HOURS reaches PagerDuty delivery: the app is started with a 1-hour budget,
PagerDuty answers 503 for 3 hours, and the trigger is given up after 1 hour like every Slack row
of the same app.

Where: bot/app.py passes give_up_after to AlertService, which passes it to bot/alerts/paging/pager.py
`Pager` and on to bot/alerts/paging/delivery.py `PageDelivery`; neither has a default, so a missing
wire is a type error.
"""

from __future__ import annotations

from bot.store.records import OutboxState
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests import store_reads
from tests.fixtures_app import AppFactory
from tests.fixtures_pagerduty import ROUTING_KEY

AGENT = "voice-bot"


async def test_pagerduty_rows_honour_outbox_give_up_hours(
    app_factory: AppFactory,
    pagerduty_url: str,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    async with app_factory(
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty_url, OUTBOX_GIVE_UP_HOURS=1
    ) as (runtime, slack):
        assert runtime.settings.outbox_give_up_hours == 1
        key = await slack.command(f"watch {AGENT} page")
        await slack.responses(key)
        pagerduty_standin.fail_next(100_000, status=503)  # PagerDuty is down for the whole test
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        for _ in range(36):  # 3 hours, one cycle every 5 minutes
            sim_clock.advance(300)
            await runtime.jobs.poll_once()
            await runtime.jobs.deliver_once()
        rows = await store_reads.page_rows(runtime.store)
        [row] = [r for r in rows if r.dedup_key == "page:1:trigger:1"]
        assert row.state == OutboxState.DEAD, f"trigger still {row.state} after 3 h of 503s with OUTBOX_GIVE_UP_HOURS=1"
