"""What the webhook endpoint and its effects call on the store (bot/store/store.py `Store`
satisfies each)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.store.records import Mute, NewPost, OpenCondition, ScopedPost, Watch
from bot.webhooks.events import StoredEvent


class ReceiverStore(Protocol):
    """The WebhookReceiver (bot/webhooks/receive.py): one insert per verified delivery."""

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
    ) -> tuple[StoredEvent, bool]: ...


class EffectsStore(Protocol):
    """WebhookEffects (bot/webhooks/effects.py): the stored events' queue, the webhook alerts they
    open and clear, and the re-renders and status reads they bring forward."""

    async def active_mutes(self, now: datetime) -> dict[tuple[str, str], Mute]: ...

    async def all_watches(self) -> dict[str, list[Watch]]: ...

    async def clear_webhook_alert(
        self,
        *,
        key: str,
        opened: Sequence[OpenCondition],
        posts: Sequence[ScopedPost],
        opener_changes: Mapping[str, Any],
        now: datetime,
    ) -> list[str]: ...

    async def enqueue(self, posts: Sequence[NewPost], now: datetime) -> int: ...

    async def make_status_read_due(self, agent: str, now: datetime) -> None: ...

    async def mark_webhook_processed(self, event_id: int, now: datetime) -> bool: ...

    async def open_alerts(self, key: str) -> list[OpenCondition]: ...

    async def open_webhook_alert(
        self,
        *,
        key: str,
        finding: dict[str, Any],
        agents: Sequence[str],
        opened_at: datetime,
        posts: Sequence[ScopedPost],
        now: datetime,
    ) -> list[str]: ...

    async def pending_webhook_events(self, received_before: datetime, limit: int) -> list[StoredEvent]: ...

    async def prune_webhook_events(self, received_before: datetime) -> int: ...

    async def rerender_incidents_begun(self, since: datetime, until: datetime, agent: str | None) -> int: ...

    async def set_deployment_live(self, agent: str, deployment_id: str, went_live_at: datetime) -> bool: ...
