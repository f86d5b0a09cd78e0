"""What paging calls on the store (bot/store/store.py `Store` satisfies each)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import SecretStr

from bot.alerts.rates.ports import RatePageStore
from bot.store.records import Incident, OpenCondition, OutboxRow, PagerAlert, SessionCause, Transition


class PageDeliveryStore(Protocol):
    """PageDelivery (bot/alerts/paging/delivery.py): the claim → fence → record of one PagerDuty event."""

    async def acquire_channel(self, channel_id: str, owner: str, now: datetime, ttl: timedelta) -> bool: ...

    async def apply(self, row: OutboxRow, token: str | None, transition: Transition, now: datetime) -> bool: ...

    async def claim(self, row: OutboxRow, token: str, now: datetime, ttl: timedelta) -> bool: ...

    async def confirm_page_claim(
        self, row: OutboxRow, token: str, now: datetime, *, ttl: timedelta, margin: timedelta
    ) -> bool: ...

    async def destination_streak(self, destination: str) -> int: ...

    async def page_rows_due(self, now: datetime) -> list[OutboxRow]: ...

    async def pager_routing_key(self, alert_id: int) -> SecretStr | None: ...

    async def record_page_refused(
        self, subscription_id: int | None, channel_id: str, agent: str, error: str, now: datetime
    ) -> None: ...

    async def release_channel(self, channel_id: str, owner: str) -> None: ...


class PagingStore(PageDeliveryStore, RatePageStore, Protocol):
    """The Pager (bot/alerts/paging/pager.py): PagerDuty alerts and what they mirror, and what its
    PageDelivery and `rate_pages` call."""

    async def advance_pager_alert(
        self, alert: PagerAlert, *, action: str, state: str, sent_count: int, event: Mapping[str, Any], now: datetime
    ) -> bool: ...

    async def incident(self, incident_id: int) -> Incident | None: ...

    async def incident_failures(self, incident_id: int, agent: str) -> list[SessionCause]: ...

    async def latest_pager_key(self) -> str | None: ...

    async def open_conditions(self, agent: str | None = None) -> list[OpenCondition]: ...

    async def open_incidents(self, channel_id: str) -> list[Incident]: ...

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
    ) -> PagerAlert | None: ...

    async def outbox_rows(
        self, channel_id: str | None = None, kind: str | None = None, *, incident_id: int | None = None
    ) -> list[OutboxRow]: ...

    async def pager_alert(self, dedup_key: str) -> PagerAlert | None: ...

    async def pager_alert_for_incident(self, incident_id: int) -> PagerAlert | None: ...

    async def pager_namespace(self, candidate: str, now: datetime) -> str: ...

    async def paging_watches(self) -> list[tuple[int, str, str]]: ...

    async def record_muted_pager_alert(
        self, *, dedup_key: str, subscription_id: int | None, channel_id: str, agent: str, condition: str, now: datetime
    ) -> bool: ...

    async def unresolved_pager_alerts(self) -> list[PagerAlert]: ...
