"""Subscriptions (watches) and mutes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import StoreBase, from_row
from bot.store.records import DELIVERABLE, Mute, OutboxState, Watch
from bot.store.schema import alert_outbox, incidents, mutes, poll_state, subscriptions
from bot.store.types import UTCDateTime

#: last_error of outbox rows cancelled because their watch was removed.
UNWATCHED = "unwatched"


class WatchStore(StoreBase):
    async def upsert_watch(
        self,
        channel_id: str,
        agent: str,
        statuses: Iterable[str],
        group: str | None,
        user_id: str,
        now: datetime,
        page: bool = False,
        runbook: str | None = None,
    ) -> tuple[Watch, bool]:
        """Create the watch, or update its statuses, group, paging and runbook (and clear a broken
        mark and PagerDuty's last error). True if new."""
        values = sorted({s.upper() for s in statuses})
        async with self._write() as conn:
            inserted = await conn.execute(
                self.insert_ignore(subscriptions, ["channel_id", "agent"])
                .values(
                    channel_id=channel_id,
                    agent=agent,
                    statuses=values,
                    group_mention=group,
                    created_by=user_id,
                    created_at=now,
                    page=page,
                    runbook=runbook,
                )
                .returning(subscriptions.c.id)
            )
            created = inserted.first() is not None
            if not created:
                await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.channel_id == channel_id, subscriptions.c.agent == agent)
                    .values(
                        statuses=values,
                        group_mention=group,
                        broken_reason=None,
                        broken_at=None,
                        page=page,
                        runbook=runbook,
                        page_error=None,
                        page_error_at=None,
                    )
                )
            row = (await conn.execute(_by_channel_agent(channel_id, agent))).mappings().one()
        return from_row(Watch, row), created

    async def remove_watch(self, channel_id: str, agent: str, now: datetime) -> bool:
        """Delete the watch; its undelivered posts are marked dead (not silently lost)."""
        async with self._write() as conn:
            found = (
                await conn.execute(
                    delete(subscriptions)
                    .where(subscriptions.c.channel_id == channel_id, subscriptions.c.agent == agent)
                    .returning(subscriptions.c.id)
                )
            ).first()
            if found is None:
                return False
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.subscription_id == found.id, alert_outbox.c.state.in_(DELIVERABLE))
                .values(state=OutboxState.DEAD, last_error=UNWATCHED, claim_token=None, updated_at=now)
            )
            await conn.execute(delete(mutes).where(mutes.c.channel_id == channel_id, mutes.c.agent == agent))
            remaining = await conn.scalar(
                select(func.count()).select_from(subscriptions).where(subscriptions.c.agent == agent)
            )
            if not remaining:
                # Nobody watches it now: a later watch starts from scratch, with no back-fill.
                await conn.execute(delete(poll_state).where(poll_state.c.agent == agent))
        return True

    async def watch(self, channel_id: str, agent: str) -> Watch | None:
        async with self._read() as conn:
            row = (await conn.execute(_by_channel_agent(channel_id, agent))).mappings().first()
        return from_row(Watch, row) if row else None

    async def all_watches(self) -> dict[str, list[Watch]]:
        async with self._read() as conn:
            query = select(subscriptions).order_by(subscriptions.c.id)
            grouped: dict[str, list[Watch]] = {}
            for r in (await conn.execute(query)).mappings():
                grouped.setdefault(r["agent"], []).append(from_row(Watch, r))
            return grouped

    async def watched_agents(self, channel_id: str | None = None) -> list[str]:
        query = select(subscriptions.c.agent).distinct().order_by(subscriptions.c.agent)
        if channel_id is not None:
            query = query.where(subscriptions.c.channel_id == channel_id)
        async with self._read() as conn:
            return list((await conn.execute(query)).scalars())

    async def watches_with_mutes(self, channel_id: str, now: datetime) -> list[tuple[Watch, Mute | None]]:
        """The channel's watches by agent, each with the mute in force on it (if any)."""
        live_mute = and_(
            mutes.c.channel_id == subscriptions.c.channel_id,
            mutes.c.agent == subscriptions.c.agent,
            mutes.c.until > now,
        )
        query = (
            select(subscriptions, mutes.c.until, mutes.c.muted_by)
            .select_from(subscriptions.outerjoin(mutes, live_mute))
            .where(subscriptions.c.channel_id == channel_id)
            .order_by(subscriptions.c.agent)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [(from_row(Watch, r), from_row(Mute, r) if r["until"] is not None else None) for r in rows]

    # -- mutes -----------------------------------------------------------------------------------

    async def set_mute(self, channel_id: str, agent: str, until: datetime, user_id: str, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(delete(mutes).where(mutes.c.channel_id == channel_id, mutes.c.agent == agent))
            await conn.execute(
                mutes.insert().values(channel_id=channel_id, agent=agent, until=until, muted_by=user_id, muted_at=now)
            )
            await _touch_open_incident(conn, channel_id, agent)

    async def clear_mute(self, channel_id: str, agent: str, now: datetime) -> bool:
        """True if a mute was in force."""
        async with self._write() as conn:
            result = await conn.execute(
                delete(mutes).where(mutes.c.channel_id == channel_id, mutes.c.agent == agent).returning(mutes.c.until)
            )
            until = result.scalar()
            await _touch_open_incident(conn, channel_id, agent)
        return until is not None and until > now

    async def active_mute(self, channel_id: str, agent: str, now: datetime) -> Mute | None:
        query = select(mutes).where(mutes.c.channel_id == channel_id, mutes.c.agent == agent, mutes.c.until > now)
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return from_row(Mute, row) if row else None

    async def active_mutes(self, now: datetime) -> dict[tuple[str, str], Mute]:
        async with self._read() as conn:
            rows = (await conn.execute(select(mutes).where(mutes.c.until > now))).mappings().all()
        return {(r["channel_id"], r["agent"]): from_row(Mute, r) for r in rows}


async def mark_broken(conn: AsyncConnection, channel_id: str, reason: str, now: datetime) -> None:
    """Inside the caller's transaction: the channel's watches are broken with `reason` (the first
    refusal's time stays: it says how long the channel has not been taking posts)."""
    await conn.execute(
        update(subscriptions)
        .where(subscriptions.c.channel_id == channel_id)
        .values(broken_reason=reason, broken_at=func.coalesce(subscriptions.c.broken_at, literal(now, UTCDateTime())))
    )


def _by_channel_agent(channel_id: str, agent: str) -> Select[Any]:
    return select(subscriptions).where(subscriptions.c.channel_id == channel_id, subscriptions.c.agent == agent)


async def _touch_open_incident(conn: AsyncConnection, channel_id: str, agent: str) -> None:
    """The open incident's parent shows the mute, so it needs re-rendering."""
    await conn.execute(
        update(incidents)
        .where(incidents.c.channel_id == channel_id, incidents.c.agent == agent, incidents.c.closed_at.is_(None))
        .values(version=incidents.c.version + 1)
    )
