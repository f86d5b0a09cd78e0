"""The one store interface the alert pipeline uses; no SQL lives outside bot/store."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.audit import AuditStore
from bot.store.engine import create_engine, migrate
from bot.store.incidents import IncidentStore
from bot.store.outbox import OutboxStore
from bot.store.polling import PollStore
from bot.store.watches import WatchStore


class Store(WatchStore, PollStore, OutboxStore, IncidentStore, AuditStore):
    """SQLite or PostgreSQL behind the same intention-revealing async methods.

    Parts live in one module each (watches, polling, outbox, incidents); they share the engine and
    helpers of `StoreBase`.
    """

    @classmethod
    def from_url(cls, database_url: str, **engine_kwargs: object) -> Store:
        return cls(create_engine(database_url, **engine_kwargs))

    async def migrate(self, now: datetime | None = None) -> int:
        """Create or upgrade the schema (idempotent); returns the schema version."""
        return await migrate(self.engine, now=now or datetime.now(UTC))
