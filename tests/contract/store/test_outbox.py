"""Store contract, outbox half: claims, fencing, channel leases and back-off, routing, incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.store import LeaseLost, Store
from bot.store.records import (
    DEAD,
    KIND_ALERT,
    KIND_NOTICE,
    KIND_PARENT,
    PENDING,
    SENDING,
    SENT,
    IncidentChange,
    NewPost,
)

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
TTL = timedelta(minutes=2)


def alert(sub: int, session_id: str, channel: str = "C1", agent: str = "voice-bot") -> NewPost:
    return NewPost(f"{sub}:{session_id}", KIND_ALERT, channel, agent, {"n": session_id}, sub, session_id)


async def test_claims_are_compare_and_set_and_records_are_fenced(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    [row] = await store.outbox_rows()
    assert await store.claim(row, "tok-a", T0, TTL)
    assert not await store.claim(row, "tok-b", T0, TTL)  # same snapshot: the second claimer loses
    assert not await store.mark_sent(row, "tok-b", "1.1", T0)
    assert await store.mark_sent(row, "tok-a", "1.1", T0)
    [done] = await store.outbox_rows()
    assert (done.state, done.posted_ts, done.attempts, done.claim_token) == (SENT, "1.1", 1, None)


async def test_an_expired_claim_becomes_deliverable_again(store: Store) -> None:
    await store.enqueue([NewPost("p", KIND_PARENT, "C1", "voice-bot", {}, 1, incident_id=1)], T0)
    [row] = await store.outbox_rows()
    await store.claim(row, "dead-worker", T0, TTL)
    assert await store.next_deliverable("C1", T0 + TTL / 2) is None
    stale = await store.next_deliverable("C1", T0 + TTL * 2)
    assert stale is not None and stale.state == SENDING
    assert await store.claim(stale, "new-worker", T0 + TTL * 2, TTL)
    assert not await store.mark_retry(stale, "dead-worker", state=PENDING, next_attempt_at=T0, error="x", now=T0)


async def test_next_deliverable_puts_parents_first_and_skips_unrouted_alerts(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    assert await store.next_deliverable("C1", T0) is None  # an alert waits for routing
    assert [r.id for r in await store.unrouted_alerts("C1")] == [1]
    assert await store.channels_with_work(T0) == ["C1"]
    assert await store.acquire_channel("C1", "r1", T0, TTL)
    change = IncidentChange("C1", "voice-bot", None, T0, T0, 1, ("HTTP_ERROR",), "s1", T0, 1, reply_row_ids=[1])
    await store.apply_routing("C1", "r1", [change], [], T0, {"voice-bot": 1})
    first = await store.next_deliverable("C1", T0)
    assert first is not None and (first.kind, first.dedup_key) == (KIND_PARENT, "incident:1")
    [incident] = await store.open_incidents("C1")
    assert (incident.session_count, incident.parent_ts, incident.version) == (1, None, 1)
    assert await store.claim(first, "t", T0, TTL) and await store.mark_sent(first, "t", "9.9", T0)
    assert (await store.incident(incident.id)).parent_ts == "9.9"  # type: ignore[union-attr]
    reply = await store.next_deliverable("C1", T0)
    assert reply is not None and (reply.kind, reply.incident_id) == (KIND_ALERT, incident.id)


async def test_routing_needs_the_channel_lease_and_rolls_up(store: Store) -> None:
    await store.enqueue([alert(1, f"s{i}") for i in range(3)], T0)
    change = IncidentChange(
        "C1",
        "voice-bot",
        None,
        T0,
        T0,
        3,
        ("HTTP_ERROR",),
        "s2",
        T0,
        1,
        reply_row_ids=[1],
        rolled_row_ids=[2, 3],
        rollup_payload={"count": 2, "sessions": []},
    )
    with pytest.raises(LeaseLost):
        await store.apply_routing("C1", "r1", [change], [], T0, {})
    await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [change], [], T0, {"voice-bot": 1})
    states = {r.dedup_key: (r.kind, r.state) for r in await store.outbox_rows()}
    assert states == {
        "1:s0": ("alert", PENDING),
        "1:s1": ("alert", "rolled_up"),
        "1:s2": ("alert", "rolled_up"),
        "incident:1": ("parent", PENDING),
        "rollup:1:2": ("rollup", PENDING),
    }


async def test_channel_lease_and_shared_backoff(store: Store) -> None:
    assert await store.acquire_channel("C1", "r1", T0, TTL)
    assert not await store.acquire_channel("C1", "r2", T0, TTL)
    await store.release_channel("C1", "r1")
    await store.back_off_channel("C1", T0 + timedelta(seconds=30))
    await store.back_off_channel("C1", T0 + timedelta(seconds=5))  # never shortens a back-off
    assert await store.channel_backoff("C1") == T0 + timedelta(seconds=30)
    assert not await store.acquire_channel("C1", "r2", T0 + timedelta(seconds=10), TTL)
    await store.enqueue([NewPost("n", KIND_NOTICE, "C1", "voice-bot", {}, 1)], T0)
    assert await store.channels_with_work(T0 + timedelta(seconds=10)) == []
    assert await store.channels_with_work(T0 + timedelta(seconds=31)) == ["C1"]
    assert await store.acquire_channel("C1", "r2", T0 + timedelta(seconds=31), TTL)


async def test_broken_channel_kills_its_queue(store: Store) -> None:
    await store.upsert_watch("C1", "voice-bot", ["HTTP_ERROR"], None, "U1", T0)
    await store.enqueue([alert(1, "s1"), alert(1, "s2"), alert(2, "s3", "C2")], T0)
    assert await store.mark_channel_broken("C1", "channel_not_found", T0) == 2
    assert [r.state for r in await store.outbox_rows()] == [DEAD, DEAD, PENDING]


async def test_incidents_close_when_quiet_and_track_renders_and_acks(store: Store) -> None:
    await store.acquire_channel("C1", "r1", T0, TTL)
    change = IncidentChange("C1", "voice-bot", None, T0, T0, 1, ("HTTP_ERROR",), "s1", T0, 1)
    await store.apply_routing("C1", "r1", [change], [], T0, {})
    [parent] = await store.outbox_rows(kind=KIND_PARENT)
    await store.claim(parent, "t", T0, TTL)
    await store.mark_sent(parent, "t", "5.5", T0)
    assert [i.id for i in await store.dirty_incidents("C1")] == [1]
    await store.mark_rendered(1, 1)
    assert await store.dirty_incidents("C1") == []
    acked = await store.acknowledge("C1", "5.5", "U7", T0 + TTL)
    assert acked is not None and (acked.ack_by, acked.ack_at, acked.version) == ("U7", T0 + TTL, 2)
    assert await store.acknowledge("C1", "0.0", "U7", T0) is None
    assert await store.close_quiet_incidents(T0 + timedelta(minutes=29), timedelta(minutes=30)) == 0
    assert await store.close_quiet_incidents(T0 + timedelta(minutes=30), timedelta(minutes=30)) == 1
    assert await store.open_incidents("C1") == []
    closed = await store.incident_by_parent("C1", "5.5")
    assert closed is not None and closed.closed_at == T0 + timedelta(minutes=30)
