"""The audit writer's group commit: every entry is committed before its write returns, entries
that arrive while a write is in flight share the next transaction, and a failed transaction fails
only its own batch's writers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.access.audit_writer import AuditWriter
from bot.store.audit import AuditEntry

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def entry(i: int) -> AuditEntry:
    return AuditEntry(T0, f"U{i}", "C1", "lookup", f"voice-bot {i}", "ok")


class SlowTrail:
    """An audit trail whose commit takes a moment (a test double of the store's batch write)."""

    def __init__(self, fail_first: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.committed: set[str] = set()
        self.fail_first = fail_first

    async def record_audits(self, entries: Sequence[AuditEntry]) -> None:
        await asyncio.sleep(0.01)
        self.batches.append([e.user_id for e in entries])
        if self.fail_first and len(self.batches) == 1:
            raise ConnectionError("database gone")
        self.committed |= {e.user_id for e in entries}

    async def prune_audit(self, before: datetime) -> int:
        return 0


async def test_a_burst_shares_transactions_and_each_write_returns_once_committed() -> None:
    trail = SlowTrail()
    writer = AuditWriter(trail)

    async def write(i: int) -> bool:
        await writer.write(entry(i))
        return f"U{i}" in trail.committed  # durable by the time the write returns

    assert all(await asyncio.gather(*(write(i) for i in range(50))))
    assert len(trail.batches) <= 2 and sorted(u for b in trail.batches for u in b) == sorted(f"U{i}" for i in range(50))


async def test_a_failed_transaction_fails_its_own_writers_and_the_next_batch_still_lands() -> None:
    trail = SlowTrail(fail_first=True)
    writer = AuditWriter(trail)
    first = asyncio.ensure_future(writer.write(entry(0)))
    await asyncio.sleep(0)  # the first batch is in flight; these two queue behind it
    later = [asyncio.ensure_future(writer.write(entry(i))) for i in (1, 2)]
    with pytest.raises(ConnectionError):
        await first
    await asyncio.gather(*later)
    assert trail.committed == {"U1", "U2"}


async def test_a_cancelled_writer_does_not_strand_the_entries_behind_it() -> None:
    trail = SlowTrail()
    writer = AuditWriter(trail)
    first = asyncio.ensure_future(writer.write(entry(0)))
    await asyncio.sleep(0)
    behind = asyncio.ensure_future(writer.write(entry(1)))
    first.cancel()
    await asyncio.wait_for(behind, timeout=2)
    assert "U1" in trail.committed
