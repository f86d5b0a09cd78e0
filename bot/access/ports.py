"""What the access gate calls on the store (bot/store/store.py `Store` satisfies it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.store.audit import AuditEntry


class AuditLog(Protocol):
    """The Gate (bot/access/gate.py): the audit trail it writes and prunes."""

    async def prune_audit(self, before: datetime) -> int: ...

    async def record_audits(self, entries: Sequence[AuditEntry]) -> None: ...
