"""A busy agent's poll (sessions running) over real HTTP: the active walk lists the running
sessions once, and the window walk reads ended sessions only as deep as it needs
(bot/alerts/poll/poller.py `_observe`, bot/alerts/policy.py LATE_LISTING_ALLOWANCE).

The rig pages 5 sessions at a time and polls every 60 s, so the overlap is 3 minutes and the
allowance 1 minute."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts import policy
from bot.rates.counts import total
from tests.fixtures_pipecat import SIM_MAX_PAGE_SIZE
from tests.fixtures_store import ALERT_CHANNEL, POLL_INTERVAL, AlertRig

AGENT = "voice-bot"
#: Ended sessions each poll records: two pages of the rig's simulator.
BATCH = 2 * SIM_MAX_PAGE_SIZE
#: How long before each poll a batch's sessions were created (they lasted 4 s).
BATCH_AGE = 34.0


def ended_walks(rig: AlertRig) -> list[int]:
    """Offsets of the status=ended list requests since the simulator's log was cleared."""
    return [
        int(r.query.get("offset", "0"))
        for r in rig.sim.requests
        if r.path.endswith(f"/agents/{AGENT}/sessions") and r.query.get("status") == "ended"
    ]


def session_gets(rig: AlertRig, sid: str) -> int:
    return len([r for r in rig.sim.requests if r.path.endswith(f"/sessions/{sid}")])


async def busy_with_history(rig: AlertRig, polls: int = 3) -> datetime:
    """A watched agent with one call running throughout and BATCH completed calls recorded by each
    of `polls` polls, 60 s apart: the 3-minute overlap then holds `polls` batches. Returns the
    last poll's time (the watermark the next poll reads from)."""
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.sim.start_session(AGENT)  # running before the watch: the active set is never empty
    for _ in range(polls):
        rig.clock.advance(POLL_INTERVAL - BATCH_AGE)
        for _ in range(BATCH):
            rig.sim.add_session(AGENT, "HTTP_COMPLETED", duration_seconds=4)
        await rig.cycle(advance=BATCH_AGE)
    return rig.clock.now()


async def test_a_busy_agents_poll_stops_reading_ended_sessions_below_the_allowance(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await busy_with_history(rig)
    rig.sim.requests.clear()
    await rig.cycle()
    # The newest batch (34 s before the last poll) fills two pages; the third page reaches the batch
    # before it (94 s before: below the 60 s allowance) and the walk stops there. The overlap holds
    # three batches: reading all of it would take six pages.
    assert ended_walks(rig) == [0, SIM_MAX_PAGE_SIZE, 2 * SIM_MAX_PAGE_SIZE]
    assert rig.posts() == []


async def test_the_walk_goes_deeper_for_a_session_that_left_the_active_set(alert_rig: AlertRig) -> None:
    rig = alert_rig
    last_poll = await busy_with_history(rig, polls=2)
    # A call created 100 s before the last poll, running at the next one, ending before the one
    # after: created inside that poll's overlap but well below its allowance (60 s before the
    # watermark). Its end is read from the list, not fetched on its own.
    long_call = rig.sim.start_session(AGENT, created_at=last_poll - timedelta(seconds=100))
    await rig.cycle()
    assert await rig.store.unseen(AGENT, [long_call]) == {long_call}
    rig.sim.end_session(AGENT, long_call, "HTTP_COMPLETED")
    rig.sim.requests.clear()
    await rig.cycle()
    assert await rig.store.unseen(AGENT, [long_call]) == set()
    assert session_gets(rig, long_call) == 0
    assert len(ended_walks(rig)) > 3  # past the page where the allowance alone would stop


async def test_a_session_listed_late_within_the_allowance_alerts(alert_rig: AlertRig) -> None:
    rig = alert_rig
    last_poll = await busy_with_history(rig)
    # It appears in the list only after the last poll, though created 45 s before it.
    late = rig.sim.start_session(AGENT, created_at=last_poll - timedelta(seconds=45))
    rig.sim.end_session(AGENT, late, "HTTP_ERROR")
    assert timedelta(seconds=45) < policy.LATE_LISTING_ALLOWANCE
    await rig.cycle()
    alerted = [p for p in rig.posts() if late in str(p.args)]
    assert alerted, "the late-listed failure was not alerted"


async def test_a_running_session_listed_late_is_counted_as_started(alert_rig: AlertRig) -> None:
    rig = alert_rig
    last_poll = await busy_with_history(rig)
    since = last_poll - timedelta(minutes=10)
    before = total(await rig.store.rate_minutes(AGENT, since), since, last_poll + timedelta(minutes=5)).started
    # Running, created before the last poll's watermark, listed only now: nothing else to record,
    # yet rates must count it as started.
    rig.sim.start_session(AGENT, created_at=last_poll - timedelta(seconds=20))
    await rig.cycle()
    after = total(await rig.store.rate_minutes(AGENT, since), since, last_poll + timedelta(minutes=5)).started
    assert after == before + 1


async def test_running_sessions_are_counted_as_started_once(alert_rig: AlertRig) -> None:
    rig = alert_rig
    last_poll = await busy_with_history(rig)
    since = last_poll - timedelta(minutes=10)
    for _ in range(3):
        rig.sim.start_session(AGENT)
    await rig.cycle()
    counted = total(await rig.store.rate_minutes(AGENT, since), since, last_poll + timedelta(minutes=5)).started
    await rig.cycle()
    await rig.cycle()
    assert total(await rig.store.rate_minutes(AGENT, since), since, last_poll + timedelta(minutes=5)).started == counted
