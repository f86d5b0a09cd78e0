"""Incidents: routing alerts into them, closing quiet ones, acknowledging, re-render bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import LeaseLost, StoreBase, from_row
from bot.store.records import Incident, IncidentChange, NewPost, OutboxKind, OutboxRow, OutboxState
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

    async def all_open_incidents(self) -> list[Incident]:
        query = select(incidents).where(incidents.c.closed_at.is_(None)).order_by(incidents.c.opened_at.desc())
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
        minted by bot/contracts/keys.py); the store only fills in new incident ids. Raises
        RoutingConflict (nothing written) if a planned incident was closed meanwhile.
        """
        async with self._write() as conn:
            if not await _holds_channel(conn, channel_id, owner):
                raise LeaseLost(f"delivery lease of {channel_id} lost")
            if muted_row_ids:
                await conn.execute(
                    update(alert_outbox)
                    .where(alert_outbox.c.id.in_(list(muted_row_ids)), alert_outbox.c.state == OutboxState.PENDING)
                    .values(state=OutboxState.MUTED, updated_at=now)
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
                .where(alert_outbox.c.id.in_(change.reply_row_ids), alert_outbox.c.state == OutboxState.PENDING)
                .values(incident_id=incident_id, updated_at=now)
            )
        if change.rolled_row_ids and change.rollup_post is None:
            # Held for the incident's next periodic roll-up (a busy agent's background, see
            # bot/alerts/incidents/decide.py held_agents): counted now, posted by `post_held_rollup`.
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id.in_(change.rolled_row_ids), alert_outbox.c.state == OutboxState.PENDING)
                .values(state=OutboxState.ROLLED_UP, incident_id=incident_id, rollup_id=None, updated_at=now)
            )
        if change.rolled_row_ids and change.rollup_post is not None:
            rollup = replace(change.rollup_post, incident_id=incident_id)
            await self.insert_posts(conn, [rollup], now)
            rollup_id = await conn.scalar(select(alert_outbox.c.id).where(alert_outbox.c.dedup_key == rollup.dedup_key))
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id.in_(change.rolled_row_ids), alert_outbox.c.state == OutboxState.PENDING)
                .values(state=OutboxState.ROLLED_UP, incident_id=incident_id, rollup_id=rollup_id, updated_at=now)
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

    async def confirm_render(
        self,
        incident_id: int,
        version: int,
        parent_ts: str,
        owner: str,
        now: datetime,
        *,
        lease_ttl: timedelta,
        margin: timedelta,
    ) -> bool:
        """The fence right before a parent's chat.update: True only if `owner` holds the channel's
        lease with at least `margin` to run (it is then extended by `lease_ttl`) and nobody has shown
        `version` or a newer one of the parent `parent_ts`. False means: do not edit.

        A worker paused (SIGSTOP, a long GC) between rendering and editing finds here that another
        worker took the lease over (and may have shown a newer state): its older render never lands.
        """
        async with self._write() as conn:
            channel_id = await conn.scalar(select(incidents.c.channel_id).where(incidents.c.id == incident_id))
            lease = (
                await conn.execute(
                    select(channel_state.c.lease_owner, channel_state.c.lease_expires_at)
                    .where(channel_state.c.channel_id == channel_id)
                    .with_for_update()
                )
            ).first()
            if lease is None or lease.lease_owner != owner or lease.lease_expires_at is None:
                return False
            expires: datetime = lease.lease_expires_at
            if (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) < now + margin:
                return False
            unshown = await conn.scalar(
                select(incidents.c.id).where(
                    incidents.c.id == incident_id,
                    incidents.c.parent_ts == parent_ts,
                    incidents.c.rendered_version < version,
                )
            )
            if unshown is None:
                return False
            await conn.execute(
                update(channel_state)
                .where(channel_state.c.channel_id == channel_id, channel_state.c.lease_owner == owner)
                .values(lease_expires_at=now + lease_ttl)
            )
        return True

    async def replace_parent(self, incident_id: int, lost_ts: str, parent: NewPost, now: datetime) -> bool:
        """The incident's parent `lost_ts` is gone (a person deleted it): the incident takes a new
        parent post (`parent`, minted by the caller), and its replies wait for it. False when the
        parent changed meanwhile (someone else replaced it)."""
        async with self._write() as conn:
            result = await conn.execute(
                update(incidents)
                .where(incidents.c.id == incident_id, incidents.c.parent_ts == lost_ts)
                .values(parent_ts=None, parent_key=parent.dedup_key, version=incidents.c.version + 1)
            )
            if result.rowcount != 1:
                return False
            await self.insert_posts(conn, [replace(parent, incident_id=incident_id)], now)
        return True

    async def mark_rendered(self, incident_id: int, version: int) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(incidents)
                .where(incidents.c.id == incident_id, incidents.c.rendered_version < version)
                .values(rendered_version=version)
            )

    async def rerender_incidents_begun(self, since: datetime, until: datetime, agent: str | None) -> int:
        """Posted open incidents (of `agent`, or of every agent when None) whose failures began in
        [since, until] get their parent re-rendered: a change that arrived late joins their "What
        changed". Returns how many."""
        query = update(incidents).where(
            incidents.c.closed_at.is_(None),
            incidents.c.parent_ts.is_not(None),
            incidents.c.first_failure_at >= since,
            incidents.c.first_failure_at <= until,
        )
        if agent is not None:
            query = query.where(incidents.c.agent == agent)
        async with self._write() as conn:
            result = await conn.execute(query.values(version=incidents.c.version + 1))
        return int(result.rowcount or 0)

    async def acknowledge(self, channel_id: str, parent_ts: str, user_id: str, now: datetime) -> Incident | None:
        """Record who acknowledged the incident whose parent is `parent_ts`. The first ack wins: a
        later click (a second person, a double click) changes nothing, and the incident returned
        names the first acknowledger. None if no incident has that parent."""
        where = (incidents.c.channel_id == channel_id, incidents.c.parent_ts == parent_ts)
        async with self._write() as conn:
            await conn.execute(
                update(incidents)
                .where(*where, incidents.c.ack_at.is_(None))
                .values(ack_by=user_id, ack_at=now, version=incidents.c.version + 1)
            )
            row = (await conn.execute(select(incidents).where(*where))).mappings().first()
        return from_row(Incident, row) if row is not None else None

    async def previous_reply_session(self, incident_id: int, before_row_id: int) -> str | None:
        """The session of the incident's reply posted last before outbox row `before_row_id` (the
        thread's previous session reply), or None."""
        query = (
            select(alert_outbox.c.session_id)
            .where(
                alert_outbox.c.incident_id == incident_id,
                alert_outbox.c.kind == OutboxKind.ALERT,
                alert_outbox.c.state == OutboxState.SENT,
                alert_outbox.c.id < before_row_id,
            )
            .order_by(alert_outbox.c.id.desc())
            .limit(1)
        )
        async with self._read() as conn:
            found = await conn.scalar(query)
        return str(found) if found else None

    async def unacknowledge(self, channel_id: str, parent_ts: str) -> Incident | None:
        """Clear who acknowledged the open incident whose parent is `parent_ts` (the Acknowledge
        button comes back). The incident as it is now; None if no incident has that parent."""
        where = (incidents.c.channel_id == channel_id, incidents.c.parent_ts == parent_ts)
        async with self._write() as conn:
            await conn.execute(
                update(incidents)
                .where(*where, incidents.c.ack_at.is_not(None), incidents.c.closed_at.is_(None))
                .values(ack_by=None, ack_at=None, version=incidents.c.version + 1)
            )
            row = (await conn.execute(select(incidents).where(*where))).mappings().first()
        return from_row(Incident, row) if row is not None else None

    async def resolve(
        self, channel_id: str, parent_ts: str, user_id: str, reason: str | None, now: datetime
    ) -> tuple[Incident, bool] | None:
        """Close the incident whose parent is `parent_ts` now, by hand: the next failure opens a new
        one. (incident, True) when this call closed it; (incident, False) when it was closed
        already (it keeps who closed it first, and when); None if no incident has that parent."""
        where = (incidents.c.channel_id == channel_id, incidents.c.parent_ts == parent_ts)
        async with self._write() as conn:
            result = await conn.execute(
                update(incidents)
                .where(*where, incidents.c.closed_at.is_(None))
                .values(
                    closed_at=now,
                    resolved_by=user_id,
                    resolve_reason=reason,
                    version=incidents.c.version + 1,
                )
            )
            row = (await conn.execute(select(incidents).where(*where))).mappings().first()
        return (from_row(Incident, row), result.rowcount == 1) if row is not None else None

    # -- a busy agent's background: held failures, posted as periodic roll-ups --------------------

    async def held_rollups(self, channel_id: str) -> dict[int, list[OutboxRow]]:
        """Failures held for a periodic roll-up, by incident (oldest first)."""
        query = (
            select(alert_outbox)
            .where(
                alert_outbox.c.channel_id == channel_id,
                alert_outbox.c.kind == OutboxKind.ALERT,
                alert_outbox.c.state == OutboxState.ROLLED_UP,
                alert_outbox.c.rollup_id.is_(None),
                alert_outbox.c.incident_id.is_not(None),
            )
            .order_by(alert_outbox.c.id)
        )
        found: dict[int, list[OutboxRow]] = {}
        async with self._read() as conn:
            for r in (await conn.execute(query)).mappings():
                row = from_row(OutboxRow, r)
                assert row.incident_id is not None
                found.setdefault(row.incident_id, []).append(row)
        return found

    async def held_rollup_channels(self, held_before: datetime) -> list[str]:
        """Channels holding a failure since before `held_before` (its roll-up is due)."""
        query = (
            select(alert_outbox.c.channel_id)
            .where(
                alert_outbox.c.kind == OutboxKind.ALERT,
                alert_outbox.c.state == OutboxState.ROLLED_UP,
                alert_outbox.c.rollup_id.is_(None),
                alert_outbox.c.created_at <= held_before,
            )
            .distinct()
        )
        async with self._read() as conn:
            return sorted((await conn.execute(query)).scalars())

    async def post_held_rollup(self, rollup: NewPost, row_ids: Sequence[int], now: datetime) -> bool:
        """Enqueue the roll-up of held rows and point them at it, in one transaction; False (and
        nothing written) when another pass did it already."""
        async with self._write() as conn:
            if not await self.insert_posts(conn, [rollup], now):
                return False
            rollup_id = await conn.scalar(select(alert_outbox.c.id).where(alert_outbox.c.dedup_key == rollup.dedup_key))
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id.in_(list(row_ids)), alert_outbox.c.rollup_id.is_(None))
                .values(rollup_id=rollup_id, updated_at=now)
            )
        return True


async def _holds_channel(conn: AsyncConnection, channel_id: str, owner: str) -> bool:
    """Whether `owner` holds the channel's lease; the row stays locked (PostgreSQL) until the
    caller's transaction ends, so nobody takes the lease over while it writes."""
    query = select(channel_state.c.lease_owner).where(channel_state.c.channel_id == channel_id).with_for_update()
    return bool(await conn.scalar(query) == owner)
