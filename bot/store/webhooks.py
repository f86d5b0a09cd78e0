"""Pipecat Cloud webhook events (the change timeline and the queue of their effects), and the
alerts they open among an agent's open conditions.

A delivery is inserted once per `webhook_id` (a retry reuses the id): the insert is what makes a
redelivery change nothing. Its effects run afterwards from the stored row and set `processed_at`;
rows still unprocessed later are picked up again (`pending_webhook_events`).

Webhook alerts live in `agent_conditions` under keys that start with `webhook:` (one row per
agent they concern), so the App Home, the incident parent's health line and the PagerDuty
mirror of health conditions show and page them like any condition. Inserting or deleting those
rows, and the posts that announce it, happen in one transaction: only the transaction that
opened (or cleared) an alert enqueues its posts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.agent_health import touch_openers
from bot.store.base import StoreBase, from_row
from bot.store.payloads import HealthClearPayload
from bot.store.records import NewPost, OpenCondition
from bot.store.schema import agent_conditions, agent_status, incidents, webhook_events
from bot.webhooks.events import StoredEvent


@dataclass(frozen=True)
class ScopedPost:
    """A post for a channel that watches `agents`: made only if the change reached one of them
    here and, for an opening, none of them had the alert open already."""

    agents: frozenset[str]
    post: NewPost


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
                .returning(webhook_events.c.id)
            )
            new = inserted.first() is not None
            row = (
                (await conn.execute(select(webhook_events).where(webhook_events.c.webhook_id == webhook_id)))
                .mappings()
                .one()
            )
        return from_row(StoredEvent, row), new

    async def webhook_event(self, event_id: int) -> StoredEvent | None:
        async with self._read() as conn:
            row = (await conn.execute(select(webhook_events).where(webhook_events.c.id == event_id))).mappings().first()
        return from_row(StoredEvent, row) if row else None

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

    async def open_webhook_alert(
        self,
        *,
        key: str,
        finding: dict[str, Any],
        agents: Sequence[str],
        opened_at: datetime,
        posts: Sequence[ScopedPost],
        now: datetime,
    ) -> list[str]:
        """Open the alert `key` on each of `agents` where it is not open; enqueue the posts whose
        channel watches an agent it opened on here and none it was open on before. Returns the
        agents it opened on."""
        if not agents:
            return []
        async with self._write() as conn:
            before = set(
                (
                    await conn.execute(
                        select(agent_conditions.c.agent).where(
                            agent_conditions.c.condition_key == key, agent_conditions.c.agent.in_(list(agents))
                        )
                    )
                ).scalars()
            )
            opened: set[str] = set()
            for agent in sorted(set(agents) - before):
                inserted = await conn.execute(
                    self.insert_ignore(agent_conditions, ["agent", "condition_key"])
                    .values(agent=agent, condition_key=key, opened_at=opened_at, finding=finding, posted=True)
                    .returning(agent_conditions.c.agent)
                )
                if inserted.first() is not None:
                    opened.add(agent)
            wanted = [p.post for p in posts if p.agents & opened and not p.agents & before]
            await self.insert_posts(conn, wanted, now)
            await self._rerender(conn, opened)
        return sorted(opened)

    async def clear_webhook_alert(
        self,
        *,
        key: str,
        opened: Sequence[OpenCondition],
        posts: Sequence[ScopedPost],
        opener_changes: Mapping[str, Any],
        now: datetime,
    ) -> list[str]:
        """Delete the open alert rows read as `opened` (each as it was: a newer occurrence is left
        alone), enqueue the posts of the channels that watch an agent it cleared on here, and merge
        `opener_changes` into those channels' opening posts (re-rendered once posted).
        Returns the agents it cleared on."""
        if not opened:
            return []
        cleared: set[str] = set()
        async with self._write() as conn:
            for condition in opened:
                deleted = await conn.execute(
                    delete(agent_conditions).where(
                        agent_conditions.c.agent == condition.agent,
                        agent_conditions.c.condition_key == key,
                        agent_conditions.c.opened_at == condition.opened_at,
                    )
                )
                if deleted.rowcount == 1:
                    cleared.add(condition.agent)
            told = [p.post for p in posts if p.agents & cleared]
            await self.insert_posts(conn, told, now)
            # The opening posts say "Resolved" (edited once posted), as a health alert's do.
            openers = [p.payload.opener_key for p in told if isinstance(p.payload, HealthClearPayload)]
            await touch_openers(self, conn, openers, opener_changes, now)
            await self._rerender(conn, cleared)
        return sorted(cleared)

    async def open_alerts(self, key: str) -> list[OpenCondition]:
        """Every agent's open occurrence of the condition `key`."""
        query = select(agent_conditions).where(agent_conditions.c.condition_key == key)
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            OpenCondition(r["agent"], r["condition_key"], r["opened_at"], dict(r["finding"]), bool(r["posted"]))
            for r in rows
        ]

    async def make_status_read_due(self, agent: str, now: datetime) -> None:
        """The agent's next status read is due now (a deployment just changed it)."""
        async with self._write() as conn:
            await conn.execute(
                update(agent_status)
                .where(agent_status.c.agent == agent, agent_status.c.next_read_at > now)
                .values(next_read_at=now)
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

    async def _rerender(self, conn: AsyncConnection, agents: set[str]) -> None:
        """The agents' open incident parents show their health: re-render them."""
        if not agents:
            return
        await conn.execute(
            update(incidents)
            .where(
                incidents.c.agent.in_(sorted(agents)),
                incidents.c.closed_at.is_(None),
                incidents.c.parent_ts.is_not(None),
            )
            .values(version=incidents.c.version + 1)
        )


__all__ = ["ScopedPost", "WebhookStore"]
