"""Given-up rows are never silent: counted per watch, and summarised once to their channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import aliased

from bot.store.base import LeaseLost, StoreBase, from_row
from bot.store.records import NewPost, OutboxKind, OutboxRow, OutboxState
from bot.store.schema import alert_outbox, channel_state

#: The most given-up rows one summary lists (the rest wait for the next summary).
MAX_SUMMARISED = 200


class UndeliveredStore(StoreBase):
    async def unreported(self, channel_id: str) -> list[OutboxRow]:
        """The channel's given-up rows no summary has listed yet, oldest first."""
        query = (
            select(alert_outbox)
            .where(
                alert_outbox.c.channel_id == channel_id,
                alert_outbox.c.state == OutboxState.DEAD,
                alert_outbox.c.given_up_at.is_not(None),
                alert_outbox.c.summary_id.is_(None),
            )
            .order_by(alert_outbox.c.id)
            .limit(MAX_SUMMARISED)
        )
        async with self._read() as conn:
            return [from_row(OutboxRow, r) for r in (await conn.execute(query)).mappings()]

    async def in_trouble(self, channel_id: str) -> bool:
        """Whether a post of the channel is still being retried through Slack trouble (so Slack
        is not working for it again yet); summaries themselves do not count."""
        query = select(alert_outbox.c.id).where(
            alert_outbox.c.channel_id == channel_id,
            alert_outbox.c.state.in_((OutboxState.PENDING, OutboxState.UNCERTAIN, OutboxState.SENDING)),
            alert_outbox.c.failing_since.is_not(None),
            alert_outbox.c.kind.not_in((OutboxKind.SUMMARY, OutboxKind.PAGE)),
        )
        async with self._read() as conn:
            return await conn.scalar(query.limit(1)) is not None

    async def open_summary(self, channel_id: str) -> OutboxRow | None:
        """The channel's summary that is not posted yet and surely not in Slack (it can still grow)."""
        query = (
            select(alert_outbox)
            .where(
                alert_outbox.c.channel_id == channel_id,
                alert_outbox.c.kind == OutboxKind.SUMMARY,
                alert_outbox.c.state == OutboxState.PENDING,
            )
            .order_by(alert_outbox.c.id.desc())
            .limit(1)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return from_row(OutboxRow, row) if row else None

    async def save_summary(
        self, owner: str, summary: NewPost, existing: OutboxRow | None, listed: list[int], now: datetime
    ) -> bool:
        """Write the channel's summary (a new row, or the grown payload of `existing` while it is
        still pending) and mark `listed` rows as reported by it, in one transaction under the
        channel lease. False when `existing` moved on meanwhile (it is being posted)."""
        async with self._write() as conn:
            lease = select(channel_state.c.lease_owner).where(channel_state.c.channel_id == summary.channel_id)
            if await conn.scalar(lease.with_for_update()) != owner:
                raise LeaseLost(f"delivery lease of {summary.channel_id} lost")
            payload = summary.payload.model_dump(mode="json")
            if existing is not None:
                grown = await conn.execute(
                    update(alert_outbox)
                    .where(
                        alert_outbox.c.id == existing.id,
                        alert_outbox.c.state == OutboxState.PENDING,
                        alert_outbox.c.attempts == existing.attempts,
                    )
                    .values(payload=payload, updated_at=now)
                )
                if grown.rowcount != 1:
                    return False
                summary_id = existing.id
            else:
                await self.insert_posts(conn, [summary], now)
                found = select(alert_outbox.c.id).where(alert_outbox.c.dedup_key == summary.dedup_key)
                summary_id = int((await conn.execute(found)).scalar_one())
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id.in_(listed), alert_outbox.c.summary_id.is_(None))
                .values(summary_id=summary_id)
            )
        return True

    async def undelivered_counts(self, channel_id: str) -> dict[int, int]:
        """Per watch (subscription id) of the channel: sessions whose alert was given up (an alert
        row, or a session rolled into a given-up roll-up), and given-up agent health alerts."""
        rollup = aliased(alert_outbox)
        given_up_rollup = select(rollup.c.id).where(
            rollup.c.state == OutboxState.DEAD, rollup.c.given_up_at.is_not(None)
        )
        query = (
            select(alert_outbox.c.subscription_id, func.count())
            .where(
                alert_outbox.c.channel_id == channel_id,
                alert_outbox.c.kind.in_((OutboxKind.ALERT, OutboxKind.HEALTH)),
                or_(
                    and_(alert_outbox.c.state == OutboxState.DEAD, alert_outbox.c.given_up_at.is_not(None)),
                    and_(alert_outbox.c.state == OutboxState.ROLLED_UP, alert_outbox.c.rollup_id.in_(given_up_rollup)),
                ),
            )
            .group_by(alert_outbox.c.subscription_id)
        )
        async with self._read() as conn:
            return {sub: count for sub, count in (await conn.execute(query)).tuples() if sub is not None}
