"""The audit trail's batch write on both backends: every entry of a batch lands, values cut to
their columns, and the trail is pruned by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import Store
from bot.store.audit import DETAIL_LIMIT, AuditEntry
from tests import store_reads

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


async def test_a_batch_of_entries_lands_in_one_write_cut_to_its_columns(store: Store) -> None:
    entries = [AuditEntry(T0 + timedelta(seconds=i), f"U{i}", "C1", "lookup", f"voice-bot {i}", "ok") for i in range(3)]
    long = AuditEntry(T0 + timedelta(seconds=9), "U" * 40, "C" * 40, "a" * 80, "d" * 900, "r" * 40)
    await store.record_audits([*entries, long])
    trail = await store_reads.recent_audit(store)
    assert [e.user_id for e in trail] == ["U" * 32, "U2", "U1", "U0"]
    newest = trail[0]
    assert len(newest.detail) == DETAIL_LIMIT and len(newest.action) == 64 and len(newest.result) == 32


async def test_an_empty_batch_writes_nothing_and_old_entries_are_pruned(store: Store) -> None:
    await store.record_audits([])
    await store.record_audits([AuditEntry(T0, "U1", "C1", "lookup", "old", "ok")])
    await store.record_audits([AuditEntry(T0 + timedelta(days=2), "U1", "C1", "lookup", "new", "ok")])
    assert await store.prune_audit(T0 + timedelta(days=1)) == 1
    assert [e.detail for e in await store_reads.recent_audit(store)] == ["new"]
