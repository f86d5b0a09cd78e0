"""What the agent-health stages call on the store (bot/store/store.py `Store` satisfies each)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.store.records import ConditionClear, ConditionOpen, Mute, NewPost, OpenCondition, Watch


class StatusWatchStore(Protocol):
    """The AgentStatusWatcher (bot/alerts/health/watcher.py): status-read leases, open conditions,
    the watches and mutes they alert."""

    async def active_mutes(self, now: datetime) -> dict[tuple[str, str], Mute]: ...

    async def all_watches(self) -> dict[str, list[Watch]]: ...

    async def claim_status_read(
        self, agent: str, owner: str, now: datetime, ttl: timedelta, *, due_slack: timedelta = timedelta(0)
    ) -> dict[str, Any] | None: ...

    async def open_conditions(self, agent: str | None = None) -> list[OpenCondition]: ...

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
    ) -> tuple[list[str], list[str]]: ...

    async def status_read_failed(
        self, agent: str, owner: str, now: datetime, next_read_at: datetime, error: str
    ) -> None: ...
