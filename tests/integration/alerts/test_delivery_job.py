"""Delivery is its own scheduler job (issue 10, item 3): one agent whose poll hangs never holds
back another channel's alert, and enqueued rows wake delivery at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from bot.alerts.scheduler import start_scheduler
from tests.fixtures_pipecat import ClientFactory
from tests.fixtures_slack import INCIDENT_CHANNEL
from tests.fixtures_store import ALERT_CHANNEL, AlertRig


async def test_an_agent_whose_poll_hangs_does_not_delay_another_channels_alert(
    alert_rig: AlertRig, pipecat_client_factory: ClientFactory
) -> None:
    rig = alert_rig
    rig.sim.add_agent("slow-bot")
    # A client that waits a long time for Pipecat: the slow agent's poll is stuck for the test.
    await rig.new_service(pipecat=pipecat_client_factory(timeout=httpx.Timeout(60)))
    await rig.svc.watch(ALERT_CHANNEL, "slow-bot", None, None, "U0STEVE")
    await rig.svc.watch(INCIDENT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("slow-bot", "HTTP_ERROR")
    fast = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.clock.advance(60)
    rig.sim.hang_next(1, path_contains="/agents/slow-bot/sessions")
    scheduler = start_scheduler(rig.jobs, interval_seconds=3600, status_interval_seconds=0, housekeeping=())
    try:

        def replied() -> bool:
            top = rig.top(INCIDENT_CHANNEL)
            return len(top) == 1 and len(rig.replies(top[0], INCIDENT_CHANNEL)) == 1

        await rig.slack.wait_until(replied, within=10)
        assert rig.sim.hanging == 1  # ... while the slow agent's poll is still stuck
        [parent] = rig.top(INCIDENT_CHANNEL)
        assert [m.event_payload["session_id"] for m in rig.replies(parent, INCIDENT_CHANNEL)] == [fast]
        assert rig.top(ALERT_CHANNEL) == []
        rig.sim.release_hangs()
        await rig.slack.wait_until(lambda: len(rig.top(ALERT_CHANNEL)) == 1, within=10)
        await rig.slack.wait_until(lambda: len(rig.replies(rig.top(ALERT_CHANNEL)[0])) == 1, within=10)
    finally:
        rig.sim.release_hangs()
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)


async def test_rows_enqueued_by_a_poll_wake_the_delivery_job(alert_rig: AlertRig) -> None:
    rig = alert_rig
    woken: list[int] = []
    rig.jobs.set_delivery_waker(lambda: woken.append(1))
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    await rig.jobs.poll_once()
    assert woken == []  # nothing enqueued, nothing to wake for
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.clock.advance(60)
    await rig.jobs.poll_once()
    assert woken == [1]  # after the commit of the poll that enqueued the alert


async def test_a_click_just_after_a_post_is_shown_by_the_next_pass_not_a_later_tick(alert_rig: AlertRig) -> None:
    """Posts to a channel are spaced (a 1 s back-off after each). An acknowledgement clicked inside
    that second finds the channel backed off; the delivery it wakes waits the spacing out and edits
    the parent, instead of skipping the channel until some later tick."""
    rig = alert_rig
    waited: list[float] = []

    async def sleep(seconds: float) -> None:  # the simulator's clock moves instead of the wall's
        waited.append(seconds)
        rig.clock.advance(seconds)

    await rig.new_service(post_spacing=timedelta(seconds=1), sleep=sleep)
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    assert len(rig.replies(parent)) == 1 and len(waited) == 1  # the reply waited one spacing
    assert (await rig.svc.acknowledge(ALERT_CHANNEL, parent.ts, "U0ACK")) is not None  # inside the second
    assert "Acknowledged by" not in str(rig.top()[0].blocks)  # the channel was backed off
    await rig.jobs.deliver_once()  # what the wake runs
    assert len(waited) == 2
    assert "*Acknowledged* by <@U0ACK>" in str(rig.top()[0].blocks)


async def test_a_channel_that_gets_alerts_while_another_drains_is_posted_to_beside_it(alert_rig: AlertRig) -> None:
    """The storm's lesson: a pass drains its channel at 1 post/s (14 posts: 13 s). Alerts for
    another channel enqueued meanwhile go out beside it, not after it."""
    rig = alert_rig
    held = await two_channels_spaced_until_let_go(rig)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.jobs.poll_once()
    draining = asyncio.ensure_future(rig.jobs.run_delivery())  # the delivery job
    try:
        await rig.slack.wait_until(lambda: len(rig.top()) == 1)  # the parent; its reply waits the spacing
        rig.sim.add_session("other-bot", "HTTP_ERROR")
        rig.clock.advance(5)
        await rig.jobs.poll_once()  # enqueues: the wake finds the job busy with ALERT_CHANNEL
        await rig.slack.wait_until(lambda: len(rig.top(INCIDENT_CHANNEL)) == 1, within=10)
        assert rig.replies(rig.top()[0]) == []  # ...still held: the other channel did not wait for it
    finally:
        held.set()
        await asyncio.wait_for(draining, timeout=10)
    await rig.slack.wait_until(lambda: len(rig.replies(rig.top()[0])) == 1, within=10)


async def test_passes_that_pile_up_behind_a_draining_channel_run_once_not_once_each(alert_rig: AlertRig) -> None:
    """In a storm every agent recorded wakes delivery while a channel drains at 1 post/s. The
    passes that then wait for that channel join the one already waiting (it starts after the drain
    and reads every row enqueued by then) instead of each running a pass of its own after it."""
    rig = alert_rig
    held = asyncio.Event()

    async def sleep(seconds: float) -> None:  # the spacing between posts, held until the test lets go
        await held.wait()
        rig.clock.advance(seconds)

    await rig.new_service(post_spacing=timedelta(seconds=1), sleep=sleep)
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    for _ in range(2):
        rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.jobs.poll_once()
    store = rig.store
    close_quiet, list_channels = store.close_quiet_incidents, store.channels_with_work
    passes: list[str] = []
    listed = asyncio.Event()
    lists = 0

    async def counted_pass(channel_id: str, *args: Any, **kwargs: Any) -> int:  # each pass starts with it
        passes.append(channel_id)
        return await close_quiet(channel_id, *args, **kwargs)

    async def counted_list(*args: Any, **kwargs: Any) -> list[str]:
        nonlocal lists
        found = await list_channels(*args, **kwargs)
        lists += 1
        if lists == 5:  # the draining pass and the four that follow have picked their channels
            listed.set()
        return found

    store.close_quiet_incidents = counted_pass  # type: ignore[method-assign]
    store.channels_with_work = counted_list  # type: ignore[method-assign]
    draining = asyncio.ensure_future(rig.jobs.deliver_once())
    await rig.slack.wait_until(lambda: len(rig.top()) == 1)  # the parent; its replies wait the spacing
    later = [asyncio.ensure_future(rig.jobs.deliver_once()) for _ in range(4)]
    await asyncio.wait_for(listed.wait(), timeout=10)
    for _ in range(3):
        await asyncio.sleep(0)  # each reaches the channel: the first queues, the others join it
    held.set()
    await asyncio.wait_for(asyncio.gather(draining, *later), timeout=10)
    assert passes.count(ALERT_CHANNEL) == 2  # the drain, then one pass for the four
    [parent] = rig.top()
    assert len(rig.replies(parent)) == 2


async def test_a_channel_whose_back_off_ends_while_another_drains_is_served_at_the_next_tick(
    alert_rig: AlertRig,
) -> None:
    """After an outage each channel's back-off ends at its own time. One channel draining its held
    posts at 1 post/s (for up to a pass budget, 20 s) must not hold the others back: the delivery
    job's next tick serves a channel whose back-off ended beside the drain."""
    rig = alert_rig
    held = await two_channels_spaced_until_let_go(rig)
    now = rig.clock.now()
    await rig.store.hold_destination(INCIDENT_CHANNEL, now + timedelta(seconds=30), 3, None, now)  # Slack failed there
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.sim.add_session("other-bot", "HTTP_ERROR")
    await rig.jobs.poll_once()
    draining = asyncio.ensure_future(rig.jobs.tick_delivery())  # the delivery job
    try:
        await rig.slack.wait_until(lambda: len(rig.top()) == 1)  # the parent; its reply waits the spacing
        assert rig.top(INCIDENT_CHANNEL) == []  # backed off
        rig.clock.advance(31)  # ...until now
        await rig.jobs.tick_delivery()  # the next tick, the drain still running
        await rig.slack.wait_until(lambda: len(rig.top(INCIDENT_CHANNEL)) == 1, within=10)
        assert rig.replies(rig.top()[0]) == []  # the drain is still held at its spacing
    finally:
        held.set()
        await asyncio.wait_for(draining, timeout=10)
    await rig.jobs.tick_delivery()  # a later tick: the rest of both channels
    await rig.slack.wait_until(lambda: len(rig.replies(rig.top()[0])) == 1, within=10)
    incident = rig.top(INCIDENT_CHANNEL)[0]
    await rig.slack.wait_until(lambda: len(rig.replies(incident, INCIDENT_CHANNEL)) == 1, within=10)


async def two_channels_spaced_until_let_go(rig: AlertRig) -> asyncio.Event:
    """voice-bot watched in ALERT_CHANNEL, other-bot in INCIDENT_CHANNEL, posts spaced by 1 s, and
    every spacing wait held until the returned event is set (a drain that is still running)."""
    held = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await held.wait()
        rig.clock.advance(seconds)

    await rig.new_service(post_spacing=timedelta(seconds=1), sleep=sleep)
    rig.sim.add_agent("other-bot")
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    await rig.svc.watch(INCIDENT_CHANNEL, "other-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    return held
