"""Several replicas share the polls (issue 15, item 3): each agent is polled once per interval
across them, the work splits evenly, and a replica that stops hands its share over."""

from __future__ import annotations

from collections import Counter

from bot.wiring import Alerts
from tests.fixtures_store import ALERT_CHANNEL, POLL_INTERVAL, AlertRig

AGENTS = [f"bot-{i:02d}" for i in range(12)]


def polls_per_agent(rig: AlertRig, since: int) -> Counter[str]:
    """`status=all` list requests (one per poll) per agent since request index `since`."""
    return Counter(
        q.path.strip("/").split("/")[2]
        for q in rig.sim.requests[since:]
        if q.path.endswith("/sessions") and q.query.get("status") == "all"
    )


async def three_replicas(rig: AlertRig) -> list[Alerts]:
    replicas = [await rig.new_service(replica_id=f"replica-{i}") for i in range(3)]
    for agent in AGENTS:
        rig.sim.add_agent(agent)
        await replicas[0].commands.watch(ALERT_CHANNEL, agent, None, None, "U0STEVE")
    return replicas


async def test_three_replicas_poll_each_agent_once_an_interval_and_split_the_work(alert_rig: AlertRig) -> None:
    rig = alert_rig
    replicas = await three_replicas(rig)
    # Their cycles are spread over the interval, as the scheduler's jitter leaves them.
    for _ in range(2):  # warm-up: the first cycle finds the others not polling yet
        for replica in replicas:
            rig.clock.advance(POLL_INTERVAL / 3)
            await replica.jobs.poll_once()
    for _ in range(3):
        before = len(rig.sim.requests)
        done = []
        for replica in replicas:
            rig.clock.advance(POLL_INTERVAL / 3)
            start = len(rig.sim.requests)
            await replica.jobs.poll_once()
            done.append(sum(polls_per_agent(rig, start).values()))
        assert polls_per_agent(rig, before) == Counter({agent: 1 for agent in AGENTS})  # once, by someone
        assert done == [4, 4, 4]  # a third each


async def test_a_replica_that_stops_hands_its_share_over_at_the_next_cycle(alert_rig: AlertRig) -> None:
    rig = alert_rig
    replicas = await three_replicas(rig)
    for _ in range(2):
        for replica in replicas:
            rig.clock.advance(POLL_INTERVAL / 3)
            await replica.jobs.poll_once()
    await replicas[2].jobs.leave()
    for _ in range(2):
        before = len(rig.sim.requests)
        for replica in replicas[:2]:
            rig.clock.advance(POLL_INTERVAL / 2)
            await replica.jobs.poll_once()
        assert polls_per_agent(rig, before) == Counter({agent: 1 for agent in AGENTS})


async def test_one_replica_alone_polls_every_agent_every_cycle_however_soon(alert_rig: AlertRig) -> None:
    rig = alert_rig
    for agent in AGENTS[:3]:
        rig.sim.add_agent(agent)
        await rig.svc.watch(ALERT_CHANNEL, agent, None, None, "U0STEVE")
    before = len(rig.sim.requests)
    await rig.jobs.poll_once()
    rig.clock.advance(1)  # a cycle run by hand right after the last (the demo's "poll now")
    await rig.jobs.poll_once()
    assert polls_per_agent(rig, before) == Counter({agent: 2 for agent in AGENTS[:3]})
