"""What the outbox machine calls on the store (bot/store/store.py `Store` satisfies each), and
the renderer it posts with (`RowMessages`, which the MessageFactory satisfies).

The Deliverer is tested against an in-memory DeliveryStore too (tests/fakes/delivery_store.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts.rates.ports import FailureNowStore
from bot.blocks.message import Message
from bot.explain.ports import TriageStore
from bot.store.records import Incident, Mute, OutboxRow, SessionCause, Transition, Watch


class ReplyEditStore(Protocol):
    """The ReplyEditor (bot/alerts/delivery/reply_edits.py): the queue of late-cause reply edits."""

    async def drop_reply_edit(self, dedup_key: str) -> None: ...

    async def drop_unpostable_reply_edits(self, channel_id: str) -> int: ...

    async def ready_reply_edits(self, channel_id: str, limit: int) -> list[OutboxRow]: ...


class ThreadStore(Protocol):
    """Where a row posts (bot/alerts/delivery/threads.py `thread_of`): its incident's parent, its
    opener's post."""

    async def incident(self, incident_id: int) -> Incident | None: ...

    async def outbox_row_by_key(self, dedup_key: str) -> OutboxRow | None: ...

    async def outbox_rows(
        self, channel_id: str | None = None, kind: str | None = None, *, incident_id: int | None = None
    ) -> list[OutboxRow]: ...


class DeliveryStore(ReplyEditStore, ThreadStore, Protocol):
    """The Deliverer (bot/alerts/delivery/deliverer.py): channel leases and back-offs, the
    claim → fence → apply of one post, and what its ReplyEditor and `thread_of` read."""

    async def acquire_channel(self, channel_id: str, owner: str, now: datetime, ttl: timedelta) -> bool: ...

    async def apply(self, row: OutboxRow, token: str | None, transition: Transition, now: datetime) -> bool: ...

    async def channel_backoff(self, channel_id: str) -> datetime | None: ...

    async def channels_with_work(
        self, now: datetime, quiet_before: datetime | None = None, backed_off_past: datetime | None = None
    ) -> list[str]: ...

    async def claim(self, row: OutboxRow, token: str, now: datetime, ttl: timedelta) -> bool: ...

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
    ) -> bool: ...

    async def destination_recovered(self, destination: str, now: datetime) -> None: ...

    async def destination_streak(self, destination: str) -> int: ...

    async def held_rollup_channels(self, held_before: datetime) -> list[str]: ...

    async def mark_rendered(self, incident_id: int, version: int) -> None: ...

    async def next_deliverable(self, channel_id: str, now: datetime) -> OutboxRow | None: ...

    async def release_channel(self, channel_id: str, owner: str) -> None: ...


class MessageStore(TriageStore, FailureNowStore, Protocol):
    """The MessageFactory (bot/alerts/delivery/messages.py): what a message shows beside its row,
    an incident's triage, a parent's failure rate."""

    async def active_mute(self, channel_id: str, agent: str, now: datetime) -> Mute | None: ...

    async def incident(self, incident_id: int) -> Incident | None: ...

    async def previous_reply_session(self, incident_id: int, before_row_id: int) -> str | None: ...

    async def session_causes(self, agent: str, session_ids: Iterable[str]) -> dict[str, SessionCause]: ...

    async def sessions_seen(self, agent: str, since: datetime, until: datetime) -> int: ...

    async def watch(self, channel_id: str, agent: str) -> Watch | None: ...


class RowMessages(Protocol):
    """What a row posts (bot/alerts/delivery/messages.py `MessageFactory`)."""

    async def for_row(self, row: OutboxRow) -> tuple[Message, int | None]: ...
