"""What the tests read (and set up) in the store that the product never does: plain SQL on the
store's engine, mapped to the store's own records (bot/store/base.py `from_row`).

These were Store methods that only the tests called; the product's repositories keep only what a
stage uses (bot/store/store.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.store import Store, schema
from bot.store.audit import AuditEntry
from bot.store.base import from_row
from bot.store.records import ItemFailure, OutboxKind, OutboxRow, Watch
from bot.store.schema import alert_outbox, audit_log, subscriptions
from bot.store.watches import mark_broken


async def recent_audit(store: Store, limit: int = 50) -> list[AuditEntry]:
    """The audit trail, newest first."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    async with store.engine.connect() as conn:
        return [from_row(AuditEntry, r) for r in (await conn.execute(query)).mappings()]


async def outbox_row(store: Store, row_id: int) -> OutboxRow | None:
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(alert_outbox).where(alert_outbox.c.id == row_id))).mappings().first()
    return from_row(OutboxRow, row) if row else None


async def page_rows(store: Store) -> list[OutboxRow]:
    """Every PagerDuty page row, oldest first."""
    query = select(alert_outbox).where(alert_outbox.c.kind == OutboxKind.PAGE).order_by(alert_outbox.c.id)
    async with store.engine.connect() as conn:
        return [from_row(OutboxRow, r) for r in (await conn.execute(query)).mappings()]


async def watches_for_agent(store: Store, agent: str) -> list[Watch]:
    query = select(subscriptions).where(subscriptions.c.agent == agent).order_by(subscriptions.c.id)
    async with store.engine.connect() as conn:
        return [from_row(Watch, r) for r in (await conn.execute(query)).mappings()]


async def reply_edits(store: Store, channel_id: str) -> list[str]:
    """The dedup keys of the channel's queued reply edits, oldest first."""
    edits = schema.reply_edits
    query = select(edits.c.dedup_key).where(edits.c.channel_id == channel_id).order_by(edits.c.created_at)
    async with store.engine.connect() as conn:
        return list((await conn.execute(query)).scalars())


async def item_failures(store: Store, agent: str) -> dict[str, ItemFailure]:
    """The agent's failing (and given-up) sessions, by id."""
    return (await store.item_failures_of([agent])).get(agent, {})


async def mark_channel_broken(store: Store, channel_id: str, reason: str, now: datetime) -> None:
    """Every watch of the channel shows `reason`, as when delivery finds Slack refusing it."""
    async with store.engine.begin() as conn:
        await mark_broken(conn, channel_id, reason, now)
