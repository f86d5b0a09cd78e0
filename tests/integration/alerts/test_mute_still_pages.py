"""Muting an agent silences it in PagerDuty as in Slack, health conditions included: a
crash-looping revision of a muted agent is recorded without a Slack post and pages nobody, on
every paging watch of the muted channel.

Where: bot/alerts/pager.py `Pager._sync_conditions` reads the channel's active mutes and records an
occurrence that opens while muted as `muted` (bot/store/pager.py `record_muted_pager_alert`), so it
is never paged, not when the mute ends either; bot/alerts/page_plan.py `plan_page` opens no
incident page and sends no update while muted.
"""

from __future__ import annotations

from datetime import timedelta

from bot.pagerduty.client import PagerDutyClient
from bot.sandbox.pagerduty_standin import PagerDutyStandIn
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"


async def test_a_muted_agent_does_not_page_its_health_conditions(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=120, pagerduty=pagerduty_client)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE", page=True)
    await rig.svc.mute(ALERT_CHANNEL, AGENT, timedelta(hours=4), "U0STEVE")  # planned maintenance
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    rig.clock.advance(120)
    await rig.svc.status_cycle()
    print("Slack posts:", len(rig.top()), "| PagerDuty:", [(a.severity, a.summary) for a in pagerduty_standin.alerts])
    assert rig.top() == []  # Slack: muted, as documented
    assert pagerduty_standin.alerts == [], "the muted agent paged the on-call"
