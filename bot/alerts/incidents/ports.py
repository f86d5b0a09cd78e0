"""What the IncidentKeeper calls on the store (bot/store/store.py `Store` satisfies it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts.rates.ports import FailureNowStore
from bot.store.records import Incident, IncidentChange, Mute, NewPost, OutboxRow, SessionCause, Transition, Watch


class KeeperStore(FailureNowStore, Protocol):
    """The IncidentKeeper (bot/alerts/incidents/keeper.py): routing, quiet close, summaries of
    undelivered alerts, parent re-renders under the channel's lease, a busy agent's held roll-ups."""

    async def acquire_channel(self, channel_id: str, owner: str, now: datetime, ttl: timedelta) -> bool: ...

    async def active_mute(self, channel_id: str, agent: str, now: datetime) -> Mute | None: ...

    async def apply(self, row: OutboxRow, token: str | None, transition: Transition, now: datetime) -> bool: ...

    async def apply_routing(
        self,
        channel_id: str,
        owner: str,
        changes: Sequence[IncidentChange],
        muted_row_ids: Sequence[int],
        now: datetime,
    ) -> None: ...

    async def back_off_channel(self, channel_id: str, until: datetime) -> None: ...

    async def busy_agents(self, agents: Sequence[str], min_failures_per_hour: float) -> set[str]: ...

    async def close_quiet_incidents(self, channel_id: str, owner: str, now: datetime, window: timedelta) -> int: ...

    async def confirm_render(
        self,
        incident_id: int,
        version: int,
        parent_ts: str,
        owner: str,
        now: datetime,
        *,
        lease_ttl: timedelta,
        margin: timedelta,
    ) -> bool: ...

    async def destination_streak(self, destination: str) -> int: ...

    async def dirty_incidents(self, channel_id: str) -> list[Incident]: ...

    async def held_rollups(self, channel_id: str) -> dict[int, list[OutboxRow]]: ...

    async def hold_destination(
        self, destination: str, until: datetime, streak: int, broken: str | None, now: datetime
    ) -> None: ...

    async def in_trouble(self, channel_id: str) -> bool: ...

    async def incident(self, incident_id: int) -> Incident | None: ...

    async def mark_rendered(self, incident_id: int, version: int) -> None: ...

    async def open_incidents(self, channel_id: str) -> list[Incident]: ...

    async def open_summary(self, channel_id: str) -> OutboxRow | None: ...

    async def post_held_rollup(self, rollup: NewPost, row_ids: Sequence[int], now: datetime) -> bool: ...

    async def release_channel(self, channel_id: str, owner: str) -> None: ...

    async def replace_parent(self, incident_id: int, lost_ts: str, parent: NewPost, now: datetime) -> bool: ...

    async def save_summary(
        self, owner: str, summary: NewPost, existing: OutboxRow | None, listed: list[int], now: datetime
    ) -> bool: ...

    async def session_causes(self, agent: str, session_ids: Iterable[str]) -> dict[str, SessionCause]: ...

    async def unreported(self, channel_id: str) -> list[OutboxRow]: ...

    async def unrouted_alerts(self, channel_id: str) -> list[OutboxRow]: ...

    async def watch(self, channel_id: str, agent: str) -> Watch | None: ...
