"""Agent status reads (one per agent per interval across replicas) and the agents' open conditions.

Webhook alerts live among the conditions too, under keys that start with `webhook:` (one row per
agent they concern), so the App Home, the incident parent's health line and the PagerDuty mirror of
health conditions show and page them like any condition. Inserting or deleting those rows, and the
posts that announce it, happen in one transaction: only the transaction that opened (or cleared) an
alert enqueues its posts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import LeaseLost, StoreBase, from_row, lease_takeable
from bot.store.outbox import open_alert_post
from bot.store.payloads import HealthClearPayload, HealthPayload, RatePayload
from bot.store.records import (
    ConditionClear,
    ConditionOpen,
    NewPost,
    OpenCondition,
    OutboxKind,
    OutboxRow,
    OutboxState,
    ScopedPost,
)
from bot.store.schema import agent_conditions, agent_status, alert_outbox, incidents, reply_edits

#: Condition keys of webhook alerts (`open_webhook_alert`): one occurrence spans every agent it
#: concerns, so its acknowledgement is recorded on all of their rows.
WEBHOOK_KEY_PREFIX = "webhook:"


@dataclass(frozen=True)
class ConditionAck:
    """Who acknowledged an alert (a condition occurrence, a rate episode) and when; `first`: this
    click was the one that did."""

    by: str
    at: datetime
    first: bool


class AgentHealthStore(StoreBase):
    async def claim_status_read(
        self, agent: str, owner: str, now: datetime, ttl: timedelta, *, due_slack: timedelta = timedelta(0)
    ) -> dict[str, Any] | None:
        """Take the agent's status read if it is due (within `due_slack`) and nobody else is on it;
        returns the memory the last read left, or None (not due, or another replica has it)."""
        async with self._write() as conn:
            await conn.execute(
                self.insert_ignore(agent_status, ["agent"]).values(agent=agent, next_read_at=now, memory={})
            )
            row = (
                await conn.execute(
                    update(agent_status)
                    .where(
                        agent_status.c.agent == agent,
                        agent_status.c.next_read_at <= now + due_slack,
                        lease_takeable(agent_status, owner, now),
                    )
                    .values(lease_owner=owner, lease_expires_at=now + ttl)
                    .returning(agent_status.c.memory)
                )
            ).first()
        return dict(row.memory or {}) if row is not None else None

    async def status_read_failed(
        self, agent: str, owner: str, now: datetime, next_read_at: datetime, error: str
    ) -> None:
        """The read failed: conditions stay as they were (no news is not recovery), retry next interval."""
        async with self._write() as conn:
            await conn.execute(
                update(agent_status)
                .where(agent_status.c.agent == agent, agent_status.c.lease_owner == owner)
                .values(next_read_at=next_read_at, last_error=error[:500], lease_owner=None, lease_expires_at=None)
            )

    async def make_status_read_due(self, agent: str, now: datetime) -> None:
        """The agent's next status read is due now (a deployment just changed it)."""
        async with self._write() as conn:
            await conn.execute(
                update(agent_status)
                .where(agent_status.c.agent == agent, agent_status.c.next_read_at > now)
                .values(next_read_at=now)
            )

    async def open_conditions(self, agent: str | None = None) -> list[OpenCondition]:
        query = select(agent_conditions).order_by(agent_conditions.c.agent, agent_conditions.c.opened_at)
        if agent is not None:
            query = query.where(agent_conditions.c.agent == agent)
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [from_row(OpenCondition, r) for r in rows]

    async def acknowledge_condition(
        self, channel_id: str, posted_ts: str, user_id: str, now: datetime
    ) -> ConditionAck | None:
        """Acknowledge the condition occurrence whose health (or webhook) alert was posted at
        `posted_ts` in the channel: who and when go on its open condition rows (the PagerDuty
        mirror reads them) and into every channel's opening post of the occurrence, each queued for
        its re-render. The first click wins: a later one changes nothing and gets who did, and
        when (`first` False). None when no open alert was posted there (unknown, or cleared)."""
        async with self._write() as conn:
            found = await _clicked_alert(conn, channel_id, posted_ts)
            if found is None:
                return None
            row, body = found
            if body.ack_by is not None and body.ack_at is not None:
                return ConditionAck(body.ack_by, body.ack_at, False)
            where = _occurrence(row.agent, body)
            conditions = (await conn.execute(select(agent_conditions.c.ack_by).where(*where))).all()
            if conditions:
                taken = await conn.execute(
                    update(agent_conditions)
                    .where(*where, agent_conditions.c.ack_by.is_(None))
                    .values(ack_by=user_id, ack_at=now)
                )
                if taken.rowcount == 0:  # another channel's post of it was clicked first
                    first = (
                        await conn.execute(select(agent_conditions.c.ack_by, agent_conditions.c.ack_at).where(*where))
                    ).first()
                    if first is not None and first.ack_by is not None:
                        return ConditionAck(first.ack_by, first.ack_at, False)
            changes = {"ack_by": user_id, "ack_at": now.isoformat()}
            await touch_openers(self, conn, await _occurrence_openers(conn, row.agent, body), changes, now)
        return ConditionAck(user_id, now, True)

    async def unacknowledge_condition(self, channel_id: str, posted_ts: str, now: datetime) -> bool:
        """Nobody is on it after all: the occurrence's condition rows and every channel's opening
        post lose who acknowledged it (each post re-rendered). False when no open alert was posted
        there."""
        async with self._write() as conn:
            found = await _clicked_alert(conn, channel_id, posted_ts)
            if found is None:
                return False
            row, body = found
            await conn.execute(
                update(agent_conditions).where(*_occurrence(row.agent, body)).values(ack_by=None, ack_at=None)
            )
            changes = {"ack_by": None, "ack_at": None}
            await touch_openers(self, conn, await _occurrence_openers(conn, row.agent, body), changes, now)
        return True

    async def rerender_open_alert_posts(self, channel_id: str, agent: str, now: datetime) -> int:
        """Queue the re-render of the agent's posted, still open health and rate alerts in the
        channel (a mute or unmute changes their buttons). Returns how many."""
        async with self._read() as conn:
            rows = (
                (
                    await conn.execute(
                        select(alert_outbox).where(
                            alert_outbox.c.channel_id == channel_id,
                            alert_outbox.c.agent == agent,
                            alert_outbox.c.kind.in_([OutboxKind.HEALTH, OutboxKind.RATE]),
                            alert_outbox.c.state == OutboxState.SENT,
                        )
                    )
                )
                .mappings()
                .all()
            )
        keys = []
        for mapping in rows:
            body = from_row(OutboxRow, mapping).body()
            if isinstance(body, HealthPayload | RatePayload) and body.cleared_at is None:
                keys.append(str(mapping["dedup_key"]))
        if keys:
            async with self._write() as conn:
                await touch_openers(self, conn, keys, {}, now)
        return len(keys)

    async def record_status_read(
        self,
        agent: str,
        owner: str,
        *,
        now: datetime,
        next_read_at: datetime,
        memory: Mapping[str, Any],
        opened: Sequence[ConditionOpen] = (),
        cleared: Sequence[ConditionClear] = (),
        late_posts: Sequence[NewPost] = (),
    ) -> tuple[list[str], list[str]]:
        """One transaction: open (or reopen) and clear conditions, enqueue the posts of the ones
        this call opened or cleared (a condition row inserted or deleted here: never twice), bring
        their openers' payloads up to date and queue their re-rendering, store the memory, set the
        next due time and release the read. `late_posts` (alerts of still-open conditions for
        channels that started watching later) are inserted unless their key is known. Returns the
        keys (opened, cleared) it applied.

        Raises LeaseLost (and writes nothing) if another replica took the read meanwhile.
        """
        applied_open: list[str] = []
        applied_clear: list[str] = []
        async with self._write() as conn:
            result = await conn.execute(
                update(agent_status)
                .where(agent_status.c.agent == agent, agent_status.c.lease_owner == owner)
                .values(
                    memory=dict(memory),
                    next_read_at=next_read_at,
                    read_at=now,
                    last_error=None,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            if result.rowcount != 1:
                raise LeaseLost(f"status read of {agent} lost")
            for gone in cleared:
                deleted = await conn.execute(
                    delete(agent_conditions).where(
                        agent_conditions.c.agent == agent,
                        agent_conditions.c.condition_key == gone.key,
                        agent_conditions.c.opened_at == gone.opened_at,
                    )
                )
                if deleted.rowcount == 1:
                    applied_clear.append(gone.key)
                    await self.insert_posts(conn, gone.posts, now)
                    await touch_openers(self, conn, gone.openers, gone.opener_changes, now)
            for new in opened:
                inserted = await conn.execute(
                    self.insert_ignore(agent_conditions, ["agent", "condition_key"])
                    .values(
                        agent=agent,
                        condition_key=new.key,
                        opened_at=new.opened_at or now,
                        finding=dict(new.finding),
                        posted=new.posted,
                        reopened_at=new.reopened_at,
                    )
                    .returning(agent_conditions.c.condition_key)
                )
                if inserted.first() is None:
                    continue
                applied_open.append(new.key)
                if new.reopened_at is None:
                    await self.insert_posts(conn, new.posts, now)
                    continue
                known = set(await touch_openers(self, conn, [p.dedup_key for p in new.posts], new.opener_changes, now))
                await self.insert_posts(conn, [p for p in new.posts if p.dedup_key not in known], now)
                await self.insert_posts(conn, [r for k, r in sorted(new.replies.items()) if k in known], now)
            await self.insert_posts(conn, late_posts, now)
            if applied_open or applied_clear:
                # The agent's open incidents show its health on their parent: re-render them.
                await conn.execute(
                    update(incidents)
                    .where(
                        incidents.c.agent == agent,
                        incidents.c.closed_at.is_(None),
                        incidents.c.parent_ts.is_not(None),
                    )
                    .values(version=incidents.c.version + 1)
                )
        return applied_open, applied_clear

    async def open_health_condition_count(self) -> int:
        """Conditions alerted and not recovered yet (the /metrics gauge)."""
        query = select(func.count()).select_from(agent_conditions).where(agent_conditions.c.posted.is_(True))
        async with self._read() as conn:
            return int(await conn.scalar(query) or 0)

    # -- webhook alerts: conditions that webhook events open and clear (bot/webhooks/effects.py) ------

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
        return [from_row(OpenCondition, r) for r in rows]

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


async def touch_openers(
    store: StoreBase, conn: AsyncConnection, keys: Sequence[str], changes: Mapping[str, Any], now: datetime
) -> list[str]:
    """Merge `changes` into the payload of each opener row in `keys` and queue its re-render
    (bot/alerts/delivery/reply_edits.py edits it once it is posted). A muted or dead opener was never
    seen in its channel: nothing to re-render. Returns the keys found in the outbox.

    The rows are locked (in key order) before their payload is read: two writers merging into the
    same payload (an acknowledgement, an evaluation's new reading) take turns on PostgreSQL, and
    neither writes back a payload read before the other's commit."""
    found: list[str] = []
    if not keys:
        return found
    rows = (
        await conn.execute(
            select(alert_outbox.c.dedup_key, alert_outbox.c.channel_id, alert_outbox.c.state, alert_outbox.c.payload)
            .where(alert_outbox.c.dedup_key.in_(list(keys)))
            .order_by(alert_outbox.c.dedup_key)
            .with_for_update()
        )
    ).all()
    for row in rows:
        found.append(row.dedup_key)
        if changes:
            await conn.execute(
                update(alert_outbox)
                .where(alert_outbox.c.dedup_key == row.dedup_key)
                .values(payload={**dict(row.payload or {}), **changes}, updated_at=now)
            )
        if row.state not in (OutboxState.MUTED, OutboxState.DEAD):
            await conn.execute(
                store.insert_ignore(reply_edits, ["dedup_key"]).values(
                    dedup_key=row.dedup_key, channel_id=row.channel_id, created_at=now
                )
            )
    return found


async def _clicked_alert(
    conn: AsyncConnection, channel_id: str, posted_ts: str
) -> tuple[OutboxRow, HealthPayload] | None:
    """The open health alert posted at `posted_ts` in the channel, locked for this transaction
    (two clicks on it are taken one after the other), or None."""
    return await open_alert_post(conn, channel_id, posted_ts, OutboxKind.HEALTH, HealthPayload, lock=True)


def _occurrence(agent: str, body: HealthPayload) -> list[Any]:
    """The condition rows of the occurrence a post announces: its key and the moment it opened;
    the post's agent too, but for a webhook alert (one occurrence over every agent it concerns,
    posted under the organization's label)."""
    where = [
        agent_conditions.c.condition_key == str(body.finding.get("key") or ""),
        agent_conditions.c.opened_at == body.opened_at,
    ]
    if not str(body.finding.get("key") or "").startswith(WEBHOOK_KEY_PREFIX):
        where.append(agent_conditions.c.agent == agent)
    return where


async def _occurrence_openers(conn: AsyncConnection, agent: str, body: HealthPayload) -> list[str]:
    """Every channel's opening post of the occurrence (same agent or label, condition and opening
    moment), by dedup key."""
    rows = (
        (
            await conn.execute(
                select(alert_outbox).where(alert_outbox.c.agent == agent, alert_outbox.c.kind == OutboxKind.HEALTH)
            )
        )
        .mappings()
        .all()
    )
    keys = []
    for mapping in rows:
        other = from_row(OutboxRow, mapping).body()
        if (
            isinstance(other, HealthPayload)
            and other.finding.get("key") == body.finding.get("key")
            and other.opened_at == body.opened_at
        ):
            keys.append(str(mapping["dedup_key"]))
    return keys
