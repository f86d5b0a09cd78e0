"""Incidents: routing alerts into them, closing quiet ones, acknowledging, re-render bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import LeaseLost, StoreBase, from_row
from bot.store.records import MUTED, PENDING, ROLLED_UP, Incident, IncidentChange
from bot.store.schema import alert_outbox, channel_state, incidents


class RoutingConflict(LeaseLost):
    """A routing plan named an incident that was closed meanwhile: nothing was written; the
    alerts stay unrouted and the next pass plans again from the current state."""


class IncidentStore(StoreBase):
    async def open_incidents(self, channel_id: str) -> list[Incident]:
        query = (
            select(incidents)
            .where(incidents.c.channel_id == channel_id, incidents.c.closed_at.is_(None))
            .order_by(incidents.c.id)
        )
        async with self._read() as conn:
            return [from_row(Incident, r) for r in (await conn.execute(query)).mappings()]

    async def incident(self, incident_id: int) -> Incident | None:
        async with self._read() as conn:
            row = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).mappings().first()
        return from_row(Incident, row) if row else None

    async def incident_by_parent(self, channel_id: str, parent_ts: str) -> Incident | None:
        query = select(incidents).where(incidents.c.channel_id == channel_id, incidents.c.parent_ts == parent_ts)
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return from_row(Incident, row) if row else None

    async def incidents_for(self, channel_id: str, agent: str | None = None) -> list[Incident]:
        query = select(incidents).where(incidents.c.channel_id == channel_id).order_by(incidents.c.id)
        if agent is not None:
            query = query.where(incidents.c.agent == agent)
        async with self._read() as conn:
            return [from_row(Incident, r) for r in (await conn.execute(query)).mappings()]

    async def apply_routing(
        self,
        channel_id: str,
        owner: str,
        changes: Sequence[IncidentChange],
        muted_row_ids: Sequence[int],
        now: datetime,
    ) -> None:
        """Apply a routing plan in one transaction, under the channel lease.

        The plan carries every post it needs (a new incident's parent, a burst's roll-up, keys
        minted by bot/alerts/keys.py); the store only fills in new incident ids. Raises
        RoutingConflict (nothing written) if a planned incident was closed meanwhile.
        """
        async with self._write() as conn:
            if not await _holds_channel(conn, channel_id, owner):
                raise LeaseLost(f"delivery lease of {channel_id} lost")
            if muted_row_ids:
                await conn.execute(
                    update(alert_outbox)
                    .where(alert_outbox.c.id.in_(list(muted_row_ids)), alert_outbox.c.state == PENDING)
                    .values(state=MUTED, updated_at=now)
                )
            for change in changes:
                await self._apply_change(conn, change, now)

    async def _apply_change(self, conn: AsyncConnection, change: IncidentChange, now: datetime) -> None:
        values = {
            "first_failure_at": change.first_failure_at,
            "last_failure_at": change.last_failure_at,
            "last_activity_at": now,
            "session_count": change.session_count,
            "statuses": list(change.statuses),
            "latest_session_id": change.latest_session_id,
            "burst_started_at": change.burst_started_at,
            "burst_replies": change.burst_replies,
        }
        if change.incident_id is None:
            result = await conn.execute(
                incidents.insert()
                .values(
                    channel_id=change.channel_id,
                    agent=change.agent,
                    opened_at=now,
                    version=1,
                    rendered_version=0,
                    parent_key=change.parent_post.dedup_key if change.parent_post else None,
                    **values,
                )
                .returning(incidents.c.id)
            )
            incident_id = int(result.scalar_one())
            if change.parent_post is not None:
                await self.insert_posts(conn, [replace(change.parent_post, incident_id=incident_id)], now)
        else:
            incident_id = change.incident_id
            updated = await conn.execute(
                update(incidents)
                .where(incidents.c.id == incident_id, incidents.c.closed_at.is_(None))
                .values(version=incidents.c.version + 1, **values)
            )
            if updated.rowcount != 1:
                raise RoutingConflict(f"incident {incident_id} was closed while its alerts were routed")
        if change.reply_row_ids:
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id.in_(change.reply_row_ids), alert_outbox.c.state == PENDING)
                .values(incident_id=incident_id, updated_at=now)
            )
        if change.rolled_row_ids and change.rollup_post is None:
            # Held for the incident's next periodic roll-up (a busy agent's background, see
            # bot/alerts/decide.py held_agents): counted now, posted by `post_held_rollup`.
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id.in_(change.rolled_row_ids), alert_outbox.c.state == PENDING)
                .values(state=ROLLED_UP, incident_id=incident_id, rollup_id=None, updated_at=now)
            )
        if change.rolled_row_ids and change.rollup_post is not None:
            rollup = replace(change.rollup_post, incident_id=incident_id)
            await self.insert_posts(conn, [rollup], now)
            rollup_id = await conn.scalar(select(alert_outbox.c.id).where(alert_outbox.c.dedup_key == rollup.dedup_key))
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id.in_(change.rolled_row_ids), alert_outbox.c.state == PENDING)
                .values(state=ROLLED_UP, incident_id=incident_id, rollup_id=rollup_id, updated_at=now)
            )

    async def close_quiet_incidents(self, channel_id: str, owner: str, now: datetime, window: timedelta) -> int:
        """Close the channel's incidents with no failure for `window` (their parents then say
        "quiet since …"), under the channel lease: routing, which runs under it too, never adds
        a failure to an incident closed at the same time."""
        async with self._write() as conn:
            if not await _holds_channel(conn, channel_id, owner):
                raise LeaseLost(f"delivery lease of {channel_id} lost")
            result = await conn.execute(
                update(incidents)
                .where(
                    incidents.c.channel_id == channel_id,
                    incidents.c.closed_at.is_(None),
                    incidents.c.last_activity_at <= now - window,
                )
                .values(closed_at=now, version=incidents.c.version + 1)
            )
        return result.rowcount

    async def dirty_incidents(self, channel_id: str) -> list[Incident]:
        """Posted parents whose content changed since they were last rendered."""
        query = (
            select(incidents)
            .where(
                incidents.c.channel_id == channel_id,
                incidents.c.parent_ts.is_not(None),
                incidents.c.version > incidents.c.rendered_version,
            )
            .order_by(incidents.c.id)
        )
        async with self._read() as conn:
            return [from_row(Incident, r) for r in (await conn.execute(query)).mappings()]

    async def mark_rendered(self, incident_id: int, version: int) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(incidents)
                .where(incidents.c.id == incident_id, incidents.c.rendered_version < version)
                .values(rendered_version=version)
            )

    async def acknowledge(self, channel_id: str, parent_ts: str, user_id: str, now: datetime) -> Incident | None:
        """Record who acknowledged the incident whose parent is `parent_ts` (the latest ack wins)."""
        async with self._write() as conn:
            result = await conn.execute(
                update(incidents)
                .where(incidents.c.channel_id == channel_id, incidents.c.parent_ts == parent_ts)
                .values(ack_by=user_id, ack_at=now, version=incidents.c.version + 1)
            )
            if result.rowcount == 0:
                return None
            query = select(incidents).where(incidents.c.channel_id == channel_id, incidents.c.parent_ts == parent_ts)
            row = (await conn.execute(query)).mappings().one()
        return from_row(Incident, row)


async def _holds_channel(conn: AsyncConnection, channel_id: str, owner: str) -> bool:
    """Whether `owner` holds the channel's lease; the row stays locked (PostgreSQL) until the
    caller's transaction ends, so nobody takes the lease over while it writes."""
    query = select(channel_state.c.lease_owner).where(channel_state.c.channel_id == channel_id).with_for_update()
    return bool(await conn.scalar(query) == owner)
