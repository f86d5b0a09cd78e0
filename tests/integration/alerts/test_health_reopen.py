"""Agent health alerts over time, over real HTTP (simulator, Slack stand-in, PagerDuty stand-in,
SQLite): a condition back within HEALTH_REOPEN_WITHIN of clearing reopens its alert (the same
Slack message, the same PagerDuty dedup key) instead of opening a new one; a resolved alert keeps
its evidence and says how long it lasted; a condition that clears while the agent is muted still
gets its "Resolved" edit (an edit notifies nobody), without a reply."""

from __future__ import annotations

import math
from datetime import timedelta

from bot.alerts import policy
from bot.pagerduty.client import PagerDutyClient
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.slack.model import StoredMessage
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
INTERVAL = 120.0
READS_TO_OPEN = policy.HEALTH_OPEN_AFTER_READS
READS_TO_CLEAR = math.ceil(policy.HEALTH_CLEAR_AFTER.total_seconds() / INTERVAL) + 1
TRACEBACK = 'Traceback (most recent call last):\n  File "/app/bot.py", line 3\nRuntimeError: boom'


async def reads(rig: AlertRig, n: int) -> None:
    for _ in range(n):
        rig.clock.advance(INTERVAL)
        await rig.jobs.status_cycle()


def text_of(message: StoredMessage) -> str:
    return f"{message.text} {message.blocks}"


async def test_a_condition_back_within_30_minutes_reopens_its_alert_and_its_page(
    alert_rig: AlertRig, pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=INTERVAL, pagerduty=pagerduty_client)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE", page=True)
    rig.sim.set_available(AGENT, False)
    await reads(rig, READS_TO_OPEN)
    [alert] = rig.top()
    [page] = pagerduty_standin.alerts
    rig.sim.set_available(AGENT, True)
    await reads(rig, READS_TO_CLEAR)
    [alert] = rig.top()
    assert "Resolved" in alert.text and page.status == "resolved"
    rig.clock.advance(10 * 60)  # back 10 minutes after it cleared
    rig.sim.set_available(AGENT, False)
    await reads(rig, READS_TO_OPEN)
    [alert] = rig.top()  # no second top-level post
    assert "Resolved" not in alert.text and "not available" in alert.text
    assert "came back" in text_of(alert)
    recovered, back = rig.replies(alert)
    assert "Recovered" in recovered.text and "Back again" in back.text
    assert {a.dedup_key for a in pagerduty_standin.alerts} == {page.dedup_key}  # the same PagerDuty key
    assert pagerduty_standin.alerts[-1].status == "triggered"
    # It clears again: the same post resolves again, with a second recovery reply.
    rig.sim.set_available(AGENT, True)
    await reads(rig, READS_TO_CLEAR)
    [alert] = rig.top()
    assert "Resolved" in alert.text and len(rig.replies(alert)) == 3
    assert all(a.status == "resolved" for a in pagerduty_standin.alerts)


async def test_a_condition_back_after_30_minutes_is_a_new_alert(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=INTERVAL)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.sim.set_available(AGENT, False)
    await reads(rig, READS_TO_OPEN)
    rig.sim.set_available(AGENT, True)
    await reads(rig, READS_TO_CLEAR)
    rig.clock.advance(policy.HEALTH_REOPEN_WITHIN.total_seconds())
    rig.sim.set_available(AGENT, False)
    await reads(rig, READS_TO_OPEN)
    first, second = rig.top()
    assert "Resolved" in first.text and "not available" in second.text and "Resolved" not in second.text
    assert "came back" not in text_of(second)


async def test_a_resolved_crash_alert_keeps_its_traceback_restarts_and_exit_code(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=INTERVAL)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK)
    await reads(rig, READS_TO_OPEN)
    rig.sim.deploy(AGENT)
    await reads(rig, READS_TO_CLEAR)
    [alert] = rig.top()
    blocks = str(alert.blocks)
    assert "Resolved" in alert.text
    assert "RuntimeError: boom" in blocks and "restart(s)" in blocks and "last exit code 1" in blocks
    assert "Resolved <!date^" in blocks and " after 1" in blocks  # how long it lasted ("after 10m 00s")


async def test_a_condition_that_clears_while_muted_is_still_shown_resolved(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=INTERVAL)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.sim.set_available(AGENT, False)
    await reads(rig, READS_TO_OPEN)
    [alert] = rig.top()
    await rig.svc.mute(ALERT_CHANNEL, AGENT, timedelta(hours=1), "U0STEVE")
    rig.sim.set_available(AGENT, True)
    await reads(rig, READS_TO_CLEAR)
    [alert] = rig.top()
    assert alert.edited and "Resolved" in alert.text  # the channel no longer says it refuses calls
    assert rig.replies(alert) == []  # muted: no recovery reply
    await rig.svc.unmute(ALERT_CHANNEL, AGENT)
    await reads(rig, 2)
    assert rig.replies(rig.top()[0]) == [] and len(rig.top()) == 1  # unmuting replays nothing
