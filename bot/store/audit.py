"""The audit trail: one row per command or button, pruned after the retention period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert

from bot.store.base import StoreBase
from bot.store.schema import audit_log

DETAIL_LIMIT = 500


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    user_id: str
    channel_id: str
    action: str
    detail: str
    result: str


class AuditStore(StoreBase):
    async def record_audits(self, entries: Sequence[AuditEntry]) -> None:
        """Write `entries` in one transaction (one multi-row INSERT)."""
        if not entries:
            return
        rows = [
            {
                "at": entry.at,
                "user_id": entry.user_id[:32],
                "channel_id": entry.channel_id[:32],
                "action": entry.action[:64],
                "detail": entry.detail[:DETAIL_LIMIT],
                "result": entry.result[:32],
            }
            for entry in entries
        ]
        async with self._write() as conn:
            await conn.execute(insert(audit_log).values(rows))

    async def prune_audit(self, before: datetime) -> int:
        async with self._write() as conn:
            result = await conn.execute(delete(audit_log).where(audit_log.c.at < before))
        return int(result.rowcount or 0)
