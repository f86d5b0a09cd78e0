"""Store contract, outbox half: claims, fencing, channel leases and back-off, routing, incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts import policy
from bot.alerts.delivery.transitions import NotSent, ParentLost, Posted, RateLimited, Refused, next_state
from bot.contracts.notices import NoticeKind
from bot.store import LeaseLost, Store
from bot.store.incidents import RoutingConflict
from bot.store.payloads import AlertPayload, NoticePayload, ParentPayload, RollupPayload
from bot.store.records import IncidentChange, NewPost, OutboxKind, OutboxRow, OutboxState, Transition
from tests import store_reads

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
TTL = timedelta(minutes=2)
GIVE_UP = timedelta(hours=24)


def sent(row: OutboxRow, ts: str) -> Transition:
    return next_state(row, Posted(ts), now=T0, give_up_after=GIVE_UP)


def parent_change(reply_row_ids: list[int] | None = None, **overrides: Any) -> IncidentChange:
    first = (reply_row_ids or [1])[0]
    values: dict[str, Any] = {
        "reply_row_ids": reply_row_ids or [],
        "parent_post": NewPost(f"parent:{first}", OutboxKind.PARENT, "C1", "voice-bot", ParentPayload(), 1),
        **overrides,
    }
    return IncidentChange("C1", "voice-bot", None, T0, T0, 1, ("HTTP_ERROR",), "s1", T0, 1, **values)


def alert(sub: int, session_id: str, channel: str = "C1", agent: str = "voice-bot") -> NewPost:
    return NewPost(
        f"{sub}:{session_id}",
        OutboxKind.ALERT,
        channel,
        agent,
        AlertPayload(session={"sessionId": session_id}),
        sub,
        session_id,
    )


async def test_one_enqueue_of_many_posts_skips_known_and_repeated_keys(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    storm = [alert(1, f"s{i}") for i in range(300)] + [alert(1, "s7")]  # s1 known, s7 twice
    assert await store.enqueue(storm, T0) == 299
    rows = await store.outbox_rows("C1")
    assert [r.session_id for r in rows] == [f"s{i}" for i in [1, 0, *range(2, 300)]]  # in order, each once


async def test_claims_are_compare_and_set_and_records_are_fenced(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    [row] = await store.outbox_rows()
    assert await store.claim(row, "tok-a", T0, TTL)
    assert not await store.claim(row, "tok-b", T0, TTL)  # same snapshot: the second claimer loses
    assert not await store.apply(row, "tok-b", sent(row, "1.1"), T0)
    assert await store.apply(row, "tok-a", sent(row, "1.1"), T0)
    [done] = await store.outbox_rows()
    assert (done.state, done.posted_ts, done.attempts, done.claim_token) == (OutboxState.SENT, "1.1", 1, None)
    assert done.first_claimed_at == T0


async def test_apply_without_a_claim_is_fenced_by_the_snapshot(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    [row] = await store.outbox_rows()
    to_top = next_state(row, ParentLost("parent given up"), now=T0, give_up_after=GIVE_UP)
    assert await store.apply(row, None, to_top, T0)
    [moved] = await store.outbox_rows()
    assert (moved.state, moved.top_level, moved.last_error) == (OutboxState.PENDING, True, "parent given up")
    assert await store.claim(moved, "other-worker", T0, TTL)
    assert not await store.apply(moved, None, to_top, T0)  # claimed meanwhile: the stale snapshot loses
    [claimed] = await store.outbox_rows()
    assert (claimed.state, claimed.claim_token) == (OutboxState.SENDING, "other-worker")


async def test_a_rate_limit_backs_the_channel_off_in_the_same_write(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    [row] = await store.outbox_rows()
    assert await store.claim(row, "t", T0, TTL)
    limited = next_state(row, RateLimited(30), now=T0, give_up_after=GIVE_UP)
    assert await store.apply(row, "t", limited, T0)
    assert await store.channel_backoff("C1") == T0 + timedelta(seconds=30)
    [waiting] = await store.outbox_rows()
    assert (waiting.state, waiting.next_attempt_at, waiting.failures) == (
        OutboxState.PENDING,
        T0 + timedelta(seconds=30),
        0,
    )


async def test_sent_rows_are_pruned_after_retention_and_pending_ones_never(store: Store) -> None:
    await store.enqueue([alert(1, "s1"), alert(1, "s2")], T0)
    first, _ = await store.outbox_rows()
    await store.claim(first, "t", T0, TTL)
    await store.apply(first, "t", sent(first, "1.1"), T0)
    assert await store.prune_sent(T0) == 0  # not older than the cut-off
    assert await store.prune_sent(T0 + timedelta(days=8)) == 1
    assert [r.session_id for r in await store.outbox_rows()] == ["s2"]


async def test_an_expired_claim_becomes_deliverable_again(store: Store) -> None:
    await store.enqueue([NewPost("p", OutboxKind.PARENT, "C1", "voice-bot", ParentPayload(), 1, incident_id=1)], T0)
    [row] = await store.outbox_rows()
    await store.claim(row, "dead-worker", T0, TTL)
    assert await store.next_deliverable("C1", T0 + TTL / 2) is None
    stale = await store.next_deliverable("C1", T0 + TTL * 2)
    assert stale is not None and stale.state == OutboxState.SENDING
    assert await store.claim(stale, "new-worker", T0 + TTL * 2, TTL)
    retry = next_state(stale, NotSent("x"), now=T0, give_up_after=GIVE_UP)
    assert not await store.apply(stale, "dead-worker", retry, T0)


async def test_next_deliverable_puts_parents_first_and_skips_unrouted_alerts(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    assert await store.next_deliverable("C1", T0) is None  # an alert waits for routing
    assert [r.id for r in await store.unrouted_alerts("C1")] == [1]
    assert await store.channels_with_work(T0) == ["C1"]
    assert await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [parent_change([1])], [], T0)
    first = await store.next_deliverable("C1", T0)
    assert first is not None and (first.kind, first.dedup_key) == (OutboxKind.PARENT, "parent:1")
    [incident] = await store.open_incidents("C1")
    assert (incident.session_count, incident.parent_ts, incident.version) == (1, None, 1)
    assert incident.parent_key == "parent:1" and first.incident_id == incident.id
    assert await store.claim(first, "t", T0, TTL) and await store.apply(first, "t", sent(first, "9.9"), T0)
    assert (await store.incident(incident.id)).parent_ts == "9.9"  # type: ignore[union-attr]
    reply = await store.next_deliverable("C1", T0)
    assert reply is not None and (reply.kind, reply.incident_id) == (OutboxKind.ALERT, incident.id)


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
        parent_post=NewPost("parent:1", OutboxKind.PARENT, "C1", "voice-bot", ParentPayload(), 1),
        rollup_post=NewPost("rollup:2", OutboxKind.ROLLUP, "C1", "voice-bot", RollupPayload(count=2, sessions=[]), 1),
    )
    with pytest.raises(LeaseLost):
        await store.apply_routing("C1", "r1", [change], [], T0)
    await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [change], [], T0)
    states = {r.dedup_key: (r.kind, r.state) for r in await store.outbox_rows()}
    assert states == {
        "1:s0": ("alert", OutboxState.PENDING),
        "1:s1": ("alert", "rolled_up"),
        "1:s2": ("alert", "rolled_up"),
        "parent:1": ("parent", OutboxState.PENDING),
        "rollup:2": ("rollup", OutboxState.PENDING),
    }


async def test_routing_never_adds_to_a_closed_incident(store: Store) -> None:
    await store.enqueue([alert(1, "s1"), alert(1, "s2")], T0)
    await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [parent_change([1])], [], T0)
    [incident] = await store.open_incidents("C1")
    assert await store.close_quiet_incidents("C1", "r1", T0 + timedelta(minutes=31), timedelta(minutes=30)) == 1
    late = IncidentChange("C1", "voice-bot", incident.id, T0, T0, 2, ("HTTP_ERROR",), "s2", T0, 2, reply_row_ids=[2])
    with pytest.raises(RoutingConflict):
        await store.apply_routing("C1", "r1", [late], [], T0 + timedelta(minutes=31))
    assert [r.id for r in await store.unrouted_alerts("C1")] == [2]  # left for a fresh plan
    assert (await store.incident(incident.id)).session_count == 1  # type: ignore[union-attr]


async def test_closing_quiet_incidents_needs_the_channel_lease(store: Store) -> None:
    await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [parent_change()], [], T0)
    later = T0 + timedelta(minutes=31)
    with pytest.raises(LeaseLost):
        await store.close_quiet_incidents("C1", "r2", later, timedelta(minutes=30))
    assert len(await store.open_incidents("C1")) == 1
    assert await store.channels_with_work(later, quiet_before=later - timedelta(minutes=30)) == ["C1"]


async def test_channel_lease_and_shared_backoff(store: Store) -> None:
    assert await store.acquire_channel("C1", "r1", T0, TTL)
    assert not await store.acquire_channel("C1", "r2", T0, TTL)
    await store.release_channel("C1", "r1")
    await store.back_off_channel("C1", T0 + timedelta(seconds=30))
    await store.back_off_channel("C1", T0 + timedelta(seconds=5))  # never shortens a back-off
    assert await store.channel_backoff("C1") == T0 + timedelta(seconds=30)
    assert not await store.acquire_channel("C1", "r2", T0 + timedelta(seconds=10), TTL)
    await store.enqueue(
        [NewPost("n", OutboxKind.NOTICE, "C1", "voice-bot", NoticePayload(type=NoticeKind.OUTAGE, since=T0), 1)], T0
    )
    assert await store.channels_with_work(T0 + timedelta(seconds=10)) == []
    assert await store.channels_with_work(T0 + timedelta(seconds=31)) == ["C1"]
    assert await store.acquire_channel("C1", "r2", T0 + timedelta(seconds=31), TTL)


def notice(key: str, channel: str = "C1") -> NewPost:
    return NewPost(key, OutboxKind.NOTICE, channel, "voice-bot", NoticePayload(type=NoticeKind.OUTAGE, since=T0), 1)


async def test_a_refused_channel_holds_its_queue_and_heals_on_its_first_post(store: Store) -> None:
    await store.upsert_watch("C1", "voice-bot", ["HTTP_ERROR"], None, "U1", T0)
    await store.enqueue([notice("n1"), notice("n2"), notice("n3", "C2")], T0)
    first, second, _ = await store.outbox_rows()
    await store.claim(first, "t", T0, TTL)
    refused = next_state(first, Refused("not_in_channel", channel_level=True), now=T0, give_up_after=GIVE_UP)
    assert await store.apply(first, "t", refused, T0)
    assert [r.state for r in await store.outbox_rows()] == [
        OutboxState.PENDING,
        OutboxState.PENDING,
        OutboxState.PENDING,
    ]  # nothing dropped
    assert (await store.watch("C1", "voice-bot")).broken_reason == "not_in_channel"  # type: ignore[union-attr]
    assert await store.destination_streak("C1") == 1 and await store.destination_streak("C2") == 0
    probe_at = T0 + policy.BROKEN_PROBE_BASE
    assert await store.channel_backoff("C1") == probe_at
    assert await store.channels_with_work(probe_at - timedelta(seconds=1)) == ["C2"]
    assert not await store.acquire_channel("C1", "r1", probe_at - timedelta(seconds=1), TTL)
    # The probe: the next post of the channel, once the back-off is over.
    assert await store.acquire_channel("C1", "r1", probe_at, TTL)
    probe = await store.next_deliverable("C1", probe_at)
    assert probe is not None and probe.id == second.id  # due longest (the refused row waits its probe)
    await store.claim(probe, "p", probe_at, TTL)
    posted = next_state(probe, Posted("1.1"), now=probe_at, give_up_after=GIVE_UP, streak=1)
    assert await store.apply(probe, "p", posted, probe_at)
    assert (await store.watch("C1", "voice-bot")).broken_reason is None  # type: ignore[union-attr]
    assert await store.destination_streak("C1") == 0
    held = await store_reads.outbox_row(store, first.id)
    assert held is not None and held.next_attempt_at == probe_at  # pulled forward with the rest


async def test_the_first_success_after_an_outage_pulls_every_held_row_forward(store: Store) -> None:
    await store.enqueue([notice("n1"), notice("n2"), notice("n3", "C2")], T0)
    first, second, other = await store.outbox_rows()
    streak = 0
    for row, at in ((first, T0), (second, T0 + timedelta(seconds=5))):
        current = await store_reads.outbox_row(store, row.id)
        assert current is not None
        await store.claim(current, "t", at, TTL)
        failed = next_state(current, NotSent("HTTP 503"), now=at, give_up_after=GIVE_UP, streak=streak)
        assert await store.apply(current, "t", failed, at)
        assert failed.streak is not None
        streak = failed.streak
    assert await store.destination_streak("C1") == 2
    await store.claim(other, "o", T0, TTL)  # another channel's trouble is its own
    await store.apply(other, "o", next_state(other, NotSent("x"), now=T0, give_up_after=GIVE_UP), T0)
    [held] = [r for r in await store.outbox_rows() if r.id == second.id]
    assert held.next_attempt_at == T0 + timedelta(seconds=5) + policy.retry_delay(2)
    now = T0 + timedelta(seconds=10)  # (Slack is back before the second row's turn)
    probe = await store_reads.outbox_row(store, first.id)
    assert probe is not None
    await store.claim(probe, "p", now, TTL)
    assert await store.apply(
        probe, "p", next_state(probe, Posted("1.1"), now=now, give_up_after=GIVE_UP, streak=2), now
    )
    assert await store.destination_streak("C1") == 0
    assert [r.next_attempt_at for r in await store.outbox_rows() if r.channel_id == "C1" and r.id != first.id] == [now]
    [untouched] = [r for r in await store.outbox_rows() if r.channel_id == "C2"]
    assert untouched.next_attempt_at == T0 + policy.RETRY_BASE and await store.destination_streak("C2") == 1


async def test_incidents_close_when_quiet_and_track_renders_and_acks(store: Store) -> None:
    await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [parent_change()], [], T0)
    [parent] = await store.outbox_rows(kind=OutboxKind.PARENT)
    await store.claim(parent, "t", T0, TTL)
    await store.apply(parent, "t", sent(parent, "5.5"), T0)
    assert [i.id for i in await store.dirty_incidents("C1")] == [1]
    await store.mark_rendered(1, 1)
    assert await store.dirty_incidents("C1") == []
    acked = await store.acknowledge("C1", "5.5", "U7", T0 + TTL)
    assert acked is not None and (acked.ack_by, acked.ack_at, acked.version) == ("U7", T0 + TTL, 2)
    assert await store.acknowledge("C1", "0.0", "U7", T0) is None
    assert await store.close_quiet_incidents("C1", "r1", T0 + timedelta(minutes=29), timedelta(minutes=30)) == 0
    assert await store.close_quiet_incidents("C1", "r1", T0 + timedelta(minutes=30), timedelta(minutes=30)) == 1
    assert await store.open_incidents("C1") == []
    closed = await store.incident_by_parent("C1", "5.5")
    assert closed is not None and closed.closed_at == T0 + timedelta(minutes=30)


async def test_a_parent_edit_is_fenced_by_the_lease_and_by_the_newest_version_shown(store: Store) -> None:
    margin, lease = timedelta(seconds=12), timedelta(seconds=20)
    await store.acquire_channel("C1", "r1", T0, lease)
    await store.apply_routing("C1", "r1", [parent_change()], [], T0)
    [parent] = await store.outbox_rows(kind=OutboxKind.PARENT)
    await store.claim(parent, "t", T0, TTL)
    await store.apply(parent, "t", sent(parent, "5.5"), T0)
    await store.mark_rendered(1, 1)
    await store.acknowledge("C1", "5.5", "U7", T0)  # version 2
    assert not await store.confirm_render(1, 2, "5.5", "r2", T0, lease_ttl=lease, margin=margin)  # not its lease
    assert not await store.confirm_render(1, 2, "4.4", "r1", T0, lease_ttl=lease, margin=margin)  # another parent
    late = T0 + lease - margin + timedelta(seconds=1)
    assert not await store.confirm_render(1, 2, "5.5", "r1", late, lease_ttl=lease, margin=margin)  # too little left
    assert await store.confirm_render(1, 2, "5.5", "r1", T0 + timedelta(seconds=5), lease_ttl=lease, margin=margin)
    assert await store.confirm_render(1, 2, "5.5", "r1", late, lease_ttl=lease, margin=margin)  # it was extended
    await store.mark_rendered(1, 2)
    assert not await store.confirm_render(1, 2, "5.5", "r1", T0, lease_ttl=lease, margin=margin)  # shown already
    assert not await store.confirm_render(1, 1, "5.5", "r1", T0, lease_ttl=lease, margin=margin)  # an older render


async def test_a_deleted_parent_is_replaced_and_its_replies_wait_for_the_new_one(store: Store) -> None:
    await store.enqueue([alert(1, "s1")], T0)
    [row] = await store.outbox_rows(kind=OutboxKind.ALERT)
    await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [parent_change([row.id])], [], T0)
    [parent] = await store.outbox_rows(kind=OutboxKind.PARENT)
    await store.claim(parent, "t", T0, TTL)
    await store.apply(parent, "t", sent(parent, "5.5"), T0)
    new = NewPost("reparent:1:5.5", OutboxKind.PARENT, "C1", "voice-bot", ParentPayload(), 1)
    assert await store.replace_parent(1, "5.5", new, T0)
    assert not await store.replace_parent(1, "5.5", new, T0)  # once per deletion
    incident = await store.incident(1)
    assert incident is not None and (incident.parent_ts, incident.parent_key, incident.version) == (
        None,
        new.dedup_key,
        2,
    )
    due = await store.next_deliverable("C1", T0)
    assert due is not None and due.dedup_key == new.dedup_key  # the reply waits behind the new parent
    await store.claim(due, "n", T0, TTL)
    await store.apply(due, "n", sent(due, "6.6"), T0)
    reply = await store.next_deliverable("C1", T0)
    assert reply is not None and reply.id == row.id
    assert (await store.incident(1)).parent_ts == "6.6"  # type: ignore[union-attr]


async def test_reply_edits_take_slots_only_for_posted_replies(store: Store) -> None:
    await store.enqueue([alert(1, "s1"), alert(1, "s2"), alert(1, "s3"), alert(2, "s4", "C2")], T0)
    posted, muted, waiting, _ = await store.outbox_rows(kind=OutboxKind.ALERT)
    await store.queue_reply_edits("voice-bot", ["s1", "s2", "s3", "s4"], T0)
    await store.claim(posted, "t", T0, TTL)
    await store.apply(posted, "t", sent(posted, "7.7"), T0)
    await store.acquire_channel("C1", "r1", T0, TTL)
    await store.apply_routing("C1", "r1", [], [muted.id], T0)  # muted after its edit was queued
    assert [r.id for r in await store.ready_reply_edits("C1", 20)] == [posted.id]
    before = T0 - timedelta(seconds=1)  # (no post is due yet)
    assert await store.channels_with_work(before) == ["C1"]  # C2's only edit waits for its post
    assert await store.drop_unpostable_reply_edits("C1") == 1
    assert await store_reads.reply_edits(store, "C1") == [posted.dedup_key, waiting.dedup_key]
    await store.enqueue(
        [
            NewPost(
                "1:s5", OutboxKind.ALERT, "C1", "voice-bot", AlertPayload(session={}), 1, "s5", state=OutboxState.MUTED
            )
        ],
        T0,
    )
    assert await store.queue_reply_edits("voice-bot", ["s5"], T0) == 0  # never posted: nothing to edit
