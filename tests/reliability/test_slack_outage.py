"""Slack down for long stretches on the simulator's clock (issue 10, item 2): alerts are retried
through OUTBOX_GIVE_UP_HOURS of trouble; what is finally given up is never silent (counted on
`/session watches`, summarised ONCE to the channel when Slack works again); nothing is posted
twice. Every chat.postMessage and chat.update answers 503 meanwhile; reads keep working."""

from __future__ import annotations

from datetime import timedelta

from bot.blocks.alert_watches import watches_message
from bot.store.records import OutboxState
from tests.fixtures_store import ALERT_CHANNEL, AlertRig
from tests.outage_checks import alert_sessions, keys_posted_twice

AGENT = "voice-bot"


async def settle(rig: AlertRig, step: float = 60, rounds: int = 30) -> None:
    """Cycle until no row waits any more (the longest back-off is 5 minutes), nor any given-up
    row waits to be summarised."""
    for _ in range(rounds):
        await rig.cycle(step)
        rows = await rig.store.outbox_rows()
        waiting = {r.state for r in rows} & {"pending", "uncertain", "sending"}
        if not waiting and not await rig.store.unreported(ALERT_CHANNEL):
            return
    raise AssertionError("rows still waiting after the outage")


async def test_slack_down_for_30_minutes_on_the_simulators_clock_loses_nothing_and_duplicates_nothing(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.clock.advance(5)
    failed = [rig.sim.add_session(AGENT, "HTTP_ERROR")]
    await rig.cycle(30)
    rig.slack.start_outage(until=rig.clock.now() + timedelta(minutes=30))
    for tick in range(59):
        if tick % 4 == 0:
            failed.append(rig.sim.add_session(AGENT, "HTTP_ERROR"))
        await rig.cycle(30)
    assert len(alert_sessions(rig.slack, ALERT_CHANNEL)) == 1  # down all along: only the first one
    await settle(rig)
    assert {r.state for r in await rig.store.outbox_rows()} == {OutboxState.SENT}  # 0 lost
    assert alert_sessions(rig.slack, ALERT_CHANNEL) == dict.fromkeys(failed, 1)
    assert keys_posted_twice(rig.slack, ALERT_CHANNEL) == []  # 0 duplicated
    assert not [m for m in rig.top() if "could not be delivered" in m.text]  # nothing was given up


async def test_slack_down_for_25_hours_gives_up_after_24_and_tells_the_channel_once(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.clock.advance(5)
    before = rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle(30)
    start = rig.clock.now()
    rig.slack.start_outage(until=start + timedelta(hours=25))
    early = []
    for minute in (1, 10):
        rig.clock.set(start + timedelta(minutes=minute))
        early.append(rig.sim.add_session(AGENT, "HTTP_ERROR"))
        await rig.cycle(30)
    late = None
    while rig.clock.now() < start + timedelta(hours=24, minutes=50):
        if late is None and rig.clock.now() >= start + timedelta(hours=23):
            late = rig.sim.add_session(AGENT, "HTTP_ERROR")
        await rig.cycle(600)  # every 10 minutes: longer than the longest back-off
    assert late is not None
    # Still down: the early alerts were retried for 24 hours, then given up, and that shows.
    states = {r.session_id: r.state for r in await rig.store.outbox_rows(kind="alert")}
    assert [states[s] for s in early] == [OutboxState.DEAD, OutboxState.DEAD] and states[late] != OutboxState.DEAD
    [view] = await rig.svc.watches(ALERT_CHANNEL)
    assert view.undelivered == 2
    assert "2 alerts undelivered" in str(watches_message([view]).blocks)
    assert len(alert_sessions(rig.slack, ALERT_CHANNEL)) == 1
    rig.clock.set(start + timedelta(hours=25))
    await settle(rig)
    summaries = [m for m in rig.top() if "could not be delivered" in m.text]
    [summary] = summaries
    assert "2 alerts could not be delivered" in summary.text
    listing = str(summary.blocks)
    assert all(s in listing for s in early) and late not in listing and before not in listing
    assert "between" in listing
    delivered = alert_sessions(rig.slack, ALERT_CHANNEL)
    assert delivered == {before: 1, late: 1}  # the late one made it within its budget
    assert keys_posted_twice(rig.slack, ALERT_CHANNEL) == []
    for _ in range(5):  # more passes: still one summary
        await rig.cycle(300)
    assert len([m for m in rig.top() if "could not be delivered" in m.text]) == 1
