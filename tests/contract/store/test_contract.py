"""Store contract: the same behaviour on every backend (SQLite always, PostgreSQL when configured).

This half: URLs, migration, watches, mutes, poll state and seen sessions (outbox: test_store_outbox.py)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.contracts.notices import NoticeKind
from bot.store import LeaseLost, Store, engine_url
from bot.store.migrate import head_revision
from bot.store.payloads import AlertPayload, NoticePayload
from bot.store.records import EndedSession, NewPost, OutboxKind, OutboxState
from tests import store_reads
from tests.fixtures_store import PG_URL_ENV, open_store

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
TTL = timedelta(minutes=2)


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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///pipecat-ops.db", "sqlite+aiosqlite:///pipecat-ops.db"),
        ("sqlite:////abs/path.db", "sqlite+aiosqlite:////abs/path.db"),
        ("postgresql://u:p@db:5432/ops", "postgresql+psycopg://u:p@db:5432/ops"),
        ("postgres://u@db/ops", "postgresql+psycopg://u@db/ops"),
        ("postgresql+psycopg://u@db/ops", "postgresql+psycopg://u@db/ops"),
    ],
)
def test_engine_url(url: str, expected: str) -> None:
    assert engine_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://x/y", "pipecat-ops.db"])
def test_engine_url_refuses_other_databases(url: str) -> None:
    with pytest.raises(ValueError, match=r"DATABASE_URL|unsupported"):
        engine_url(url)


async def test_migrate_is_idempotent(store: Store) -> None:
    assert await store.migrate() == await store.migrate() == head_revision()


async def test_sqlite_runs_in_wal_mode(db_url: str) -> None:
    store = await open_store(db_url)
    try:
        async with store.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10_000
    finally:
        await store.dispose()


async def test_watch_upsert_updates_and_clears_broken(store: Store) -> None:
    first, created = await store.upsert_watch("C1", "voice-bot", ["http_error"], None, "U1", T0)
    assert created and first.statuses == {"HTTP_ERROR"}
    await store_reads.mark_channel_broken(store, "C1", "not_in_channel", T0)
    assert (await store.watch("C1", "voice-bot")).broken_reason == "not_in_channel"  # type: ignore[union-attr]
    again, created = await store.upsert_watch("C1", "voice-bot", ["500"], "<!subteam^S1>", "U2", T0 + TTL)
    assert not created and again.id == first.id
    assert (again.statuses, again.group, again.broken_reason) == (frozenset({"500"}), "<!subteam^S1>", None)
    assert again.created_at == T0
    await store.upsert_watch("C2", "voice-bot", ["HTTP_ERROR"], None, "U1", T0)
    await store.upsert_watch("C2", "support-bot", ["HTTP_ERROR"], None, "U1", T0)
    assert await store.watched_agents() == ["support-bot", "voice-bot"]
    assert await store.watched_agents("C1") == ["voice-bot"]
    assert [w.channel_id for w in await store_reads.watches_for_agent(store, "voice-bot")] == ["C1", "C2"]


async def test_watches_come_with_live_mutes_only(store: Store) -> None:
    await store.upsert_watch("C1", "voice-bot", ["HTTP_ERROR"], None, "U1", T0)
    await store.upsert_watch("C1", "support-bot", ["HTTP_ERROR"], None, "U1", T0)
    await store.set_mute("C1", "voice-bot", T0 + timedelta(hours=1), "U9", T0)
    await store.set_mute("C1", "support-bot", T0 - timedelta(minutes=1), "U9", T0)
    mutes = {watch.agent: mute for watch, mute in await store.watches_with_mutes("C1", T0)}
    voice = mutes["voice-bot"]
    assert voice is not None and voice.until == T0 + timedelta(hours=1) and voice.muted_by == "U9"
    assert mutes["support-bot"] is None
    assert await store.clear_mute("C1", "voice-bot", T0) is True
    assert await store.clear_mute("C1", "voice-bot", T0) is False
    assert await store.active_mute("C1", "voice-bot", T0) is None


async def test_unwatch_kills_queued_posts_and_forgets_poll_state_with_the_last_watch(store: Store) -> None:
    w1, _ = await store.upsert_watch("C1", "voice-bot", ["HTTP_ERROR"], None, "U1", T0)
    await store.upsert_watch("C2", "voice-bot", ["HTTP_ERROR"], None, "U1", T0)
    await store.seed_poll_state("voice-bot", T0, [])
    await store.enqueue([alert(w1.id, "s1")], T0)
    assert await store.remove_watch("C1", "voice-bot", T0) is True
    assert await store.remove_watch("C1", "voice-bot", T0) is False
    [row] = await store.outbox_rows()
    assert (row.state, row.last_error) == (OutboxState.DEAD, "unwatched")
    assert await store.poll_state("voice-bot") is not None  # C2 still watches it
    await store.remove_watch("C2", "voice-bot", T0)
    assert await store.poll_state("voice-bot") is None


async def test_poll_lease_is_exclusive_until_it_expires(store: Store) -> None:
    assert await store.seed_poll_state("voice-bot", T0, ["a"]) is True
    assert await store.seed_poll_state("voice-bot", T0 + TTL, []) is False  # seeding never resets
    assert (await store.poll_state("voice-bot")).active_set == {"a"}  # type: ignore[union-attr]
    assert await store.claim_poll("voice-bot", "r1", T0, TTL)
    assert not await store.claim_poll("voice-bot", "r2", T0 + TTL / 2, TTL)
    assert await store.claim_poll("voice-bot", "r2", T0 + TTL * 2, TTL)  # expired: taken over
    await store.release_poll_lease("voice-bot", "r1")  # not the owner any more: no effect
    assert not await store.claim_poll("voice-bot", "r1", T0 + TTL * 2, TTL)
    await store.release_poll_lease("voice-bot", "r2")
    assert await store.claim_poll("voice-bot", "r1", T0 + TTL * 2, TTL)


async def test_record_poll_enqueues_each_session_once(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, ["s1"])
    await store.claim_poll("voice-bot", "r1", T0, TTL)
    ended = [EndedSession("s1", (alert(1, "s1"), alert(2, "s1", "C2"))), EndedSession("s2")]
    later = T0 + timedelta(minutes=1)
    assert await store.record_poll("voice-bot", "r1", watermark=later, active_set=["s3"], ended=ended, now=later) == 2
    assert await store.record_poll("voice-bot", "r1", watermark=later, active_set=["s3"], ended=ended, now=later) == 0
    state = await store.poll_state("voice-bot")
    assert state is not None and (state.watermark, state.active_set) == (later, frozenset({"s3"}))
    assert await store.unseen("voice-bot", ["s1", "s2", "s9"]) == {"s9"}
    assert len(await store.outbox_rows()) == 2


async def test_record_poll_without_the_lease_writes_nothing(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, [])
    await store.claim_poll("voice-bot", "r1", T0, TTL)
    await store.claim_poll("voice-bot", "r2", T0 + TTL * 2, TTL)
    with pytest.raises(LeaseLost):
        await store.record_poll(
            "voice-bot",
            "r1",
            watermark=T0 + TTL,
            active_set=[],
            ended=[EndedSession("s1", (alert(1, "s1"),))],
            now=T0 + TTL,
        )
    assert await store.outbox_rows() == []
    assert await store.unseen("voice-bot", ["s1"]) == {"s1"}
    assert (await store.poll_state("voice-bot")).watermark == T0  # type: ignore[union-attr]


async def test_outage_notices_once_per_outage_and_recovery_once(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, [])
    await store.claim_poll("voice-bot", "r1", T0, TTL)
    first = await store.record_poll_failure("voice-bot", "r1", "ServerError", T0)
    second = await store.record_poll_failure("voice-bot", "r1", "ServerError", T0 + TTL)
    assert first is not None and second is not None
    assert (second.failures, second.outage_since, second.watermark) == (2, T0, T0)
    notice = NewPost(
        "outage:1:0", OutboxKind.NOTICE, "C1", "voice-bot", NoticePayload(type=NoticeKind.OUTAGE, since=T0), 1
    )
    assert await store.enqueue_outage_notices("voice-bot", [notice], T0) == 1
    assert await store.enqueue_outage_notices("voice-bot", [notice], T0) == 0
    recovery = NewPost(
        "recovery:1:0", OutboxKind.NOTICE, "C1", "voice-bot", NoticePayload(type=NoticeKind.RECOVERY, since=T0), 1
    )
    for _ in range(2):
        await store.record_poll(
            "voice-bot", "r1", watermark=T0 + TTL, active_set=[], ended=[], recovery_posts=[recovery], now=T0 + TTL
        )
    state = await store.poll_state("voice-bot")
    assert state is not None and (state.failures, state.outage_since, state.outage_notified) == (0, None, False)
    assert [r.dedup_key for r in await store.outbox_rows()] == ["outage:1:0", "recovery:1:0"]


async def test_prune_forgets_old_seen_sessions(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, [])
    await store.claim_poll("voice-bot", "r1", T0, TTL)
    await store.record_poll("voice-bot", "r1", watermark=T0, active_set=[], ended=[EndedSession("old")], now=T0)
    later = T0 + timedelta(days=8)
    await store.record_poll("voice-bot", "r1", watermark=later, active_set=[], ended=[EndedSession("new")], now=later)
    assert await store.prune_seen(later - timedelta(days=7)) == 1
    assert await store.unseen("voice-bot", ["old", "new"]) == {"old"}


async def test_two_processes_enqueueing_the_same_posts_insert_each_once(store: Store, db_url: str) -> None:
    """Two engines on one database (two replicas) race to enqueue the same dedup keys."""
    url = os.environ[PG_URL_ENV] if store.dialect == "postgresql" else db_url
    other = await open_store(url)
    try:
        posts = [alert(1, f"s{i}") for i in range(20)]
        results = await asyncio.gather(*(s.enqueue(posts, T0) for s in [store, other, store, other]))
        assert sum(results) == 20
        assert len(await store.outbox_rows()) == 20
    finally:
        await other.dispose()


async def test_a_taken_over_poll_lease_fences_the_old_owner(store: Store) -> None:
    await store.seed_poll_state("voice-bot", T0, [])
    assert await store.claim_poll("voice-bot", "paused", T0, TTL)
    assert await store.claim_poll("voice-bot", "live", T0 + TTL * 2, TTL)
    ended = [EndedSession("s1", (alert(1, "s1"),))]
    assert await store.record_poll("voice-bot", "live", watermark=T0, active_set=[], ended=ended, now=T0) == 1
    with pytest.raises(LeaseLost):
        await store.record_poll("voice-bot", "paused", watermark=T0, active_set=[], ended=ended, now=T0)
    assert len(await store.outbox_rows()) == 1
