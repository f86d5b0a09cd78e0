"""What the Poller calls on the store (bot/store/store.py `Store` satisfies it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.store.polling import IdlePoll, Planner
from bot.store.records import EndedSession, ItemFailure, Mute, NewPost, PollState, Watch


class PollerStore(Protocol):
    """The Poller (bot/alerts/poll/poller.py): poll leases, what a poll records, outage notices."""

    async def active_mutes(self, now: datetime) -> dict[tuple[str, str], Mute]: ...

    async def all_watches(self) -> dict[str, list[Watch]]: ...

    async def claim_poll(self, agent: str, owner: str, now: datetime, ttl: timedelta) -> PollState | None: ...

    async def claim_polls(
        self, agents: Sequence[str], owner: str, now: datetime, ttl: timedelta, *, interval: timedelta
    ) -> dict[str, PollState]: ...

    async def enqueue_outage_notices(self, agent: str, posts: Sequence[NewPost], now: datetime) -> int: ...

    async def item_failures_of(self, agents: Sequence[str]) -> dict[str, dict[str, ItemFailure]]: ...

    async def record_idle_polls(self, owner: str, polls: Sequence[IdlePoll], now: datetime) -> int: ...

    async def record_poll(
        self,
        agent: str,
        owner: str,
        *,
        watermark: datetime | None = None,
        active_set: Sequence[str] = (),
        ended: Sequence[EndedSession] = (),
        recovery_posts: Sequence[NewPost] = (),
        planner: Planner | None = None,
        now: datetime,
        release_lease: bool = False,
    ) -> int: ...

    async def record_poll_failure(
        self, agent: str, owner: str, error: str, now: datetime, kind: str | None = None
    ) -> PollState | None: ...

    async def release_poll_lease(self, agent: str, owner: str) -> None: ...

    async def seed_poll_state(self, agent: str, watermark: datetime, active_set: Sequence[str]) -> bool: ...

    async def unpolled(self, agents: Sequence[str]) -> set[str]: ...

    async def unseen(self, agent: str, session_ids: Sequence[str]) -> set[str]: ...
