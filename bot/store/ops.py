"""Reads across aggregates for operating the app: /healthz and the /metrics gauges (`ops_snapshot`),
and the App Home's watches (each with its mute and its posts still waiting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, text

from bot.contracts.views import AgentPoll, HomeWatch
from bot.store.base import StoreBase
from bot.store.polling import watched_polls
from bot.store.records import DELIVERABLE
from bot.store.schema import alert_outbox, incidents, mutes, subscriptions


@dataclass(frozen=True)
class OpsSnapshot:
    watch_count: int
    outbox_depth: int
    oldest_pending_at: datetime | None
    open_incidents: int
    polls: tuple[AgentPoll, ...]

    @property
    def newest_success(self) -> datetime | None:
        times = [p.last_success_at for p in self.polls if p.last_success_at is not None]
        return max(times) if times else None


class OpsStore(StoreBase):
    async def ping(self) -> None:
        """One round trip; raises whatever the driver raises when the database is away."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def ops_snapshot(self) -> OpsSnapshot:
        async with self._read() as conn:
            watches = (await conn.execute(select(func.count()).select_from(subscriptions))).scalar_one()
            waiting = alert_outbox.c.state.in_(DELIVERABLE)
            depth, oldest = (
                await conn.execute(select(func.count(), func.min(alert_outbox.c.created_at)).where(waiting))
            ).one()
            open_count = (
                await conn.execute(select(func.count()).select_from(incidents).where(incidents.c.closed_at.is_(None)))
            ).scalar_one()
            polls = await watched_polls(conn)
        return OpsSnapshot(int(watches), int(depth), oldest, int(open_count), polls)

    async def home_watches(self, now: datetime) -> list[HomeWatch]:
        """Every watch of the workspace with its mute and how many of its posts are still waiting."""
        live_mute = and_(
            mutes.c.channel_id == subscriptions.c.channel_id,
            mutes.c.agent == subscriptions.c.agent,
            mutes.c.until > now,
        )
        waiting = (
            select(func.count())
            .where(alert_outbox.c.subscription_id == subscriptions.c.id, alert_outbox.c.state.in_(DELIVERABLE))
            .scalar_subquery()
        )
        query = (
            select(subscriptions, mutes.c.until, waiting.label("undelivered"))
            .select_from(subscriptions.outerjoin(mutes, live_mute))
            .order_by(subscriptions.c.channel_id, subscriptions.c.agent)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            HomeWatch(
                channel_id=r["channel_id"],
                agent=r["agent"],
                statuses=frozenset(r["statuses"]),
                group=r["group_mention"],
                muted_until=r["until"],
                broken_reason=r["broken_reason"],
                last_alert_at=r["last_alert_at"],
                undelivered=int(r["undelivered"] or 0),
                page=bool(r.get("page", False)),
            )
            for r in rows
        ]
