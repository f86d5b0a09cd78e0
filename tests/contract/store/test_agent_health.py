"""Store contract for agent status reads and health conditions, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.delivery.transitions import Posted, next_state
from bot.store import LeaseLost, Store
from bot.store.payloads import HealthClearPayload, HealthPayload, OutboxPayload
from bot.store.records import ConditionClear, ConditionOpen, NewPost, OutboxKind, OutboxState
from tests import store_reads

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
INTERVAL = timedelta(seconds=120)


def post(key: str, kind: OutboxKind = OutboxKind.HEALTH) -> NewPost:
    payload: OutboxPayload = HealthPayload(finding={"k": key}, severity="warning", opened_at=T0)
    if kind == OutboxKind.HEALTH_CLEAR:
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
    clear = ConditionClear("revision:abc", T0, (post("health-clear:1:revision:abc:1", OutboxKind.HEALTH_CLEAR),))
    stale = ConditionClear("revision:abc", T0 - INTERVAL, (post("health-clear:stale", OutboxKind.HEALTH_CLEAR),))
    assert await read("a", T0 + 2 * INTERVAL, cleared=[stale]) == ([], [])  # another occurrence: untouched
    assert await read("a", T0 + 3 * INTERVAL, cleared=[clear]) == ([], ["revision:abc"])
    assert await read("b", T0 + 4 * INTERVAL, cleared=[clear]) == ([], [])
    assert [c.key for c in await store.open_conditions()] == ["capacity-warn"]
    assert await store.open_health_condition_count() == 0
    keys = [r.dedup_key for r in await store.outbox_rows()]
    assert keys == ["health:1:revision:abc:1", "health-clear:1:revision:abc:1"]
    row = await store.outbox_row_by_key("health-clear:1:revision:abc:1")
    assert row is not None and row.kind == OutboxKind.HEALTH_CLEAR
    assert await store.outbox_row_by_key("nope") is None


async def test_two_replicas_claiming_at_once_read_once(store: Store) -> None:
    claims = await asyncio.gather(*(store.claim_status_read("voice-bot", o, T0, LEASE) for o in "abcd"))
    assert sum(c is not None for c in claims) == 1


async def test_clearing_and_reopening_update_the_openers_and_queue_their_re_render(store: Store) -> None:
    """A cleared occurrence's openers get the change merged into their payload and their edit
    queued, muted or not, unless the opener itself was never shown (muted, dead); a reopened one
    is inserted again with its first opened_at, keeps its openers (no second post) and gets its
    replies, while a channel that never had the opener gets it now, without a reply."""
    shown, muted_then = "health:1:unavailable:1", "health:2:unavailable:1"
    missing = "health:3:unavailable:1"
    opener = post(shown)
    never_shown = NewPost(muted_then, OutboxKind.HEALTH, "C2", "voice-bot", opener.payload, 2, state=OutboxState.MUTED)

    async def read(now: datetime, **changes: object) -> tuple[list[str], list[str]]:
        assert await store.claim_status_read("voice-bot", "a", now, LEASE) is not None
        return await store.record_status_read(
            "voice-bot",
            "a",
            now=now,
            next_read_at=now,
            memory={},
            **changes,  # type: ignore[arg-type]
        )

    opened = ConditionOpen("unavailable", {"title": "down"}, True, (opener, never_shown), opened_at=T0 - INTERVAL)
    assert await read(T0, opened=[opened]) == (["unavailable"], [])
    [condition] = await store.open_conditions("voice-bot")
    assert condition.opened_at == T0 - INTERVAL and condition.reopened_at is None
    cleared_at = T0 + INTERVAL
    clear = ConditionClear(
        "unavailable",
        T0 - INTERVAL,
        (),
        openers=(shown, muted_then, missing),
        opener_changes={"cleared_at": cleared_at.isoformat()},
    )
    assert await read(cleared_at, cleared=[clear]) == ([], ["unavailable"])
    assert await store_reads.reply_edits(store, "C1") == [shown] and await store_reads.reply_edits(store, "C2") == []
    row = await store.outbox_row_by_key(shown)
    assert row is not None and row.payload["cleared_at"] == cleared_at.isoformat()
    assert row.payload["finding"] == {"k": shown}  # the evidence stays
    await store.drop_reply_edit(shown)

    back_at = T0 + 5 * INTERVAL
    late_opener = NewPost(missing, OutboxKind.HEALTH, "C3", "voice-bot", opener.payload, 3)
    reopened = ConditionOpen(
        "unavailable",
        {"title": "down again"},
        True,
        (opener, never_shown, late_opener),
        opened_at=T0 - INTERVAL,
        reopened_at=back_at,
        opener_changes={"cleared_at": None, "returns": 1},
        replies={
            shown: post("health-back:1", OutboxKind.HEALTH_CLEAR),
            missing: post("health-back:3", OutboxKind.HEALTH_CLEAR),
        },
    )
    assert await read(back_at, opened=[reopened]) == (["unavailable"], [])
    [condition] = await store.open_conditions("voice-bot")
    assert (condition.opened_at, condition.reopened_at, condition.finding) == (
        T0 - INTERVAL,
        back_at,
        {"title": "down again"},
    )
    keys = sorted(r.dedup_key for r in await store.outbox_rows())
    assert keys == sorted([shown, muted_then, missing, "health-back:1"])  # no reply under a new opener
    row = await store.outbox_row_by_key(shown)
    assert row is not None and row.payload["cleared_at"] is None and row.payload["returns"] == 1
    assert await store_reads.reply_edits(store, "C1") == [shown]


def opener(watch: int, channel: str) -> NewPost:
    payload = HealthPayload(finding={"key": "unavailable", "title": "down"}, severity="critical", opened_at=T0)
    return NewPost(
        f"health:{watch}:unavailable:{int(T0.timestamp())}", OutboxKind.HEALTH, channel, "voice-bot", payload, watch
    )


async def posted(store: Store, channel: str, ts: str) -> None:
    [row] = await store.outbox_rows(channel)
    assert await store.claim(row, "tok", T0, LEASE)
    assert await store.apply(row, "tok", next_state(row, Posted(ts), now=T0, give_up_after=LEASE), T0)


async def test_a_condition_is_acknowledged_once_on_its_rows_and_every_channel_s_post(store: Store) -> None:
    """bot/store/agent_health.py `acknowledge_condition`: the first click wins (on any channel's
    post of the occurrence); its row and every opener's payload say who; unacknowledge clears both;
    a cleared condition's post takes no acknowledgement."""
    posts = (opener(1, "C1"), opener(2, "C2"))
    assert await store.claim_status_read("voice-bot", "a", T0, LEASE) is not None
    await store.record_status_read(
        "voice-bot", "a", now=T0, next_read_at=T0, memory={}, opened=[ConditionOpen("unavailable", {}, True, posts, T0)]
    )
    await posted(store, "C1", "1.1")
    await posted(store, "C2", "2.2")
    at = T0 + timedelta(minutes=2)
    assert await store.acknowledge_condition("C9", "1.1", "U1", at) is None  # not a post of ours
    first = await store.acknowledge_condition("C1", "1.1", "U1", at)
    assert first is not None and (first.by, first.at, first.first) == ("U1", at, True)
    again = await store.acknowledge_condition("C2", "2.2", "U2", at + LEASE)
    assert again is not None and (again.by, again.at, again.first) == ("U1", at, False)
    [condition] = await store.open_conditions("voice-bot")
    assert (condition.ack_by, condition.ack_at) == ("U1", at)
    for channel in ("C1", "C2"):
        [row] = await store.outbox_rows(channel)
        body = row.body()
        assert isinstance(body, HealthPayload) and (body.ack_by, body.ack_at) == ("U1", at)
    assert {r.dedup_key for r in await store.ready_reply_edits("C1", 10)} == {posts[0].dedup_key}

    assert await store.unacknowledge_condition("C2", "2.2", at + LEASE)
    [condition] = await store.open_conditions("voice-bot")
    assert condition.ack_by is None
    [row] = await store.outbox_rows("C1")
    body = row.body()
    assert isinstance(body, HealthPayload) and body.ack_by is None

    assert await store.claim_status_read("voice-bot", "a", T0 + INTERVAL, LEASE) is not None
    await store.record_status_read(
        "voice-bot",
        "a",
        now=T0 + INTERVAL,
        next_read_at=T0 + INTERVAL,
        memory={},
        cleared=[
            ConditionClear(
                "unavailable",
                T0,
                (),
                openers=tuple(p.dedup_key for p in posts),
                opener_changes={"cleared_at": (T0 + INTERVAL).isoformat()},
            )
        ],
    )
    assert await store.acknowledge_condition("C1", "1.1", "U1", T0 + INTERVAL) is None  # cleared
