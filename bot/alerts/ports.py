"""What the alert pipeline's faces call on the store (bot/store/store.py `Store` satisfies each)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from bot.alerts.rates.ports import RatesViewStore, SloStore
from bot.store.agent_health import ConditionAck
from bot.store.digests import DigestSetting
from bot.store.ops import OpsSnapshot
from bot.store.rates import RateState
from bot.store.records import CauseStat, Incident, Mute, NewPost, PollState, Watch


class CommandStore(RatesViewStore, Protocol):
    """AlertCommands (bot/alerts/commands.py): watches, mutes, acknowledgements, SLOs, and `/session rates`."""

    async def acknowledge(self, channel_id: str, parent_ts: str, user_id: str, now: datetime) -> Incident | None: ...

    async def acknowledge_condition(
        self, channel_id: str, posted_ts: str, user_id: str, now: datetime
    ) -> ConditionAck | None: ...

    async def acknowledge_rate_alert(
        self, channel_id: str, ts: str, user_id: str, now: datetime
    ) -> ConditionAck | None: ...

    async def clear_mute(self, channel_id: str, agent: str, now: datetime) -> bool: ...

    async def incident_by_parent(self, channel_id: str, parent_ts: str) -> Incident | None: ...

    async def incidents_for(self, channel_id: str, agent: str | None = None) -> list[Incident]: ...

    async def poll_state(self, agent: str) -> PollState | None: ...

    async def remove_watch(self, channel_id: str, agent: str, now: datetime) -> bool: ...

    async def rerender_open_alert_posts(self, channel_id: str, agent: str, now: datetime) -> int: ...

    async def resolve(
        self, channel_id: str, parent_ts: str, user_id: str, reason: str | None, now: datetime
    ) -> tuple[Incident, bool] | None: ...

    async def set_mute(self, channel_id: str, agent: str, until: datetime, user_id: str, now: datetime) -> None: ...

    async def set_slo(
        self, agent: str, target: float | None, period: str | None, user_id: str, now: datetime
    ) -> None: ...

    async def top_causes(self, agent: str, since: datetime, limit: int) -> list[CauseStat]: ...

    async def unacknowledge(self, channel_id: str, parent_ts: str) -> Incident | None: ...

    async def unacknowledge_condition(self, channel_id: str, posted_ts: str, now: datetime) -> bool: ...

    async def unacknowledge_rate_alert(self, channel_id: str, ts: str, now: datetime) -> bool: ...

    async def undelivered_counts(self, channel_id: str) -> dict[int, int]: ...

    async def upsert_watch(
        self,
        channel_id: str,
        agent: str,
        statuses: Iterable[str],
        group: str | None,
        user_id: str,
        now: datetime,
        page: bool = False,
        runbook: str | None = None,
    ) -> tuple[Watch, bool]: ...

    async def watched_agents(self, channel_id: str | None = None) -> list[str]: ...

    async def watches_with_mutes(self, channel_id: str, now: datetime) -> list[tuple[Watch, Mute | None]]: ...


class JobStore(Protocol):
    """AlertJobs (bot/alerts/jobs.py): leaving the poll rota, and the prunes."""

    async def leave_polling(self, owner: str) -> None: ...

    async def prune_causes(self, before: datetime) -> int: ...

    async def prune_rates(self, counts_before: datetime, started_before: datetime, hours_before: datetime) -> int: ...

    async def prune_seen(self, before: datetime) -> int: ...

    async def prune_sent(self, before: datetime) -> int: ...


class DigestServiceStore(SloStore, Protocol):
    """The DigestService (bot/alerts/digest.py): digest settings and what a digest shows."""

    async def all_watches(self) -> dict[str, list[Watch]]: ...

    async def clear_digest(self, channel_id: str) -> bool: ...

    async def digests(self) -> Sequence[DigestSetting]: ...

    async def enqueue(self, posts: Sequence[NewPost], now: datetime) -> int: ...

    async def outbox_has(self, dedup_key: str) -> bool: ...

    async def rate_state(self, agent: str) -> RateState | None: ...

    async def set_digest(self, channel_id: str, hour: int, minute: int, user_id: str, now: datetime) -> None: ...

    async def top_causes(self, agent: str, since: datetime, limit: int) -> list[CauseStat]: ...


class RateGaugeStore(SloStore, Protocol):
    """The rate gauges (bot/alerts/gauges.py `refresh_rate_gauges`)."""

    async def rate_states(self, agents: Sequence[str] | None = None) -> list[RateState]: ...


class GaugeStore(RateGaugeStore, Protocol):
    """The /metrics gauges read from the database (bot/alerts/gauges.py `refresh_store_gauges`)."""

    async def open_health_condition_count(self) -> int: ...

    async def ops_snapshot(self) -> OpsSnapshot: ...
