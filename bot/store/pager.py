"""PagerDuty alerts we opened and the outbox rows (kind `page`) that carry their events.

Every change to an alert is a compare-and-set on its pager_alerts row plus the insert of its
outbox row, in one transaction: of two replicas planning the same step only one enqueues it, and
the outbox's unique dedup key makes a repeat a no-op. Events of one alert are delivered in order
(`page_rows_due` offers only the oldest unfinished row of each alert).

An alert keeps the routing key it was opened with (`pager_routing_key`): a secret, read only to
send, never put in a record, a log line or a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.contracts.keys import page_dedup_key
from bot.store.base import StoreBase, from_row
from bot.store.payloads import PagePayload
from bot.store.records import DELIVERABLE, NewPost, OutboxKind, OutboxRow, OutboxState, PagerAlert
from bot.store.schema import alert_outbox, pager_alerts, pager_namespace, subscriptions

RESOLVED = "resolved"
#: A condition occurrence that opened while its channel muted the agent: recorded so that it is
#: never paged (not when the mute ends either), and never sent anything.
MUTED = "muted"
#: States with nothing more to send.
FINISHED = (RESOLVED, MUTED)
#: Key of the pager alert's id in a page row's payload (events of one alert go out in order).
ALERT_ID = "alert_id"
EVENT = "event"


class PagerStore(StoreBase):
    async def open_pager_alert(
        self,
        *,
        dedup_key: str,
        subscription_id: int | None,
        channel_id: str,
        agent: str,
        incident_id: int | None,
        condition: str | None,
        sent_count: int,
        event: Mapping[str, Any],
        routing_key: SecretStr,
        now: datetime,
    ) -> PagerAlert | None:
        """Insert the alert and its first trigger; None if it already exists (another replica, or
        an earlier cycle, opened it: its stored key stays the key). `routing_key`: the integration
        it opens in, where its every later event goes too."""
        async with self._write() as conn:
            inserted = await conn.execute(
                # Either unique key (dedup_key, incident_id) makes it a no-op: one alert per incident.
                self._insert(pager_alerts)
                .on_conflict_do_nothing()
                .values(
                    dedup_key=dedup_key,
                    subscription_id=subscription_id,
                    channel_id=channel_id,
                    agent=agent,
                    incident_id=incident_id,
                    condition=condition,
                    state="triggered",
                    sent_count=sent_count,
                    triggers=1,
                    last_trigger_at=now,
                    created_at=now,
                    updated_at=now,
                    routing_key=routing_key.get_secret_value(),
                )
                .returning(pager_alerts.c.id)
            )
            alert_id = inserted.scalar()
            if alert_id is None:
                return None
            await self._enqueue_event(
                conn, int(alert_id), "trigger", 1, event, now, subscription_id, channel_id, agent, incident_id
            )
            row = (await conn.execute(select(pager_alerts).where(pager_alerts.c.id == alert_id))).mappings().one()
        return from_row(PagerAlert, row)

    async def record_muted_pager_alert(
        self, *, dedup_key: str, subscription_id: int | None, channel_id: str, agent: str, condition: str, now: datetime
    ) -> bool:
        """Record a condition occurrence its channel muted: state `muted`, no event, so it is never
        paged later (unmuting does not replay it). False if the key already has an alert."""
        async with self._write() as conn:
            inserted = await conn.execute(
                self._insert(pager_alerts)
                .on_conflict_do_nothing()
                .values(
                    dedup_key=dedup_key,
                    subscription_id=subscription_id,
                    channel_id=channel_id,
                    agent=agent,
                    incident_id=None,
                    condition=condition,
                    state=MUTED,
                    sent_count=0,
                    triggers=0,
                    created_at=now,
                    updated_at=now,
                )
                .returning(pager_alerts.c.id)
            )
            return inserted.scalar() is not None

    async def advance_pager_alert(
        self,
        alert: PagerAlert,
        *,
        action: str,
        state: str,
        sent_count: int,
        event: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        """Enqueue the next event of `alert` if nobody changed it since it was read."""
        trigger = action == "trigger"
        values: dict[str, Any] = {"state": state, "sent_count": sent_count, "updated_at": now}
        if trigger:
            values.update(triggers=alert.triggers + 1, last_trigger_at=now)
        async with self._write() as conn:
            result = await conn.execute(
                update(pager_alerts)
                .where(
                    pager_alerts.c.id == alert.id,
                    pager_alerts.c.state == alert.state,
                    pager_alerts.c.triggers == alert.triggers,
                    pager_alerts.c.sent_count == alert.sent_count,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                return False
            # An acknowledge or resolve belongs to the alert's current trigger round: a health
            # condition that reopens its alert is resolved again, under a key of its own.
            serial = alert.triggers + 1 if trigger else alert.triggers
            await self._enqueue_event(
                conn, alert.id, action, serial, event, now, None, alert.channel_id, alert.agent, alert.incident_id
            )
        return True

    async def _enqueue_event(
        self,
        conn: AsyncConnection,
        alert_id: int,
        action: str,
        serial: int,
        event: Mapping[str, Any],
        now: datetime,
        subscription_id: int | None,
        channel_id: str,
        agent: str,
        incident_id: int | None,
    ) -> None:
        # Only the first trigger carries the subscription: unwatching kills a page that never went
        # out, while the resolve that follows an unwatch must still be delivered.
        post = NewPost(
            dedup_key=page_dedup_key(alert_id, action, serial),
            kind=OutboxKind.PAGE,
            channel_id=channel_id,
            agent=agent,
            payload=PagePayload(alert_id=alert_id, event=dict(event)),
            subscription_id=subscription_id,
            incident_id=incident_id,
        )
        await self.insert_posts(conn, [post], now)

    async def pager_alert_for_incident(self, incident_id: int) -> PagerAlert | None:
        query = select(pager_alerts).where(pager_alerts.c.incident_id == incident_id)
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return from_row(PagerAlert, row) if row else None

    async def pager_alert(self, dedup_key: str) -> PagerAlert | None:
        query = select(pager_alerts).where(pager_alerts.c.dedup_key == dedup_key)
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return from_row(PagerAlert, row) if row else None

    async def unresolved_pager_alerts(self) -> list[PagerAlert]:
        """Alerts open in PagerDuty (triggered or acknowledged), oldest first."""
        query = select(pager_alerts).where(pager_alerts.c.state.not_in(FINISHED)).order_by(pager_alerts.c.id)
        async with self._read() as conn:
            return [from_row(PagerAlert, r) for r in (await conn.execute(query)).mappings()]

    async def paging_watches(self) -> list[tuple[int, str, str]]:
        """(subscription id, channel, agent) of every paging watch."""
        query = select(subscriptions.c.id, subscriptions.c.channel_id, subscriptions.c.agent).where(
            subscriptions.c.page.is_(True)
        )
        async with self._read() as conn:
            return [(r.id, r.channel_id, r.agent) for r in await conn.execute(query)]

    async def pager_namespace(self, candidate: str, now: datetime) -> str:
        """The installation's namespace in dedup keys: the stored one, else `candidate`, stored
        (replicas racing here all get the first one stored)."""
        query = select(pager_namespace.c.namespace).where(pager_namespace.c.id == 1)
        async with self._write() as conn:
            stored = await conn.scalar(query)
            if stored is None:
                await conn.execute(
                    self._insert(pager_namespace)
                    .on_conflict_do_nothing()
                    .values(id=1, namespace=candidate, created_at=now)
                )
                stored = await conn.scalar(query)
        return str(stored)

    async def latest_pager_key(self) -> str | None:
        """The dedup key of the alert opened last (None before the first)."""
        query = select(pager_alerts.c.dedup_key).order_by(pager_alerts.c.id.desc()).limit(1)
        async with self._read() as conn:
            key = await conn.scalar(query)
        return str(key) if key is not None else None

    async def pager_routing_key(self, alert_id: int) -> SecretStr | None:
        """The routing key alert `alert_id` was opened with (None: opened before keys were kept)."""
        query = select(pager_alerts.c.routing_key).where(pager_alerts.c.id == alert_id)
        async with self._read() as conn:
            key = await conn.scalar(query)
        return SecretStr(str(key)) if key else None

    # -- delivery: claim (store.claim) → fence → send → record ------------------------------------

    async def confirm_page_claim(
        self, row: OutboxRow, token: str, now: datetime, *, ttl: timedelta, margin: timedelta
    ) -> bool:
        """The fence right before a PagerDuty send: True only if our claim on `row` still has at
        least `margin` to run; it is then extended to `now + ttl`. False means: do not send (the
        claim passed to another worker, or is about to)."""
        async with self._write() as conn:
            result = await conn.execute(
                update(alert_outbox)
                .where(
                    alert_outbox.c.id == row.id,
                    alert_outbox.c.claim_token == token,
                    alert_outbox.c.state == OutboxState.SENDING,
                    alert_outbox.c.claimed_until >= now + margin,
                )
                .values(claimed_until=now + ttl, updated_at=now)
            )
        return result.rowcount == 1

    async def page_rows_due(self, now: datetime) -> list[OutboxRow]:
        """The oldest unfinished event of each alert, when it is due (later ones wait behind it)."""
        query = (
            select(alert_outbox)
            .where(alert_outbox.c.kind == OutboxKind.PAGE, alert_outbox.c.state.in_(DELIVERABLE))
            .order_by(alert_outbox.c.id)
        )
        async with self._read() as conn:
            rows = [from_row(OutboxRow, r) for r in (await conn.execute(query)).mappings()]
        first: dict[Any, OutboxRow] = {}
        for row in rows:
            first.setdefault(row.payload.get(ALERT_ID), row)
        return [r for r in first.values() if _due(r, now)]

    async def record_page_refused(
        self, subscription_id: int | None, channel_id: str, agent: str, error: str, now: datetime
    ) -> None:
        """PagerDuty's 400 goes on the watch, where `/session watches` shows it."""
        query = update(subscriptions).values(page_error=error[:500], page_error_at=now)
        if subscription_id is not None:
            query = query.where(subscriptions.c.id == subscription_id)
        else:
            query = query.where(subscriptions.c.channel_id == channel_id, subscriptions.c.agent == agent)
        async with self._write() as conn:
            await conn.execute(query)


def _due(row: OutboxRow, now: datetime) -> bool:
    if row.state in (OutboxState.PENDING, OutboxState.UNCERTAIN):
        return row.next_attempt_at <= now
    return row.state == OutboxState.SENDING and row.claimed_until is not None and row.claimed_until < now


__all__ = ["MUTED", "PagerStore"]
