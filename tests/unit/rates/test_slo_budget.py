"""The SLO budget over a 28-day period reads the whole period: the minutes of the last 8 days and
the hourly counts older minutes were folded into (on SQLite, pruned day by day as the service
prunes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.rates.view import slo_line
from bot.rates.policy import COUNT_RETENTION, HOUR_RETENTION, STARTED_RETENTION
from bot.rates.slo import Slo, budget_left
from bot.store import Store
from tests.fixtures_store import open_store
from tests.rate_counts import count_at

AGENT = "voice-bot"
NOW = datetime(2026, 12, 10, 14, 30, tzinfo=UTC)


async def thirty_days(store: Store, failures_days_ago: int) -> None:
    """100 good sessions a day (at noon) for 30 days, and 50 failures `failures_days_ago`; the
    service's prune runs as the days go by."""
    for days_ago in range(30, -1, -1):
        day = NOW - timedelta(days=days_ago, hours=2, minutes=30)
        await count_at(store, AGENT, day, good=100, failed=50 if days_ago == failures_days_ago else 0)
        await store.prune_rates(day - COUNT_RETENTION, day - STARTED_RETENTION, day - HOUR_RETENTION)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await open_store(db_url)
    try:
        yield opened
    finally:
        await opened.dispose()


async def test_failures_20_days_ago_spend_the_28d_budget(store: Store) -> None:
    await thirty_days(store, failures_days_ago=20)
    oldest = (await store.rate_minutes(AGENT, NOW - timedelta(days=31)))[0].minute
    assert oldest > NOW - COUNT_RETENTION - timedelta(days=1)  # the minutes of 20 days ago are gone

    await store.set_slo(AGENT, 0.95, "28d", "U1", NOW)
    state = await store.rate_state(AGENT)
    assert state is not None
    line = await slo_line(store, state, NOW)
    assert line is not None
    # 28 days of 100 sessions, and 50 failed: 50 of the 5% allowed of 2,850.
    assert line.sessions == 28 * 100 + 50
    assert line.budget_left == pytest.approx(1 - 50 / (0.05 * 2850))
    assert line.observed_days == 0.0  # counted for longer than the period: the whole of it

    # What 8 days of minutes alone say: nothing failed, the whole budget left.
    eight = await store.rate_totals(AGENT, {"p": (NOW - COUNT_RETENTION, NOW + timedelta(minutes=1))})
    assert budget_left(Slo(0.95, timedelta(days=28)), eight["p"]) == 1.0


async def test_failures_older_than_the_period_are_not_in_its_budget(store: Store) -> None:
    await thirty_days(store, failures_days_ago=29)
    for period, left in (("28d", 1.0), ("30d", 1 - 50 / (0.05 * 3050))):
        await store.set_slo(AGENT, 0.95, period, "U1", NOW)
        state = await store.rate_state(AGENT)
        assert state is not None
        line = await slo_line(store, state, NOW)
        assert line is not None and line.budget_left == pytest.approx(left), period
