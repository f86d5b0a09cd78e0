"""The alert outbox: claims committed before a Slack call, fenced records after it, channel leases.

A row's destination is its Slack channel, or PagerDuty for a page row (`destination_of`): its
lease, shared back-off and failed-attempts streak live in channel_state under that name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Update, and_, case, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.store.base import StoreBase, from_row, lease_takeable
from bot.store.payloads import HealthPayload, RatePayload
from bot.store.records import NewPost, OutboxKind, OutboxRow, OutboxState, Transition
from bot.store.schema import alert_outbox, channel_state, incidents, reply_edits, subscriptions
from bot.store.types import UTCDateTime
from bot.store.watches import mark_broken

#: The destination name of PagerDuty's events in channel_state (Slack channel ids start C, G, D).
PAGERDUTY_DESTINATION = "pagerduty"
#: Rows that will never be posted: a reply edit queued for one has nothing to edit.
NEVER_POSTED = (OutboxState.DEAD, OutboxState.MUTED, OutboxState.ROLLED_UP)


def destination_of(row: OutboxRow) -> str:
    """Where a row goes: PagerDuty for a page, its Slack channel for everything else."""
    return PAGERDUTY_DESTINATION if row.kind == OutboxKind.PAGE else row.channel_id


def _deliverable(now: datetime) -> ColumnElement[bool]:
    """Due pending/uncertain rows, and `sending` rows whose claimer died (claim expired); Slack
    posts only (PagerDuty events are delivered by bot/alerts/paging/pager.py)."""
    return and_(
        alert_outbox.c.kind != OutboxKind.PAGE,
        or_(
            and_(
                alert_outbox.c.state.in_((OutboxState.PENDING, OutboxState.UNCERTAIN)),
                alert_outbox.c.next_attempt_at <= now,
            ),
            and_(alert_outbox.c.state == OutboxState.SENDING, alert_outbox.c.claimed_until < now),
        ),
    )


class OutboxStore(StoreBase):
    async def enqueue(self, posts: Sequence[NewPost], now: datetime) -> int:
        async with self._write() as conn:
            return await self.insert_posts(conn, posts, now)

    async def channels_with_work(
        self, now: datetime, quiet_before: datetime | None = None, backed_off_past: datetime | None = None
    ) -> list[str]:
        """Channels with a due post, an incident parent to re-render, given-up rows to summarise, a
        reply edit to make or drop (not one still waiting for its post), or (with `quiet_before`) an
        open incident quiet since then (to close), minus the ones backed off past `backed_off_past`
        (default `now`; later keeps a short back-off the caller waits out)."""
        due = select(alert_outbox.c.channel_id).where(_deliverable(now))
        dirty = select(incidents.c.channel_id).where(
            incidents.c.parent_ts.is_not(None), incidents.c.version > incidents.c.rendered_version
        )
        unreported = select(alert_outbox.c.channel_id).where(
            alert_outbox.c.state == OutboxState.DEAD,
            alert_outbox.c.given_up_at.is_not(None),
            alert_outbox.c.summary_id.is_(None),
        )
        edits = select(reply_edits.c.channel_id).where(_edit_settled())
        parts = [dirty, unreported, edits]
        if quiet_before is not None:
            parts.append(
                select(incidents.c.channel_id).where(
                    incidents.c.closed_at.is_(None), incidents.c.last_activity_at <= quiet_before
                )
            )
        work = due.union(*parts)
        backed_off = select(channel_state.c.channel_id).where(channel_state.c.backoff_until > (backed_off_past or now))
        async with self._read() as conn:
            channels = set((await conn.execute(work)).scalars())
            channels -= set((await conn.execute(backed_off)).scalars())
        return sorted(channels)

    async def next_deliverable(self, channel_id: str, now: datetime) -> OutboxRow | None:
        """The channel's next post: the one due longest (a row that keeps failing never starves the
        others: a failure ends the channel's pass), parents and notices first among equals.

        Alerts not yet routed to an incident are left for routing; replies whose parent is still
        to be posted wait for it (without holding up the channel's other rows).
        """
        parent = aliased(alert_outbox)
        parent_to_come = (
            select(incidents.c.id)
            .join(parent, and_(parent.c.incident_id == incidents.c.id, parent.c.kind == OutboxKind.PARENT))
            # A parent being replaced (the old one was deleted) has its old row sent: not waited for.
            .where(incidents.c.parent_ts.is_(None), parent.c.state.not_in((OutboxState.DEAD, OutboxState.SENT)))
        )
        waits_for_parent = and_(
            alert_outbox.c.kind.in_((OutboxKind.ALERT, OutboxKind.ROLLUP)),
            alert_outbox.c.top_level.is_(False),
            alert_outbox.c.incident_id.in_(parent_to_come),
        )
        priority = case(
            (alert_outbox.c.kind == OutboxKind.PARENT, 0),
            (alert_outbox.c.kind.in_((OutboxKind.NOTICE, OutboxKind.SUMMARY)), 1),
            else_=2,
        )
        query = (
            select(alert_outbox)
            .where(
                alert_outbox.c.channel_id == channel_id,
                _deliverable(now),
                or_(alert_outbox.c.kind != OutboxKind.ALERT, alert_outbox.c.incident_id.is_not(None)),
                ~waits_for_parent,
            )
            .order_by(alert_outbox.c.next_attempt_at, priority, alert_outbox.c.id)
            .limit(1)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return from_row(OutboxRow, row) if row else None

    async def unrouted_alerts(self, channel_id: str) -> list[OutboxRow]:
        query = (
            select(alert_outbox)
            .where(
                alert_outbox.c.channel_id == channel_id,
                alert_outbox.c.kind == OutboxKind.ALERT,
                alert_outbox.c.state == OutboxState.PENDING,
                alert_outbox.c.incident_id.is_(None),
            )
            .order_by(alert_outbox.c.id)
        )
        async with self._read() as conn:
            return [from_row(OutboxRow, r) for r in (await conn.execute(query)).mappings()]

    async def outbox_rows(
        self, channel_id: str | None = None, kind: str | None = None, *, incident_id: int | None = None
    ) -> list[OutboxRow]:
        """Everything in the outbox (diagnostics and tests), oldest first."""
        query = select(alert_outbox).order_by(alert_outbox.c.id)
        if channel_id is not None:
            query = query.where(alert_outbox.c.channel_id == channel_id)
        if kind is not None:
            query = query.where(alert_outbox.c.kind == kind)
        if incident_id is not None:
            query = query.where(alert_outbox.c.incident_id == incident_id)
        async with self._read() as conn:
            return [from_row(OutboxRow, r) for r in (await conn.execute(query)).mappings()]

    async def outbox_row_by_key(self, dedup_key: str) -> OutboxRow | None:
        """The outbox row with this dedup key (a recovery finds its alert's post this way)."""
        async with self._read() as conn:
            row = (
                (await conn.execute(select(alert_outbox).where(alert_outbox.c.dedup_key == dedup_key)))
                .mappings()
                .first()
            )
        return from_row(OutboxRow, row) if row else None

    async def recent_alerts(self, limit: int) -> list[OutboxRow]:
        """The newest alert posts that reached Slack."""
        query = (
            select(alert_outbox)
            .where(alert_outbox.c.kind == OutboxKind.ALERT, alert_outbox.c.state == OutboxState.SENT)
            .order_by(alert_outbox.c.updated_at.desc(), alert_outbox.c.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            return [from_row(OutboxRow, r) for r in (await conn.execute(query)).mappings()]

    async def outbox_has(self, dedup_key: str) -> bool:
        query = select(alert_outbox.c.id).where(alert_outbox.c.dedup_key == dedup_key)
        async with self._read() as conn:
            return (await conn.execute(query)).first() is not None

    # -- one post: claim → (Slack) → fenced record ------------------------------------------------

    async def claim(self, row: OutboxRow, token: str, now: datetime, ttl: timedelta) -> bool:
        """Take `row` for one attempt; committed before the Slack call so a crash leaves a trace.

        A compare-and-set on state+attempts (and, for a `sending` row, an expired claim): of two
        claimers only one wins. On PostgreSQL the row is first locked FOR UPDATE SKIP LOCKED, so a
        worker never waits behind another one that is claiming the same row: it moves on.
        """
        guard = [
            alert_outbox.c.id == row.id,
            alert_outbox.c.state == row.state,
            alert_outbox.c.attempts == row.attempts,
        ]
        if row.state == OutboxState.SENDING:
            guard.append(alert_outbox.c.claimed_until < now)  # only a dead claimer's row is taken over
        async with self._write() as conn:
            if await conn.scalar(self.skip_locked(select(alert_outbox.c.id).where(*guard))) is None:
                return False
            result = await conn.execute(
                update(alert_outbox)
                .where(*guard)
                .values(
                    state=OutboxState.SENDING,
                    claim_token=token,
                    claimed_at=now,
                    claimed_until=now + ttl,
                    first_claimed_at=func.coalesce(alert_outbox.c.first_claimed_at, literal(now, UTCDateTime())),
                    attempts=alert_outbox.c.attempts + 1,
                    updated_at=now,
                )
            )
        return result.rowcount == 1

    async def confirm_claim(
        self,
        row: OutboxRow,
        token: str,
        owner: str,
        now: datetime,
        *,
        ttl: timedelta,
        lease_ttl: timedelta,
        margin: timedelta,
    ) -> bool:
        """The fence right before a Slack call: True only if our claim on `row` and our lease on its
        channel both still have at least `margin` to run; both are then extended (claim by `ttl`,
        lease by `lease_ttl`) in the same transaction. False means: do not call Slack.

        A worker that was paused (SIGSTOP, a long GC, a VM migration) past its claim finds here
        that the row was taken over, and never posts it a second time.
        """
        safe_until = now + margin
        async with self._write() as conn:
            lease = (
                await conn.execute(
                    select(channel_state.c.lease_owner, channel_state.c.lease_expires_at)
                    .where(channel_state.c.channel_id == row.channel_id)
                    .with_for_update()
                )
            ).first()
            if lease is None or lease.lease_owner != owner or lease.lease_expires_at is None:
                return False
            if _as_utc(lease.lease_expires_at) < safe_until:
                return False
            extended = await conn.execute(
                _fenced(row.id, token)
                .where(alert_outbox.c.state == OutboxState.SENDING, alert_outbox.c.claimed_until >= safe_until)
                .values(claimed_until=now + ttl, updated_at=now)
            )
            if extended.rowcount != 1:
                return False
            await conn.execute(
                update(channel_state)
                .where(channel_state.c.channel_id == row.channel_id, channel_state.c.lease_owner == owner)
                .values(lease_expires_at=now + lease_ttl)
            )
        return True

    async def apply(self, row: OutboxRow, token: str | None, transition: Transition, now: datetime) -> bool:
        """Write one attempt's outcome, fenced: by our claim `token`, or (no claim, e.g. a reply
        sent to the top level) by the row still being as `row` read it. False: someone else's now.

        Everything the outcome implies lands in the same transaction: a parent's ts onto its
        incident, the watch's last alert time, an incident closed when its parent is given up,
        the channel's shared back-off.
        """
        fence = (
            _fenced(row.id, token)
            if token
            else update(alert_outbox).where(
                alert_outbox.c.id == row.id,
                alert_outbox.c.state == row.state,
                alert_outbox.c.attempts == row.attempts,
            )
        )
        values: dict[str, object] = {
            "state": transition.state,
            "next_attempt_at": transition.next_attempt_at,
            "claim_token": None,
            "last_error": transition.error[:500] if transition.error else None,
            "failures": transition.failures,
            "failing_since": transition.failing_since,
            "top_level": transition.top_level,
            "updated_at": now,
        }
        if transition.posted_ts is not None:
            values["posted_ts"] = transition.posted_ts
        if transition.given_up:
            values["given_up_at"] = now
        destination = destination_of(row)
        async with self._write() as conn:
            if (await conn.execute(fence.values(**values))).rowcount != 1:
                return False
            if transition.state == OutboxState.SENT:
                await self._sent(conn, row, transition.posted_ts, now)
            if transition.streak is not None:
                await _set_streak(self, conn, destination, transition.streak)
            if transition.break_channel is not None and row.kind != OutboxKind.PAGE:
                await mark_broken(conn, row.channel_id, transition.break_channel, now)
            if transition.recovered:
                await _recovered(conn, destination, now)
            elif transition.state == OutboxState.DEAD and row.kind == OutboxKind.PARENT and row.incident_id is not None:
                # An incident without a parent cannot take replies (they go to the top level):
                # close it, the next failure opens a new one with a new parent.
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.id == row.incident_id, incidents.c.closed_at.is_(None))
                    .values(closed_at=now, version=incidents.c.version + 1)
                )
            if transition.channel_backoff_until is not None:
                await _back_off(self, conn, destination, transition.channel_backoff_until)
        return True

    async def _sent(self, conn: AsyncConnection, row: OutboxRow, ts: str | None, now: datetime) -> None:
        if row.kind == OutboxKind.PARENT and row.incident_id is not None:
            await conn.execute(update(incidents).where(incidents.c.id == row.incident_id).values(parent_ts=ts))
        if row.subscription_id is not None and row.kind in (OutboxKind.ALERT, OutboxKind.ROLLUP, OutboxKind.PARENT):
            await conn.execute(
                update(subscriptions).where(subscriptions.c.id == row.subscription_id).values(last_alert_at=now)
            )

    async def prune_sent(self, before: datetime) -> int:
        """Forget posted rows last touched before `before` (their messages are in Slack), and
        given-up rows the channel was already told about; the dedup keys of recent ones stay."""
        done = or_(
            alert_outbox.c.state.in_((OutboxState.SENT, OutboxState.MUTED, OutboxState.ROLLED_UP)),
            and_(alert_outbox.c.state == OutboxState.DEAD, alert_outbox.c.summary_id.is_not(None)),
            and_(alert_outbox.c.state == OutboxState.DEAD, alert_outbox.c.given_up_at.is_(None)),
        )
        async with self._write() as conn:
            result = await conn.execute(delete(alert_outbox).where(done, alert_outbox.c.updated_at < before))
        return result.rowcount

    # -- channels ----------------------------------------------------------------------------------

    async def acquire_channel(self, channel_id: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """The channel's delivery lease: at most one worker (one post in flight) per channel."""
        async with self._write() as conn:
            await _ensure_channel(self, conn, channel_id)
            result = await conn.execute(
                update(channel_state)
                .where(
                    channel_state.c.channel_id == channel_id,
                    lease_takeable(channel_state, owner, now),
                    or_(channel_state.c.backoff_until.is_(None), channel_state.c.backoff_until <= now),
                )
                .values(lease_owner=owner, lease_expires_at=now + ttl)
            )
        return result.rowcount == 1

    async def release_channel(self, channel_id: str, owner: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(channel_state)
                .where(channel_state.c.channel_id == channel_id, channel_state.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    async def back_off_channel(self, channel_id: str, until: datetime) -> None:
        """Shared back-off (a 429, post spacing): no replica posts to the channel before `until`."""
        async with self._write() as conn:
            await _back_off(self, conn, channel_id, until)

    async def channel_backoff(self, channel_id: str) -> datetime | None:
        query = select(channel_state.c.backoff_until).where(channel_state.c.channel_id == channel_id)
        async with self._read() as conn:
            return await conn.scalar(query)

    async def destination_streak(self, destination: str) -> int:
        """The destination's failed attempts in a row (0: none, or it was never tried)."""
        query = select(channel_state.c.failures).where(channel_state.c.channel_id == destination)
        async with self._read() as conn:
            return int(await conn.scalar(query) or 0)

    async def destination_recovered(self, destination: str, now: datetime) -> None:
        """The destination took a write (an edit) after a streak of failures: the streak ends, every
        held row comes due now, a broken channel's watches heal."""
        async with self._write() as conn:
            await _set_streak(self, conn, destination, 0)
            await _recovered(conn, destination, now)

    async def hold_destination(
        self, destination: str, until: datetime, streak: int, broken: str | None, now: datetime
    ) -> None:
        """A failure outside a row's post (a parent or reply edit): the destination's shared
        back-off and streak, and (`broken`) the channel's watches marked broken, in one transaction."""
        async with self._write() as conn:
            await _back_off(self, conn, destination, until)
            await _set_streak(self, conn, destination, streak)
            if broken is not None:
                await mark_broken(conn, destination, broken, now)

    # -- late-cause reply edits ----------------------------------------------------------------------

    async def ready_reply_edits(self, channel_id: str, limit: int) -> list[OutboxRow]:
        """Posted replies of the channel with an edit queued, oldest edit first. Edits of replies not
        posted yet are not among them (they wait without taking a slot)."""
        query = (
            select(alert_outbox)
            .join(reply_edits, reply_edits.c.dedup_key == alert_outbox.c.dedup_key)
            .where(
                reply_edits.c.channel_id == channel_id,
                alert_outbox.c.state == OutboxState.SENT,
                alert_outbox.c.posted_ts.is_not(None),
            )
            .order_by(reply_edits.c.created_at, reply_edits.c.dedup_key)
            .limit(limit)
        )
        async with self._read() as conn:
            return [from_row(OutboxRow, r) for r in (await conn.execute(query)).mappings()]

    async def drop_unpostable_reply_edits(self, channel_id: str) -> int:
        """Forget the channel's edits of replies that will never be posted (muted, rolled up, given
        up, pruned): nothing to edit."""
        live = select(alert_outbox.c.dedup_key).where(alert_outbox.c.state.not_in(NEVER_POSTED))
        unpostable = and_(reply_edits.c.channel_id == channel_id, reply_edits.c.dedup_key.not_in(live))
        async with self._read() as conn:  # (a pass looks every time; it rarely finds one: no write then)
            if await conn.scalar(select(reply_edits.c.dedup_key).where(unpostable).limit(1)) is None:
                return 0
        async with self._write() as conn:
            result = await conn.execute(delete(reply_edits).where(unpostable))
        return result.rowcount

    async def queue_reply_edits(self, agent: str, session_ids: Sequence[str], now: datetime) -> int:
        """Every live reply of these sessions gets re-rendered (its cause arrived after it)."""
        if not session_ids:
            return 0
        query = select(alert_outbox.c.dedup_key, alert_outbox.c.channel_id, alert_outbox.c.incident_id).where(
            alert_outbox.c.agent == agent,
            alert_outbox.c.kind == OutboxKind.ALERT,
            alert_outbox.c.session_id.in_(list(session_ids)),
            alert_outbox.c.state.not_in(
                (OutboxState.DEAD, OutboxState.MUTED, OutboxState.ROLLED_UP)
            ),  # replies that can still be shown
        )
        async with self._write() as conn:
            rows = (await conn.execute(query)).all()
            for row in rows:
                await conn.execute(
                    self.insert_ignore(reply_edits, ["dedup_key"]).values(
                        dedup_key=row.dedup_key, channel_id=row.channel_id, created_at=now
                    )
                )
            touched = sorted({row.incident_id for row in rows if row.incident_id is not None})
            if touched:  # the parents' top causes changed too
                await conn.execute(
                    update(incidents).where(incidents.c.id.in_(touched)).values(version=incidents.c.version + 1)
                )
        return len(rows)

    async def drop_reply_edit(self, dedup_key: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(reply_edits).where(reply_edits.c.dedup_key == dedup_key))


def _edit_settled() -> ColumnElement[bool]:
    """A queued reply edit with something to do now: its reply is posted (edit it), or it never
    will be (drop the edit). An edit whose reply still waits for its post waits with it."""
    waiting = select(alert_outbox.c.dedup_key).where(
        alert_outbox.c.state.in_((OutboxState.PENDING, OutboxState.UNCERTAIN, OutboxState.SENDING))
    )
    return reply_edits.c.dedup_key.not_in(waiting)


async def _set_streak(store: StoreBase, conn: AsyncConnection, destination: str, streak: int) -> None:
    await _ensure_channel(store, conn, destination)
    await conn.execute(
        update(channel_state)
        .where(channel_state.c.channel_id == destination, channel_state.c.failures != streak)
        .values(failures=streak)
    )


async def _recovered(conn: AsyncConnection, destination: str, now: datetime) -> None:
    """The destination took an attempt after a streak of failures: every row it holds comes due now
    (they waited out the shared back-off, not their own), and a broken channel's watches heal."""
    held = [
        alert_outbox.c.state.in_((OutboxState.PENDING, OutboxState.UNCERTAIN)),
        alert_outbox.c.next_attempt_at > now,
    ]
    if destination == PAGERDUTY_DESTINATION:
        held.append(alert_outbox.c.kind == OutboxKind.PAGE)
    else:
        held += [alert_outbox.c.channel_id == destination, alert_outbox.c.kind != OutboxKind.PAGE]
        await conn.execute(
            update(subscriptions)
            .where(subscriptions.c.channel_id == destination, subscriptions.c.broken_reason.is_not(None))
            .values(broken_reason=None, broken_at=None)
        )
    await conn.execute(update(alert_outbox).where(*held).values(next_attempt_at=now))


def _as_utc(value: datetime) -> datetime:
    """A lease time read through a plain column expression (UTCDateTime already gives aware UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fenced(row_id: int, token: str) -> Update:
    """An update that only lands while our claim is the row's claim."""
    return update(alert_outbox).where(alert_outbox.c.id == row_id, alert_outbox.c.claim_token == token)


async def _back_off(store: StoreBase, conn: AsyncConnection, channel_id: str, until: datetime) -> None:
    """Never shortens a back-off another worker set."""
    await _ensure_channel(store, conn, channel_id)
    await conn.execute(
        update(channel_state)
        .where(
            channel_state.c.channel_id == channel_id,
            or_(channel_state.c.backoff_until.is_(None), channel_state.c.backoff_until < until),
        )
        .values(backoff_until=until)
    )


async def _ensure_channel(store: StoreBase, conn: AsyncConnection, channel_id: str) -> None:
    await conn.execute(store.insert_ignore(channel_state, ["channel_id"]).values(channel_id=channel_id))


#: The payloads of alerts a button acts on while they are open (they carry `cleared_at`).
OpenAlert = TypeVar("OpenAlert", HealthPayload, RatePayload)


async def open_alert_post(
    conn: AsyncConnection, channel_id: str, ts: str, kind: OutboxKind, payload: type[OpenAlert], *, lock: bool
) -> tuple[OutboxRow, OpenAlert] | None:
    """The open alert of `kind` posted at `ts` in the channel, or None (unknown, another kind, or
    cleared). `lock`: held for this transaction, so two clicks on it are taken one after the other."""
    query = select(alert_outbox).where(
        alert_outbox.c.channel_id == channel_id, alert_outbox.c.posted_ts == ts, alert_outbox.c.kind == kind
    )
    mapping = (await conn.execute(query.with_for_update() if lock else query)).mappings().first()
    if mapping is None:
        return None
    row = from_row(OutboxRow, mapping)
    body = row.body()
    if not isinstance(body, payload) or body.cleared_at is not None:
        return None
    return row, body
