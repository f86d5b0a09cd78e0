"""Several `python -m bot` replicas share the work through the database only, and nothing is
posted twice or lost: not when a replica is SIGKILLed mid-post, nor when one is paused past its
claim and lease and then resumes. ("Represented exactly once" is defined in
harness.assert_each_represented_exactly_once.)
"""

from __future__ import annotations

import asyncio

import pytest

from bot.store import Store
from bot.store.records import OutboxState
from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.slack.standin import SlackStandIn
from tests.reliability.harness import (
    AGENTS,
    ONE,
    THREE,
    TWO,
    WATCHES,
    Cluster,
    assert_each_represented_exactly_once,
    eventually,
    expected_alerts,
    fail_sessions,
    lease_owner,
    merge,
    outbox,
    wait_settled,
    watch_by_command,
    watch_in_store,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]

#: Failing sessions in the scale test, and the waves they come in (a few poll cycles apart).
SESSIONS = 200
WAVES = 4


@pytest.mark.parametrize(
    ("backend", "replicas"),
    [
        pytest.param("postgresql", 3, id="3-replicas-on-postgresql", marks=pytest.mark.postgres),
        pytest.param("sqlite", 2, id="2-replicas-on-one-sqlite-file"),
    ],
)
async def test_replicas_post_every_watch_session_exactly_once(
    backend: str, replicas: int, cluster: Cluster, shared_store: Store, sim: PipecatSimulator, standin: SlackStandIn
) -> None:
    started = await cluster.start(replicas)
    for n, (channel, agent) in enumerate(WATCHES):  # signed /session watch, round-robin over replicas
        await watch_by_command(started[n % len(started)], standin, channel, agent)
    failed: dict[str, list[str]] = {}
    per_wave = SESSIONS // WAVES
    for wave in range(WAVES):
        merge(failed, fail_sessions(sim, AGENTS, per_wave, start=wave * per_wave))
        await asyncio.sleep(0.3)  # spreads the failures over a few poll cycles (load shape, not a wait)
    assert sum(len(ids) for ids in failed.values()) == SESSIONS
    expected = await expected_alerts(shared_store, failed)
    await wait_settled(shared_store, expected, within=120)
    counts = await assert_each_represented_exactly_once(shared_store, standin, expected)
    assert counts["reply"] + counts["rollup"] == len(expected)
    cluster.assert_all_alive()
    print(f"{len(expected)} (watch, session) pairs on {replicas} replicas ({backend}): {counts}")


async def test_sigkill_of_a_replica_during_delivery_still_posts_exactly_once(
    backend: str, cluster: Cluster, shared_store: Store, sim: PipecatSimulator, standin: SlackStandIn
) -> None:
    await cluster.start(3 if backend == "postgresql" else 2)
    agents = AGENTS[:2]
    for channel, agent in ((ONE, agents[0]), (TWO, agents[0]), (THREE, agents[1])):
        await watch_in_store(shared_store, sim, channel, agent)
    # The first post Slack gets is stored, then its answer never comes: its sender is mid-delivery.
    standin.accept_then_hang_next("chat.postMessage", 1)
    failed = fail_sessions(sim, agents, 8)
    await standin.wait_until(lambda: standin.hanging == 1, within=30)
    hung = standin.calls_to("chat.postMessage")[0]  # the fault took the first post
    assert hung.status is None
    owner = await lease_owner(shared_store, str(hung.args["channel"]))
    assert owner is not None
    victim = cluster.by_replica_id(owner)
    cluster.kill(victim)  # SIGKILL: no clean-up; its claim and lease stay until they expire
    standin.release_hangs()
    merge(failed, fail_sessions(sim, agents, 4, start=8))  # the survivors keep polling
    expected = await expected_alerts(shared_store, failed)
    await wait_settled(shared_store, expected, within=90)
    await assert_each_represented_exactly_once(shared_store, standin, expected)
    method = "conversations.replies" if "thread_ts" in hung.args else "conversations.history"
    assert standin.calls_to(method), "the orphaned post was looked for before anything else"
    assert not victim.alive
    cluster.assert_all_alive(except_=[victim])


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sigstop_past_the_lease_then_sigcont_posts_no_duplicate(
    backend: str, cluster: Cluster, shared_store: Store, sim: PipecatSimulator, standin: SlackStandIn
) -> None:
    await cluster.start(2)
    await watch_in_store(shared_store, sim, TWO, AGENTS[0])
    # The first post fails with a 500 (nothing stored; to the app the outcome is unknown); the
    # re-check of the channel for it then hangs: its worker holds the claim, about to re-post.
    standin.fail_next("chat.postMessage", 1, status=500)
    standin.accept_then_hang_next("conversations.history", 1)
    failed = fail_sessions(sim, AGENTS[:1], 4)
    await standin.wait_until(lambda: standin.hanging == 1, within=60)
    [claimed] = [r for r in await outbox(shared_store) if r["state"] == OutboxState.SENDING]
    key = str(claimed["dedup_key"])
    owner = await lease_owner(shared_store, TWO)
    assert owner is not None
    paused = cluster.by_replica_id(owner)
    cluster.stop(paused)  # SIGSTOP holding the claim and the channel lease; both run out meanwhile

    async def taken_over() -> bool:
        return bool({r["dedup_key"]: r["state"] for r in await outbox(shared_store)}[key] == OutboxState.SENT)

    await eventually(taken_over, within=90, what="the other replica posted the paused one's row")
    standin.release_hangs()  # the answer the paused replica waits for is now in its socket
    before = len(paused.log())
    cluster.resume(paused)

    async def gave_up() -> bool:  # the pre-post fence, or the fenced record of its Slack timeout
        lines = paused.log()[before:].splitlines()
        return any(key in line and ("not posting" in line or "claim had passed" in line) for line in lines)

    await eventually(gave_up, within=60, what="the resumed replica dropped its stale claim")
    expected = await expected_alerts(shared_store, failed)
    await wait_settled(shared_store, expected, within=60)
    await assert_each_represented_exactly_once(shared_store, standin, expected)
    assert sum(1 for m in standin.messages_in(TWO) if m.metadata) == 1, "one incident parent"
    assert not standin.messages_in(ONE)
    cluster.assert_all_alive()
    await cluster.assert_all_healthy()
