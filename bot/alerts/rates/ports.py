"""What the rate stages and readings call on the store (bot/store/store.py `Store` satisfies each)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.rates.counts import Counts, Minute
from bot.store.rates import RateState
from bot.store.records import CauseStat, Mute, NewPost, Watch


class SloStore(Protocol):
    """An agent's SLO budget (bot/alerts/rates/view.py `slo_line`)."""

    async def rate_totals(self, agent: str, windows: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Counts]: ...


class SloLinesStore(SloStore, Protocol):
    """The SLO budgets of several agents (bot/alerts/rates/view.py `slo_lines`)."""

    async def rate_states(self, agents: Sequence[str] | None = None) -> list[RateState]: ...


class FailureNowStore(Protocol):
    """An agent's failure rate now against its usual (bot/alerts/rates/watch.py `failure_now`)."""

    async def rate_state(self, agent: str) -> RateState | None: ...

    async def rate_totals(self, agent: str, windows: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Counts]: ...


class RatesViewStore(SloStore, Protocol):
    """`/session rates` (bot/alerts/rates/view.py `rates_view`): an agent's counts, rate state and SLO."""

    async def rate_minutes(self, agent: str, since: datetime, *, by_deployment: bool = False) -> list[Minute]: ...

    async def rate_state(self, agent: str) -> RateState | None: ...


class RatePageStore(Protocol):
    """Which rate episodes page (bot/alerts/rates/watch.py `rate_pages`)."""

    async def active_mutes(self, now: datetime) -> dict[tuple[str, str], Mute]: ...

    async def rate_acknowledgements(self, agent: str) -> dict[tuple[str, datetime], tuple[str, datetime]]: ...

    async def rate_state(self, agent: str) -> RateState | None: ...


class RateWatchStore(Protocol):
    """The RateWatcher (bot/alerts/rates/watch.py): counts, rate memory, the evaluation's posts."""

    async def active_mutes(self, now: datetime) -> dict[tuple[str, str], Mute]: ...

    async def all_watches(self) -> dict[str, list[Watch]]: ...

    async def rate_acknowledgements(self, agent: str) -> dict[tuple[str, datetime], tuple[str, datetime]]: ...

    async def rate_minutes(self, agent: str, since: datetime, *, by_deployment: bool = False) -> list[Minute]: ...

    async def rate_state(self, agent: str) -> RateState | None: ...

    async def rate_states(self, agents: Sequence[str] | None = None) -> list[RateState]: ...

    async def rate_totals(self, agent: str, windows: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Counts]: ...

    async def save_rate_evaluation(
        self,
        agent: str,
        version: int,
        memory: Mapping[str, Any],
        now: datetime,
        *,
        posts: Sequence[NewPost] = (),
        touched: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> bool: ...

    async def top_causes(self, agent: str, since: datetime, limit: int) -> list[CauseStat]: ...
