"""The Deliverer's port (bot/alerts/delivery/ports.py `DeliveryStore`) in dicts.

It keeps the rules the real store keeps (tests/contract/store/test_delivery_store_fake.py runs the
same checks on both): a claim is a compare-and-set on the row's state and attempts (a `sending`
row only once its claim expired), the fence holds only while the claim and the channel lease both
have the margin left, an outcome is applied only under our claim token (or, without one, while the
row is as we read it), a back-off is never shortened, and the first success after a streak of
failures pulls the channel's held rows forward. What the Deliverer does not need (watches, incident
routing, pages) is left out: `broken` stands for the watches a refused channel marks broken.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts.delivery.ports import DeliveryStore
from bot.store.payloads import dump_payload
from bot.store.records import Incident, NewPost, OutboxKind, OutboxRow, OutboxState, Transition

#: As bot/store/outbox.py: page rows' destination, and rows that will never be posted.
PAGERDUTY_DESTINATION = "pagerduty"
NEVER_POSTED = (OutboxState.DEAD, OutboxState.MUTED, OutboxState.ROLLED_UP)


@dataclass
class ChannelState:
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    backoff_until: datetime | None = None
    failures: int = 0


@dataclass
class QueuedEdit:
    channel_id: str
    created_at: datetime


class FakeDeliveryStore:
    def __init__(self) -> None:
        self.rows: dict[int, OutboxRow] = {}
        self.channels: dict[str, ChannelState] = {}
        self.incidents: dict[int, Incident] = {}
        self.edits: dict[str, QueuedEdit] = {}
        #: Channel → why Slack refuses it (what the real store writes on the channel's watches).
        self.broken: dict[str, str] = {}
        #: Held roll-up rows already rolled into a roll-up post (the real store's rollup_id).
        self.rolled: set[int] = set()
        self._ids = 0

    # -- set-up (as the real store's enqueue) -------------------------------------------------------

    async def enqueue(self, posts: Sequence[NewPost], now: datetime) -> int:
        inserted = 0
        known = {row.dedup_key for row in self.rows.values()}
        for post in posts:
            if post.dedup_key in known:
                continue
            self._ids += 1
            self.rows[self._ids] = OutboxRow(
                id=self._ids,
                dedup_key=post.dedup_key,
                kind=post.kind,
                channel_id=post.channel_id,
                agent=post.agent,
                subscription_id=post.subscription_id,
                session_id=post.session_id,
                incident_id=post.incident_id,
                state=post.state,
                attempts=0,
                next_attempt_at=now,
                claim_token=None,
                claimed_at=None,
                claimed_until=None,
                payload=dump_payload(post.payload),
                posted_ts=None,
                last_error=post.last_error,
                created_at=now,
            )
            known.add(post.dedup_key)
            inserted += 1
        return inserted

    # -- reads ---------------------------------------------------------------------------------------

    async def outbox_rows(
        self, channel_id: str | None = None, kind: str | None = None, *, incident_id: int | None = None
    ) -> list[OutboxRow]:
        return [
            row
            for _, row in sorted(self.rows.items())
            if (channel_id is None or row.channel_id == channel_id)
            and (kind is None or row.kind == kind)
            and (incident_id is None or row.incident_id == incident_id)
        ]

    async def outbox_row_by_key(self, dedup_key: str) -> OutboxRow | None:
        return next((row for row in self.rows.values() if row.dedup_key == dedup_key), None)

    async def incident(self, incident_id: int) -> Incident | None:
        return self.incidents.get(incident_id)

    async def channels_with_work(
        self, now: datetime, quiet_before: datetime | None = None, backed_off_past: datetime | None = None
    ) -> list[str]:
        work = {row.channel_id for row in self.rows.values() if _deliverable(row, now)}
        work |= {i.channel_id for i in self.incidents.values() if i.parent_ts and i.version > i.rendered_version}
        work |= {
            row.channel_id
            for row in self.rows.values()
            if row.state == OutboxState.DEAD and row.given_up_at is not None and row.summary_id is None
        }
        work |= {edit.channel_id for key, edit in self.edits.items() if self._edit_settled(key)}
        if quiet_before is not None:
            work |= {
                i.channel_id
                for i in self.incidents.values()
                if i.closed_at is None and i.last_activity_at <= quiet_before
            }
        cut = backed_off_past or now
        backed_off = {c for c, s in self.channels.items() if s.backoff_until is not None and s.backoff_until > cut}
        return sorted(work - backed_off)

    async def next_deliverable(self, channel_id: str, now: datetime) -> OutboxRow | None:
        parent_to_come = {
            row.incident_id
            for row in self.rows.values()
            if row.kind == OutboxKind.PARENT
            and row.incident_id in self.incidents
            and self.incidents[row.incident_id].parent_ts is None
            and row.state not in (OutboxState.DEAD, OutboxState.SENT)
        }
        due = [
            row
            for row in self.rows.values()
            if row.channel_id == channel_id
            and _deliverable(row, now)
            and (row.kind != OutboxKind.ALERT or row.incident_id is not None)
            and not (
                row.kind in (OutboxKind.ALERT, OutboxKind.ROLLUP)
                and not row.top_level
                and row.incident_id in parent_to_come
            )
        ]
        return min(due, key=lambda r: (r.next_attempt_at, _priority(r), r.id), default=None)

    async def held_rollup_channels(self, held_before: datetime) -> list[str]:
        return sorted(
            {
                row.channel_id
                for row in self.rows.values()
                if row.kind == OutboxKind.ALERT
                and row.state == OutboxState.ROLLED_UP
                and row.id not in self.rolled
                and row.created_at <= held_before
            }
        )

    # -- one post: claim → fence → apply -----------------------------------------------------------

    async def claim(self, row: OutboxRow, token: str, now: datetime, ttl: timedelta) -> bool:
        stored = self.rows.get(row.id)
        if stored is None or (stored.state, stored.attempts) != (row.state, row.attempts):
            return False
        if row.state == OutboxState.SENDING and not (stored.claimed_until is not None and stored.claimed_until < now):
            return False  # only a dead claimer's row is taken over
        self.rows[row.id] = dataclasses.replace(
            stored,
            state=OutboxState.SENDING,
            claim_token=token,
            claimed_at=now,
            claimed_until=now + ttl,
            first_claimed_at=stored.first_claimed_at or now,
            attempts=stored.attempts + 1,
        )
        return True

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
        safe_until = now + margin
        lease = self.channels.get(row.channel_id)
        if lease is None or lease.lease_owner != owner or lease.lease_expires_at is None:
            return False
        if lease.lease_expires_at < safe_until:
            return False
        stored = self.rows.get(row.id)
        if (
            stored is None
            or stored.claim_token != token
            or stored.state != OutboxState.SENDING
            or stored.claimed_until is None
            or stored.claimed_until < safe_until
        ):
            return False
        self.rows[row.id] = dataclasses.replace(stored, claimed_until=now + ttl)
        lease.lease_expires_at = now + lease_ttl
        return True

    async def apply(self, row: OutboxRow, token: str | None, transition: Transition, now: datetime) -> bool:
        stored = self.rows.get(row.id)
        if stored is None:
            return False
        if token:
            if stored.claim_token != token:
                return False
        elif (stored.state, stored.attempts) != (row.state, row.attempts):
            return False
        self.rows[row.id] = dataclasses.replace(
            stored,
            state=transition.state,
            next_attempt_at=transition.next_attempt_at,
            claim_token=None,
            last_error=transition.error[:500] if transition.error else None,
            failures=transition.failures,
            failing_since=transition.failing_since,
            top_level=transition.top_level,
            posted_ts=transition.posted_ts if transition.posted_ts is not None else stored.posted_ts,
            given_up_at=now if transition.given_up else stored.given_up_at,
        )
        destination = PAGERDUTY_DESTINATION if row.kind == OutboxKind.PAGE else row.channel_id
        incident = self.incidents.get(row.incident_id) if row.incident_id is not None else None
        if transition.state == OutboxState.SENT and row.kind == OutboxKind.PARENT and incident is not None:
            self.incidents[incident.id] = dataclasses.replace(incident, parent_ts=transition.posted_ts)
        if transition.streak is not None:
            self._channel(destination).failures = transition.streak
        if transition.break_channel is not None and row.kind != OutboxKind.PAGE:
            self.broken[row.channel_id] = transition.break_channel
        if transition.recovered:
            self._recovered(destination, now)
        elif (
            transition.state == OutboxState.DEAD
            and row.kind == OutboxKind.PARENT
            and incident is not None
            and incident.closed_at is None
        ):
            # As the real store: an incident without a parent cannot take replies; it closes.
            self.incidents[incident.id] = dataclasses.replace(incident, closed_at=now, version=incident.version + 1)
        if transition.channel_backoff_until is not None:
            self._back_off(destination, transition.channel_backoff_until)
        return True

    async def mark_rendered(self, incident_id: int, version: int) -> None:
        incident = self.incidents.get(incident_id)
        if incident is not None and incident.rendered_version < version:
            self.incidents[incident_id] = dataclasses.replace(incident, rendered_version=version)

    # -- channels ------------------------------------------------------------------------------------

    async def acquire_channel(self, channel_id: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        state = self._channel(channel_id)
        takeable = (
            state.lease_owner is None
            or state.lease_owner == owner
            or (state.lease_expires_at is not None and state.lease_expires_at < now)
        )
        if not takeable or (state.backoff_until is not None and state.backoff_until > now):
            return False
        state.lease_owner, state.lease_expires_at = owner, now + ttl
        return True

    async def release_channel(self, channel_id: str, owner: str) -> None:
        state = self.channels.get(channel_id)
        if state is not None and state.lease_owner == owner:
            state.lease_owner, state.lease_expires_at = None, None

    async def channel_backoff(self, channel_id: str) -> datetime | None:
        state = self.channels.get(channel_id)
        return state.backoff_until if state is not None else None

    async def destination_streak(self, destination: str) -> int:
        state = self.channels.get(destination)
        return state.failures if state is not None else 0

    async def destination_recovered(self, destination: str, now: datetime) -> None:
        self._channel(destination).failures = 0
        self._recovered(destination, now)

    # -- late-cause reply edits ----------------------------------------------------------------------

    async def ready_reply_edits(self, channel_id: str, limit: int) -> list[OutboxRow]:
        by_key = {row.dedup_key: row for row in self.rows.values()}
        ready = [
            (edit.created_at, key)
            for key, edit in self.edits.items()
            if edit.channel_id == channel_id
            and key in by_key
            and by_key[key].state == OutboxState.SENT
            and by_key[key].posted_ts is not None
        ]
        return [by_key[key] for _, key in sorted(ready)[:limit]]

    async def drop_unpostable_reply_edits(self, channel_id: str) -> int:
        live = {row.dedup_key for row in self.rows.values() if row.state not in NEVER_POSTED}
        gone = [key for key, edit in self.edits.items() if edit.channel_id == channel_id and key not in live]
        for key in gone:
            del self.edits[key]
        return len(gone)

    async def drop_reply_edit(self, dedup_key: str) -> None:
        self.edits.pop(dedup_key, None)

    # -- helpers -------------------------------------------------------------------------------------

    def _channel(self, channel_id: str) -> ChannelState:
        return self.channels.setdefault(channel_id, ChannelState())

    def _back_off(self, channel_id: str, until: datetime) -> None:
        state = self._channel(channel_id)
        if state.backoff_until is None or state.backoff_until < until:  # never shortened
            state.backoff_until = until

    def _recovered(self, destination: str, now: datetime) -> None:
        """Every row the destination holds comes due now; a broken channel's watches heal."""
        if destination != PAGERDUTY_DESTINATION:
            self.broken.pop(destination, None)
        for row_id, row in self.rows.items():
            mine = (
                row.kind == OutboxKind.PAGE
                if destination == PAGERDUTY_DESTINATION
                else (row.channel_id == destination and row.kind != OutboxKind.PAGE)
            )
            if mine and row.state in (OutboxState.PENDING, OutboxState.UNCERTAIN) and row.next_attempt_at > now:
                self.rows[row_id] = dataclasses.replace(row, next_attempt_at=now)

    def _edit_settled(self, dedup_key: str) -> bool:
        """As the real store's: an edit whose reply still waits for its post waits with it."""
        return not any(
            r.dedup_key == dedup_key and r.state in (OutboxState.PENDING, OutboxState.UNCERTAIN, OutboxState.SENDING)
            for r in self.rows.values()
        )


def _deliverable(row: OutboxRow, now: datetime) -> bool:
    """Due pending/uncertain rows, and `sending` rows whose claimer died; Slack posts only."""
    if row.kind == OutboxKind.PAGE:
        return False
    if row.state in (OutboxState.PENDING, OutboxState.UNCERTAIN):
        return row.next_attempt_at <= now
    return row.state == OutboxState.SENDING and row.claimed_until is not None and row.claimed_until < now


def _priority(row: OutboxRow) -> int:
    if row.kind == OutboxKind.PARENT:
        return 0
    return 1 if row.kind in (OutboxKind.NOTICE, OutboxKind.SUMMARY) else 2


#: mypy checks the fake against the port here: a method missing or with another signature fails.
_CHECKED: type[DeliveryStore] = FakeDeliveryStore
