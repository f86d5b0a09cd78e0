"""Muting an agent silences it in PagerDuty as in Slack, health conditions included: a
crash-looping revision of a muted agent is recorded without a Slack post and pages nobody, on
every paging watch of the muted channel.

Where: bot/alerts/paging/pager.py `Pager._sync_conditions` reads the channel's active mutes and records an
occurrence that opens while muted as `muted` (bot/store/pager.py `record_muted_pager_alert`), so it
is never paged, not when the mute ends either; bot/alerts/paging/plan.py `plan_page` opens no
incident page and sends no update while muted.
"""

from __future__ import annotations

from datetime import timedelta

from bot.pagerduty.client import PagerDutyClient
from sandbox.pagerduty.standin import PagerDutyStandIn
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
    await rig.jobs.status_cycle()
    assert rig.top() == []  # Slack: muted, as documented
    assert pagerduty_standin.alerts == [], "the muted agent paged the on-call"


async def status_cycles(rig: AlertRig, count: int, seconds: float = 120) -> None:
    for _ in range(count):
        rig.clock.advance(seconds)
        await rig.jobs.status_cycle()


async def test_unmuting_does_not_replay_a_condition_that_opened_while_muted(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=120, pagerduty=pagerduty_client)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE", page=True)
    await rig.svc.mute(ALERT_CHANNEL, AGENT, timedelta(hours=1), "U0STEVE")
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    await status_cycles(rig, 5)
    assert await rig.store.open_conditions(AGENT)  # it is crash-looping, and recorded
    assert pagerduty_standin.requests == []
    assert await rig.svc.unmute(ALERT_CHANNEL, AGENT)
    await status_cycles(rig, 5)  # still crash-looping, now unmuted: that occurrence stays silent
    assert await rig.store.open_conditions(AGENT)
    assert pagerduty_standin.requests == [], "unmuting paged what opened while muted"
    rig.sim.deploy(AGENT)  # fixed: it clears without a resolve (nothing was ever sent)
    await status_cycles(rig, 20)
    assert await rig.store.open_conditions(AGENT) == []
    assert pagerduty_standin.requests == []
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom again")
    await status_cycles(rig, 5)  # a new occurrence, unmuted: it pages
    [alert] = pagerduty_standin.alerts
    assert (alert.status, alert.severity) == ("triggered", "critical")


async def test_a_mute_keeps_an_open_page_open_and_it_still_resolves(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    """Muting after the page went out does not pretend the agent is fixed: the alert stays open
    (the on-call knows), and resolves when the condition clears."""
    rig = alert_rig
    await rig.new_service(status_interval=120, pagerduty=pagerduty_client)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE", page=True)
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    await status_cycles(rig, 5)
    [alert] = pagerduty_standin.alerts
    await rig.svc.mute(ALERT_CHANNEL, AGENT, timedelta(hours=4), "U0STEVE")
    await status_cycles(rig, 3)
    assert alert.status == "triggered" and [e.action for e in pagerduty_standin.requests] == ["trigger"]
    rig.sim.deploy(AGENT)
    await status_cycles(rig, 20)
    assert alert.status == "resolved" and len(pagerduty_standin.alerts) == 1
