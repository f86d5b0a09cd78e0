"""Store contract for polling's second stage (every backend): the planner runs inside the recording
transaction on the watches as they are then, and failing sessions are kept between polls."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain

import pytest

from bot.store import LeaseLost, Store
from bot.store.payloads import AlertPayload
from bot.store.polling import REPLICA_LIVE_INTERVALS, IdlePoll, RecordPlan
from bot.store.records import EndedSession, ItemFailure, NewPost, OutboxKind, Watch
from tests import store_reads

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
TTL = timedelta(minutes=2)
EVERY = timedelta(seconds=15)


async def test_the_planner_sees_a_watch_created_after_the_poll_started(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, [])
    await store.claim_poll("voice-bot", "r1", T0, TTL)
    # The poll is under way (its lease taken, its lists read) when a watch is created.
    watch, _ = await store.upsert_watch("C9", "voice-bot", {"HTTP_ERROR"}, None, "U1", T0 + timedelta(seconds=5))
    await store.set_mute("C9", "voice-bot", T0 + timedelta(hours=1), "U1", T0)
    seen_by_planner: list[tuple[list[int], list[tuple[str, str]]]] = []

    def planner(watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]) -> RecordPlan:
        seen_by_planner.append(([w.id for w in watches], sorted(mutes)))
        post = NewPost(
            f"{watches[0].id}:s1",
            OutboxKind.ALERT,
            "C9",
            "voice-bot",
            AlertPayload(session={"n": 1}),
            watches[0].id,
            "s1",
        )
        return RecordPlan(watermark=T0 + TTL, active_set=["s2"], ended=[EndedSession("s1", (post,))])

    now = T0 + timedelta(seconds=10)
    assert await store.record_poll("voice-bot", "r1", planner=planner, now=now) == 1
    assert seen_by_planner == [([watch.id], [("C9", "voice-bot")])]
    state = await store.poll_state("voice-bot")
    assert state is not None and (state.watermark, state.active_set) == (T0 + TTL, frozenset({"s2"}))


async def test_a_planner_never_runs_without_the_lease(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, [])
    await store.claim_poll("voice-bot", "r1", T0, TTL)
    await store.claim_poll("voice-bot", "r2", T0 + TTL * 2, TTL)
    calls: list[int] = []

    def planner(watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]) -> RecordPlan:
        calls.append(1)
        return RecordPlan(watermark=T0 + TTL)

    with pytest.raises(LeaseLost):
        await store.record_poll("voice-bot", "r1", planner=planner, now=T0 + TTL)
    assert calls == []


async def test_item_failures_are_kept_replaced_resolved_and_pruned_once_given_up(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, [])
    await store.claim_poll("voice-bot", "r1", T0, TTL)

    async def record(plan: RecordPlan, now: datetime) -> None:
        await store.record_poll("voice-bot", "r1", planner=lambda w, m: plan, now=now)

    await record(RecordPlan(item_failures=[ItemFailure("a", 1, "ValueError: x", T0), ItemFailure("b", 1, "E", T0)]), T0)
    await record(
        RecordPlan(
            item_failures=[ItemFailure("a", 2, "ValueError: y", T0, gave_up_at=T0 + TTL, first_failed_at=T0)],
            resolved_items=["b"],
        ),
        T0 + TTL,
    )
    [kept] = (await store_reads.item_failures(store, "voice-bot")).values()
    assert (kept.session_id, kept.attempts, kept.error, kept.gave_up_at, kept.first_failed_at) == (
        "a",
        2,
        "ValueError: y",
        T0 + TTL,
        T0,
    )
    await store.prune_seen(T0 + TTL + timedelta(seconds=1))
    assert await store_reads.item_failures(store, "voice-bot") == {}


async def test_a_cycle_claims_many_leases_at_once_and_skips_the_ones_held_elsewhere(store: Store) -> None:
    for agent in ("a-bot", "b-bot", "c-bot"):
        await store.seed_poll_state(agent, T0, [])
    await store.claim_poll("b-bot", "r2", T0, TTL)  # another replica is polling b-bot
    claimed = await store.claim_polls(["a-bot", "b-bot", "c-bot", "unseeded"], "r1", T0, TTL, interval=EVERY)
    assert sorted(claimed) == ["a-bot", "c-bot"] and claimed["a-bot"].watermark == T0
    assert await store.unpolled(["b-bot", "unseeded"]) == {"unseeded"}
    assert await store.claim_polls(["a-bot"], "r2", T0 + TTL / 2, TTL, interval=EVERY) == {}  # r1 holds it now
    # r1's leases ran out and it was not seen for REPLICA_LIVE_INTERVALS: r2 polls alone and
    # takes everything takeable.
    later = T0 + TTL * 2
    assert later > T0 + EVERY * REPLICA_LIVE_INTERVALS
    assert sorted(await store.claim_polls(["a-bot", "b-bot"], "r2", later, TTL, interval=EVERY)) == ["a-bot", "b-bot"]


async def test_idle_polls_are_recorded_together_and_only_under_their_lease(store: Store) -> None:
    for agent in ("a-bot", "b-bot"):
        await store.seed_poll_state(agent, T0, ["old"])
    await store.claim_polls(["a-bot", "b-bot"], "r1", T0, TTL, interval=EVERY)
    await store.claim_poll("b-bot", "r2", T0 + TTL * 2, TTL)  # r1's lease of b-bot ran out: taken
    later = T0 + TTL * 2
    polls = [IdlePoll("a-bot", later, frozenset({"s1"})), IdlePoll("b-bot", later, frozenset())]
    assert await store.record_idle_polls("r1", polls, later) == 1
    a, b = await store.poll_state("a-bot"), await store.poll_state("b-bot")
    assert a is not None and (a.watermark, a.active_set) == (later, frozenset({"s1"}))
    assert b is not None and (b.watermark, b.active_set) == (T0, frozenset({"old"}))  # r2's to record
    assert await store.claim_poll("a-bot", "r3", later, TTL) is not None  # a-bot's lease was released
    assert await store.claim_poll("b-bot", "r3", later, TTL) is None  # b-bot's is still r2's


async def test_a_cycle_reads_every_agents_failing_sessions_in_one_go(store: Store) -> None:
    for agent in ("a-bot", "b-bot"):
        await store.seed_poll_state(agent, T0, [])
        await store.claim_poll(agent, "r1", T0, TTL)

    def failing(sid: str) -> Callable[[Sequence[Watch], Mapping[tuple[str, str], object]], RecordPlan]:
        return lambda watches, mutes: RecordPlan(item_failures=[ItemFailure(sid, 1, "boom", T0)])

    await store.record_poll("a-bot", "r1", planner=failing("s1"), now=T0)
    await store.record_poll("b-bot", "r1", planner=failing("s2"), now=T0)
    found = await store.item_failures_of(["a-bot", "b-bot", "c-bot"])
    assert {agent: sorted(items) for agent, items in found.items()} == {"a-bot": ["s1"], "b-bot": ["s2"]}
    assert found["a-bot"]["s1"].error == "boom"


NINE = [f"agent-{i}" for i in range(9)]


async def claimed_by(store: Store, replica: str, when: datetime) -> list[str]:
    return sorted(await store.claim_polls(NINE, replica, when, TTL, interval=EVERY))


async def release(store: Store, replica: str, agents: Sequence[str]) -> None:
    for agent in agents:
        await store.release_poll_lease(agent, replica)


async def test_replicas_split_the_agents_and_each_agent_is_claimed_once_an_interval(store: Store) -> None:
    for agent in NINE:
        await store.seed_poll_state(agent, T0, [])
    for replica in ("r1", "r2", "r3"):
        assert await store.claim_polls([], replica, T0, TTL, interval=EVERY) == {}  # three replicas poll
    shares = {replica: await claimed_by(store, replica, T0) for replica in ("r1", "r2", "r3")}
    assert [len(s) for s in shares.values()] == [3, 3, 3] and sorted(chain(*shares.values())) == NINE
    for replica, agents in shares.items():
        await release(store, replica, agents)
    # A third of an interval later, r1's cycle again: nothing was claimed long enough ago.
    assert await claimed_by(store, "r1", T0 + EVERY / 3) == []
    # The next interval: each takes a third again, the ones claimed longest ago first.
    at = T0 + EVERY
    order = ("r2", "r3", "r1")
    again = [await claimed_by(store, replica, at + timedelta(seconds=i)) for i, replica in enumerate(order)]
    assert sorted(chain(*again)) == NINE and [len(s) for s in again] == [3, 3, 3]


async def test_a_replica_that_leaves_hands_its_share_to_the_others_at_once(store: Store) -> None:
    for agent in NINE:
        await store.seed_poll_state(agent, T0, [])
    for replica in ("r1", "r2", "r3"):
        await store.claim_polls([], replica, T0, TTL, interval=EVERY)
    await store.leave_polling("r3")
    first = await claimed_by(store, "r1", T0)
    second = await claimed_by(store, "r2", T0)
    assert (len(first), len(second)) == (5, 4) and sorted(first + second) == NINE
