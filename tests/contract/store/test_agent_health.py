"""Store contract for agent status reads and health conditions, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import LeaseLost, Store
from bot.store.payloads import HealthClearPayload, HealthPayload, OutboxPayload
from bot.store.records import KIND_HEALTH, KIND_HEALTH_CLEAR, ConditionClear, ConditionOpen, NewPost, OutboxKind

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
INTERVAL = timedelta(seconds=120)


def post(key: str, kind: OutboxKind = KIND_HEALTH) -> NewPost:
    payload: OutboxPayload = HealthPayload(finding={"k": key}, severity="warning", opened_at=T0)
    if kind == KIND_HEALTH_CLEAR:
        payload = HealthClearPayload(finding={"k": key}, opened_at=T0, cleared_at=T0, opener_key=key)
    return NewPost(key, kind, "C1", "voice-bot", payload, 1)


async def test_a_status_read_is_claimed_once_until_it_is_due_again(store: Store) -> None:
    assert await store.claim_status_read("voice-bot", "a", T0, LEASE) == {}
    assert await store.claim_status_read("voice-bot", "b", T0, LEASE) is None  # a is reading it
    await store.record_status_read("voice-bot", "a", now=T0, next_read_at=T0 + INTERVAL, memory={"m": 1})
    assert await store.claim_status_read("voice-bot", "b", T0 + INTERVAL / 2, LEASE) is None  # not due
    slack = timedelta(seconds=5)
    early = T0 + INTERVAL - slack
    assert await store.claim_status_read("voice-bot", "b", early, LEASE, due_slack=slack) == {"m": 1}
    # b died holding it: its lease expires and a takes over.
    assert await store.claim_status_read("voice-bot", "a", early + LEASE / 2, LEASE) is None
    assert await store.claim_status_read("voice-bot", "a", early + LEASE * 2, LEASE) == {"m": 1}
    with pytest.raises(LeaseLost):
        await store.record_status_read("voice-bot", "b", now=early, next_read_at=early + INTERVAL, memory={})


async def test_conditions_open_and_clear_once_with_their_posts(store: Store) -> None:
    opened = ConditionOpen("revision:abc", {"title": "crash"}, True, (post("health:1:revision:abc:1"),))

    async def read(owner: str, now: datetime, **changes: object) -> tuple[list[str], list[str]]:
        assert await store.claim_status_read("voice-bot", owner, now, LEASE) is not None
        return await store.record_status_read(
            "voice-bot",
            owner,
            now=now,
            next_read_at=now,
            memory={},
            **changes,  # type: ignore[arg-type]
        )

    quiet = ConditionOpen("capacity-warn", {"title": "busy"}, False)
    assert await read("a", T0, opened=[opened, quiet]) == (["revision:abc", "capacity-warn"], [])
    assert await store.open_health_condition_count() == 1  # the quiet one was never alerted
    assert await read("b", T0 + INTERVAL, opened=[opened]) == ([], [])  # already open: no second post
    condition = next(c for c in await store.open_conditions("voice-bot") if c.key == "revision:abc")
    assert (condition.opened_at, condition.posted) == (T0, True)
    clear = ConditionClear("revision:abc", T0, (post("health-clear:1:revision:abc:1", KIND_HEALTH_CLEAR),))
    stale = ConditionClear("revision:abc", T0 - INTERVAL, (post("health-clear:stale", KIND_HEALTH_CLEAR),))
    assert await read("a", T0 + 2 * INTERVAL, cleared=[stale]) == ([], [])  # another occurrence: untouched
    assert await read("a", T0 + 3 * INTERVAL, cleared=[clear]) == ([], ["revision:abc"])
    assert await read("b", T0 + 4 * INTERVAL, cleared=[clear]) == ([], [])
    assert [c.key for c in await store.open_conditions()] == ["capacity-warn"]
    assert await store.open_health_condition_count() == 0
    keys = [r.dedup_key for r in await store.outbox_rows()]
    assert keys == ["health:1:revision:abc:1", "health-clear:1:revision:abc:1"]
    row = await store.outbox_row_by_key("health-clear:1:revision:abc:1")
    assert row is not None and row.kind == KIND_HEALTH_CLEAR
    assert await store.outbox_row_by_key("nope") is None


async def test_two_replicas_claiming_at_once_read_once(store: Store) -> None:
    claims = await asyncio.gather(*(store.claim_status_read("voice-bot", o, T0, LEASE) for o in "abcd"))
    assert sum(c is not None for c in claims) == 1
