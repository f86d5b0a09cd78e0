"""The Deliverer's port, on the real store and on the in-memory fake (tests/fakes/delivery_store.py):
the same rules of claims, fences, applies and channels hold on both, so the Deliverer's tests
against the fake (tests/integration/alerts/test_deliverer_on_fake_store.py) stand for the real thing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest

from bot.alerts import policy
from bot.alerts.delivery.ports import DeliveryStore
from bot.alerts.delivery.transitions import NotSent, ParentLost, Posted, RateLimited, next_state
from bot.contracts.notices import NoticeKind
from bot.store.payloads import AlertPayload, NoticePayload, ParentPayload
from bot.store.records import NewPost, OutboxKind, OutboxRow, OutboxState
from tests.fakes.delivery_store import FakeDeliveryStore
from tests.fixtures_store import PG_URL_ENV, open_store

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
TTL = timedelta(minutes=2)
GIVE_UP = timedelta(hours=24)


class Outbox(DeliveryStore, Protocol):
    """The port, and the enqueue both sides seed rows with."""

    async def enqueue(self, posts: Sequence[NewPost], now: datetime) -> int: ...


def _kinds() -> list[Any]:
    kinds = [pytest.param("fake", id="fake"), pytest.param("sqlite", id="sqlite")]
    if os.environ.get(PG_URL_ENV):
        kinds.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return kinds


@pytest.fixture(params=_kinds())
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outbox]:
    if request.param == "fake":
        yield FakeDeliveryStore()
        return
    url = os.environ[PG_URL_ENV] if request.param == "postgresql" else f"sqlite:///{tmp_path / 'outbox.db'}"
    store = await open_store(url, fresh=request.param == "postgresql")
    try:
        yield store
    finally:
        await store.dispose()


def notice(key: str, channel: str = "C1") -> NewPost:
    return NewPost(key, OutboxKind.NOTICE, channel, "voice-bot", NoticePayload(type=NoticeKind.OUTAGE, since=T0), 1)


def sent(row: OutboxRow, ts: str, now: datetime = T0, streak: int = 0) -> Any:
    return next_state(row, Posted(ts), now=now, give_up_after=GIVE_UP, streak=streak)


async def test_a_claim_is_compare_and_set_and_an_outcome_is_fenced_by_it(outbox: Outbox) -> None:
    await outbox.enqueue([notice("n1")], T0)
    [row] = await outbox.outbox_rows()
    assert await outbox.claim(row, "tok-a", T0, TTL)
    assert not await outbox.claim(row, "tok-b", T0, TTL)  # same snapshot: the second claimer loses
    assert not await outbox.apply(row, "tok-b", sent(row, "1.1"), T0)
    assert await outbox.apply(row, "tok-a", sent(row, "1.1"), T0)
    [done] = await outbox.outbox_rows()
    assert (done.state, done.posted_ts, done.attempts, done.claim_token, done.first_claimed_at) == (
        OutboxState.SENT,
        "1.1",
        1,
        None,
        T0,
    )
    assert await outbox.outbox_row_by_key("n1") == done


async def test_an_outcome_without_a_claim_is_fenced_by_the_row_as_read(outbox: Outbox) -> None:
    await outbox.enqueue([notice("n1")], T0)
    [row] = await outbox.outbox_rows()
    to_top = next_state(row, ParentLost("parent given up"), now=T0, give_up_after=GIVE_UP)
    assert await outbox.apply(row, None, to_top, T0)
    [moved] = await outbox.outbox_rows()
    assert await outbox.claim(moved, "other-worker", T0, TTL)
    assert not await outbox.apply(moved, None, to_top, T0)  # claimed meanwhile: the stale read loses
    [claimed] = await outbox.outbox_rows()
    assert (claimed.state, claimed.claim_token) == (OutboxState.SENDING, "other-worker")


async def test_a_dead_claimers_row_is_taken_over_and_its_late_outcome_lost(outbox: Outbox) -> None:
    await outbox.enqueue([notice("n1")], T0)
    [row] = await outbox.outbox_rows()
    assert await outbox.claim(row, "dead-worker", T0, TTL)
    assert await outbox.next_deliverable("C1", T0 + TTL / 2) is None
    stale = await outbox.next_deliverable("C1", T0 + TTL * 2)
    assert stale is not None and stale.state == OutboxState.SENDING
    assert await outbox.claim(stale, "new-worker", T0 + TTL * 2, TTL)
    late = next_state(stale, NotSent("x"), now=T0, give_up_after=GIVE_UP)
    assert not await outbox.apply(stale, "dead-worker", late, T0)


async def test_the_fence_needs_the_claim_and_the_lease_with_the_margin_left(outbox: Outbox) -> None:
    await outbox.enqueue([notice("n1")], T0)
    [row] = await outbox.outbox_rows()
    margin = policy.CLAIM_SAFETY_MARGIN
    assert await outbox.acquire_channel("C1", "r1", T0, policy.CHANNEL_LEASE)
    assert await outbox.claim(row, "t", T0, policy.CLAIM_TTL)
    fence = {"ttl": policy.CLAIM_TTL, "lease_ttl": policy.CHANNEL_LEASE, "margin": margin}
    assert not await outbox.confirm_claim(row, "t", "r2", T0, **fence)  # not our lease
    assert not await outbox.confirm_claim(row, "other", "r1", T0, **fence)  # not our claim
    late = T0 + policy.CLAIM_TTL - margin + timedelta(seconds=1)  # a stall: less than the margin left
    assert not await outbox.confirm_claim(row, "t", "r1", late, **fence)
    assert await outbox.confirm_claim(row, "t", "r1", T0 + timedelta(seconds=1), **fence)
    # ...which extended both: a fence later than the first claim's margin holds now.
    assert await outbox.confirm_claim(row, "t", "r1", late, **fence)


async def test_a_rate_limit_backs_the_channel_off_and_a_back_off_is_never_shortened(outbox: Outbox) -> None:
    await outbox.enqueue([notice("n1"), notice("n2")], T0)
    first, second = await outbox.outbox_rows()
    for row, retry_after in ((first, 30), (second, 5)):
        assert await outbox.claim(row, "t", T0, TTL)
        limited = next_state(row, RateLimited(retry_after), now=T0, give_up_after=GIVE_UP)
        assert await outbox.apply(row, "t", limited, T0)
    assert await outbox.channel_backoff("C1") == T0 + timedelta(seconds=30)  # the shorter wait left it
    waiting = await outbox.outbox_row_by_key("n1")
    assert waiting is not None and (waiting.state, waiting.next_attempt_at) == (
        OutboxState.PENDING,
        T0 + timedelta(seconds=30),
    )
    assert await outbox.channels_with_work(T0 + timedelta(seconds=10)) == []
    assert not await outbox.acquire_channel("C1", "r1", T0 + timedelta(seconds=10), TTL)
    assert await outbox.channels_with_work(T0 + timedelta(seconds=31)) == ["C1"]
    assert await outbox.acquire_channel("C1", "r1", T0 + timedelta(seconds=31), TTL)
    assert not await outbox.acquire_channel("C1", "r2", T0 + timedelta(seconds=31), TTL)  # the lease is r1's
    await outbox.release_channel("C1", "r1")
    assert await outbox.acquire_channel("C1", "r2", T0 + timedelta(seconds=31), TTL)


async def test_the_first_success_after_failures_pulls_the_channels_held_rows_forward(outbox: Outbox) -> None:
    await outbox.enqueue([notice("n1"), notice("n2"), notice("n3", "C2")], T0)
    first, second, other = await outbox.outbox_rows()
    failed = next_state(second, NotSent("HTTP 503"), now=T0, give_up_after=GIVE_UP, streak=0)
    assert await outbox.claim(second, "t", T0, TTL) and await outbox.apply(second, "t", failed, T0)
    assert await outbox.destination_streak("C1") == 1
    assert await outbox.claim(other, "o", T0, TTL)
    assert await outbox.apply(other, "o", next_state(other, NotSent("x"), now=T0, give_up_after=GIVE_UP), T0)
    now = T0 + timedelta(seconds=1)
    assert await outbox.claim(first, "p", now, TTL)
    assert await outbox.apply(first, "p", sent(first, "1.1", now, streak=1), now)
    assert await outbox.destination_streak("C1") == 0
    held = await outbox.outbox_row_by_key("n2")
    assert held is not None and held.next_attempt_at == now  # pulled forward
    untouched = await outbox.outbox_row_by_key("n3")
    assert untouched is not None and untouched.next_attempt_at == T0 + policy.RETRY_BASE  # another channel's


async def test_parents_go_first_and_unrouted_alerts_wait(outbox: Outbox) -> None:
    alert = NewPost("1:s1", OutboxKind.ALERT, "C1", "voice-bot", AlertPayload(session={"sessionId": "s1"}), 1, "s1")
    parent = NewPost("parent:1", OutboxKind.PARENT, "C1", "voice-bot", ParentPayload(), 1)
    await outbox.enqueue([alert, notice("n1"), parent], T0)
    first = await outbox.next_deliverable("C1", T0)
    assert first is not None and first.dedup_key == "parent:1"
    assert await outbox.claim(first, "t", T0, TTL) and await outbox.apply(first, "t", sent(first, "1.1"), T0)
    second = await outbox.next_deliverable("C1", T0)
    assert second is not None and second.dedup_key == "n1"
    assert await outbox.claim(second, "t", T0, TTL) and await outbox.apply(second, "t", sent(second, "1.2"), T0)
    assert await outbox.next_deliverable("C1", T0) is None  # the alert waits for routing
