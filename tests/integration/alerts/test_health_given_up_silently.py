"""A health alert (crash loop, agent unavailable, at capacity) held by Slack trouble past the
give-up budget is not dropped quietly: like a failed session's alert it is counted on `/session
watches` and listed, with what it said, in the channel's "N alerts could not be delivered" summary
once Slack works again.

Mechanism: bot/alerts/delivery/transitions.py `_reported` includes OutboxKind.HEALTH, so its given-up transition
sets given_up; bot/store/undelivered.py `unreported` then hands it to the summary (bot/alerts/
incidents.py `_item` carries the alert's title) and `undelivered_counts` counts it per watch."""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"


async def test_a_given_up_health_alert_is_reported(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=120, give_up_after=timedelta(hours=1))
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.slack.start_outage(until=rig.clock.now() + timedelta(hours=2))
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    for _ in range(75):  # 2.5 hours of status reads and deliveries, Slack back after 2
        rig.clock.advance(120)
        await rig.jobs.status_cycle()
    [row] = [r for r in await rig.store.outbox_rows(ALERT_CHANNEL) if r.kind == "health"]
    text = " ".join(f"{m.text}" for m in rig.top())
    print(
        "health row:",
        row.state,
        "|",
        (row.last_error or "")[:60],
        "| channel now shows:",
        [m.text[:60] for m in rig.top()],
    )
    assert "crash" in text.lower() or "could not be delivered" in text, "the crash-loop alert vanished without a trace"


async def test_the_summary_names_the_given_up_health_alert_and_the_watch_counts_it(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=120, give_up_after=timedelta(hours=1))
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.slack.start_outage(until=rig.clock.now() + timedelta(hours=2))
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    for _ in range(75):
        rig.clock.advance(120)
        await rig.jobs.status_cycle()
    [summary] = [m for m in rig.top() if "could not be delivered" in m.text]
    assert "health alert (Revision " in str(summary.blocks) and "is crash-looping" in str(summary.blocks)
    [view] = await rig.svc.watches(ALERT_CHANNEL)
    assert view.undelivered == 1
