"""Read-mostly queries for operating the app: health, metrics gauges, the App Home, digests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import StoreBase, to_incident, to_outbox
from bot.store.records import DELIVERABLE, KIND_ALERT, SENT, Incident, OutboxRow
from bot.store.schema import alert_outbox, digest_settings, incidents, mutes, poll_state, subscriptions


@dataclass(frozen=True)
class AgentPoll:
    """Polling as the App Home and the metrics see it, for one watched agent."""

    agent: str
    #: The last poll that reached Pipecat (any replica): the watermark, which only a successful
    #: poll advances (to its start) and a new watch seeds with the time of its first request.
    last_success_at: datetime | None
    failures: int
    last_error: str | None


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


@dataclass(frozen=True)
class HomeWatch:
    channel_id: str
    agent: str
    statuses: frozenset[str]
    group: str | None
    muted_until: datetime | None
    broken_reason: str | None
    last_alert_at: datetime | None
    undelivered: int
    page: bool = False


@dataclass(frozen=True)
class DigestSetting:
    channel_id: str
    hour: int
    minute: int
    enabled_at: datetime | None = None


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
            polls = await _agent_polls(conn)
        return OpsSnapshot(int(watches), int(depth), oldest, int(open_count), polls)

    async def agent_polls(self) -> tuple[AgentPoll, ...]:
        async with self._read() as conn:
            return await _agent_polls(conn)

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

    async def all_open_incidents(self) -> list[Incident]:
        query = select(incidents).where(incidents.c.closed_at.is_(None)).order_by(incidents.c.opened_at.desc())
        async with self._read() as conn:
            return [to_incident(r) for r in (await conn.execute(query)).mappings()]

    async def recent_alerts(self, limit: int) -> list[OutboxRow]:
        """The newest alert posts that reached Slack."""
        query = (
            select(alert_outbox)
            .where(alert_outbox.c.kind == KIND_ALERT, alert_outbox.c.state == SENT)
            .order_by(alert_outbox.c.updated_at.desc(), alert_outbox.c.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            return [to_outbox(r) for r in (await conn.execute(query)).mappings()]

    async def outbox_has(self, dedup_key: str) -> bool:
        query = select(alert_outbox.c.id).where(alert_outbox.c.dedup_key == dedup_key)
        async with self._read() as conn:
            return (await conn.execute(query)).first() is not None

    # -- digests ---------------------------------------------------------------------------------

    async def set_digest(self, channel_id: str, hour: int, minute: int, user_id: str, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(delete(digest_settings).where(digest_settings.c.channel_id == channel_id))
            await conn.execute(
                digest_settings.insert().values(
                    channel_id=channel_id, hour=hour, minute=minute, enabled_by=user_id, enabled_at=now
                )
            )

    async def clear_digest(self, channel_id: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(delete(digest_settings).where(digest_settings.c.channel_id == channel_id))
        return bool(result.rowcount)

    async def digests(self) -> Sequence[DigestSetting]:
        async with self._read() as conn:
            rows = (await conn.execute(select(digest_settings).order_by(digest_settings.c.channel_id))).mappings()
            return [DigestSetting(r["channel_id"], r["hour"], r["minute"], r["enabled_at"]) for r in rows]


async def _agent_polls(conn: AsyncConnection) -> tuple[AgentPoll, ...]:
    watched = select(subscriptions.c.agent).distinct().scalar_subquery()
    query = select(poll_state).where(poll_state.c.agent.in_(watched)).order_by(poll_state.c.agent)
    found = []
    for r in (await conn.execute(query)).mappings():
        found.append(AgentPoll(r["agent"], r["watermark"], int(r["failures"] or 0), r["last_error"]))
    return tuple(found)
