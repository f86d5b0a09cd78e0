"""Pipecat Cloud webhook events: the change timeline, and the queue of their effects.

A delivery is inserted once per `webhook_id` (a retry reuses the id): the insert is what makes a
redelivery change nothing. Its effects run afterwards from the stored row and set `processed_at`;
rows still unprocessed later are picked up again (`pending_webhook_events`). The alerts those
effects open live among the agents' conditions (bot/store/agent_health.py `open_webhook_alert`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.store.base import StoreBase, from_row
from bot.store.schema import webhook_events
from bot.webhooks.events import StoredEvent


class WebhookStore(StoreBase):
    async def record_webhook(
        self,
        *,
        webhook_id: str,
        event_type: str,
        org: str | None,
        created_at: datetime,
        received_at: datetime,
        agent: str | None,
        build_id: str | None,
        data: dict[str, Any],
    ) -> tuple[StoredEvent, bool]:
        """Store a verified delivery; (the stored event, True) the first time its id arrives,
        (the event stored then, False) for a redelivery."""
        async with self._write() as conn:
            inserted = await conn.execute(
                self.insert_ignore(webhook_events, ["webhook_id"])
                .values(
                    webhook_id=webhook_id,
                    event_type=event_type,
                    org=org,
                    created_at=created_at,
                    received_at=received_at,
                    agent=agent,
                    build_id=build_id,
                    data=data,
                )
                .returning(*webhook_events.c)
            )
            row = inserted.mappings().first()
            if row is not None:
                return from_row(StoredEvent, row), True
            # A redelivery: DO NOTHING returned no row; the one stored the first time answers it.
            query = select(webhook_events).where(webhook_events.c.webhook_id == webhook_id)
            stored = (await conn.execute(query)).mappings().one()
        return from_row(StoredEvent, stored), False

    async def pending_webhook_events(self, received_before: datetime, limit: int) -> list[StoredEvent]:
        """Events whose effects have not run, oldest first (the sweep's work)."""
        query = (
            select(webhook_events)
            .where(webhook_events.c.processed_at.is_(None), webhook_events.c.received_at <= received_before)
            .order_by(webhook_events.c.received_at, webhook_events.c.id)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [from_row(StoredEvent, r) for r in rows]

    async def mark_webhook_processed(self, event_id: int, now: datetime) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id == event_id, webhook_events.c.processed_at.is_(None))
                .values(processed_at=now)
            )
        return bool(result.rowcount)

    async def webhook_events_between(self, since: datetime, until: datetime, limit: int) -> list[StoredEvent]:
        """Events that happened in [since, until], newest first, at most `limit`."""
        query = (
            select(webhook_events)
            .where(webhook_events.c.created_at >= since, webhook_events.c.created_at <= until)
            .order_by(webhook_events.c.created_at.desc(), webhook_events.c.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [from_row(StoredEvent, r) for r in rows]

    async def webhook_builds(self, build_ids: Sequence[str]) -> list[StoredEvent]:
        """The build events of these builds (a deployment's line names its build's commit)."""
        if not build_ids:
            return []
        query = select(webhook_events).where(
            webhook_events.c.build_id.in_(list(build_ids)), webhook_events.c.event_type.like("build.%")
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [from_row(StoredEvent, r) for r in rows]

    async def prune_webhook_events(self, received_before: datetime) -> int:
        """Forget processed events received before the cut-off (unprocessed ones wait for the sweep)."""
        async with self._write() as conn:
            result = await conn.execute(
                delete(webhook_events).where(
                    webhook_events.c.received_at < received_before, webhook_events.c.processed_at.is_not(None)
                )
            )
        return int(result.rowcount or 0)

    # -- alerts among the agents' open conditions ------------------------------------------------


__all__ = ["WebhookStore"]
