"""A replica started during a Slack outage still pages: PagerDuty dedup keys are made in the
installation's namespace, stored in the database once (bot/store/pager.py `pager_namespace`,
bot/alerts/paging/pager.py `Pager._namespace`), not from the Slack team id that auth.test gave each
process. The escalation path works exactly when the primary channel does not.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from bot.pagerduty.client import PagerDutyClient
from bot.store.schema import pager_namespace
from sandbox.pagerduty.standin import PagerDutyStandIn
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
EVERYTHING = frozenset(
    {
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.getPermalink",
        "conversations.history",
        "conversations.replies",
        "views.publish",
    }
)


async def test_a_replica_started_during_a_slack_outage_still_pages(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    rig = alert_rig
    first = await rig.new_service(pagerduty=pagerduty_client)
    await first.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    rig.slack.start_outage(EVERYTHING, until=rig.clock.now() + timedelta(hours=1))
    await rig.new_service(pagerduty=pagerduty_client)  # restarted while Slack is down
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    for _ in range(10):  # 10 minutes of an incident nobody is told about
        await rig.cycle()
    [incident] = await rig.store.incidents_for(ALERT_CHANNEL)
    assert incident.closed_at is None
    assert pagerduty_standin.alerts, "no page while Slack is down"
    [alert] = pagerduty_standin.alerts
    assert alert.status == "triggered" and alert.dedup_key.endswith(f"/{ALERT_CHANNEL}/incident/{incident.id}")


async def test_an_upgraded_installation_keeps_the_keys_of_its_open_alerts(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    """Before the namespace was stored, keys were made with the Slack team id ("T0001"). After the
    upgrade the namespace is read back from those keys, so the open condition alert is neither
    resolved nor paged again under a new key, and Slack is not asked."""
    rig = alert_rig
    first = await rig.new_service(status_interval=120, pagerduty=pagerduty_client)
    await rig.store.pager_namespace("T0001", rig.clock.now())  # what auth.test used to give
    await first.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    for _ in range(2):  # a condition is alerted once two reads a minute apart show it
        rig.clock.advance(120)
        await first.jobs.status_cycle()
    [alert] = pagerduty_standin.alerts
    assert alert.dedup_key.startswith(f"pipecat-ops/T0001/{ALERT_CHANNEL}/")
    async with rig.store.engine.begin() as conn:  # the database as it was before revision 0008
        await conn.execute(delete(pager_namespace))
    rig.slack.start_outage(EVERYTHING, until=rig.clock.now() + timedelta(hours=1))
    upgraded = await rig.new_service(status_interval=120, pagerduty=pagerduty_client)
    for _ in range(3):
        rig.clock.advance(120)
        await upgraded.jobs.status_cycle()
    assert await rig.store.open_conditions(AGENT)
    assert alert.status == "triggered" and [e.action for e in pagerduty_standin.requests] == ["trigger"]
    assert await rig.store.pager_namespace("unused", rig.clock.now()) == "T0001"
