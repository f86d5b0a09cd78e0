"""PagerDuty and the Slack parent give one count: both read the incident's `session_count`, and a
grown incident's update (bot/alerts/paging/plan.py, at most every policy.PAGE_UPDATE_EVERY, shorter
than a poll) goes out in the same delivery pass as the parent's edit."""

from __future__ import annotations

from bot.pagerduty.client import PagerDutyClient
from sandbox.pagerduty.standin import PagerDutyStandIn
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"


async def test_pagerduty_says_the_count_the_parent_says_after_every_cycle(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    rig = alert_rig
    await rig.new_service(pagerduty=pagerduty_client)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    for burst in (2, 10, 1):  # the page opens at 2; a burst of 10 (one roll-up); then one more
        for _ in range(burst):
            rig.sim.add_session(AGENT, "HTTP_ERROR")
        await rig.cycle()
        [incident] = await rig.store.incidents_for(ALERT_CHANNEL)
        [parent] = rig.top()
        [alert] = pagerduty_standin.alerts
        said = f"{AGENT}: {incident.session_count} sessions failed"
        assert parent.text.startswith(said) and alert.summary.startswith(said), (parent.text, alert.summary)
        assert alert.payload["custom_details"]["failed_sessions"] == incident.session_count
    assert incident.session_count == 13 and alert.triggers == 3
    for _ in range(3):
        await rig.cycle()  # nothing new: nothing sent
    assert alert.triggers == 3
