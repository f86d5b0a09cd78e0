"""A replica started during a Slack outage still pages: PagerDuty dedup keys are made in the
installation's namespace, stored in the database once (bot/store/pager.py `pager_namespace`,
bot/alerts/pager.py `Pager._namespace`), not from the Slack team id that auth.test gave each
process. The escalation path works exactly when the primary channel does not.
"""

from __future__ import annotations

from datetime import timedelta

from bot.pagerduty.client import PagerDutyClient
from bot.sandbox.pagerduty_standin import PagerDutyStandIn
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
EVERYTHING = frozenset({
    "auth.test", "chat.postMessage", "chat.update", "chat.getPermalink", "conversations.history",
    "conversations.replies", "views.publish",
})


async def test_a_replica_started_during_a_slack_outage_still_pages(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    rig = alert_rig
    first = await rig.new_service(pagerduty=pagerduty_client)
    await first.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    rig.slack.start_outage(EVERYTHING, until=rig.clock.now() + timedelta(hours=1))
    await rig.new_service(pagerduty=pagerduty_client)  # restarted while Slack is down
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    for _ in range(10):  # 10 minutes of an incident nobody is told about
        await rig.cycle()
    [incident] = await rig.svc.store.incidents_for(ALERT_CHANNEL)
    print("incident open:", incident.closed_at is None, "| PagerDuty events:", [e.action for e in pagerduty_standin.requests])
    assert pagerduty_standin.alerts, "no page while Slack is down"
