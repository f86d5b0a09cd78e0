"""Store contract (SQLite and PostgreSQL): rate counts older than the minutes kept are folded into
hourly counts by the prune that deletes them, once, whole hours only; totals over any window add
both up; hours are forgotten after their own retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.rates.counts import Counts
from bot.rates.policy import COUNT_RETENTION, HOUR_RETENTION, STARTED_RETENTION
from bot.store import Store
from tests.fixtures_store import open_store
from tests.rate_counts import count_at

AGENT = "voice-bot"
NOW = datetime(2026, 12, 10, 14, 30, tzinfo=UTC)
#: An hour more than a minute retention ago: its minutes are pruned, and folded.
OLD = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MONTH = {"month": (NOW - timedelta(days=30), NOW + timedelta(minutes=1))}


async def prune(store: Store, now: datetime = NOW) -> int:
    """What the service's prune does at `now` (bot/alerts/jobs.py `_prune`)."""
    return await store.prune_rates(now - COUNT_RETENTION, now - STARTED_RETENTION, now - HOUR_RETENTION)


def triple(counts: Counts) -> tuple[int, int, int]:
    return counts.started, counts.ended, counts.failed


async def seed(store: Store) -> None:
    await count_at(store, AGENT, OLD + timedelta(minutes=5), good=3, failed=1)
    await count_at(store, AGENT, OLD + timedelta(minutes=40), good=1, failed=2)
    await count_at(store, AGENT, OLD + timedelta(hours=1, minutes=10), good=4)
    await count_at(store, "other-bot", OLD + timedelta(minutes=7), failed=5)
    await count_at(store, AGENT, NOW - timedelta(hours=1), good=10, failed=1)


async def test_old_minutes_fold_into_their_hours_and_every_total_still_counts_them(store: Store) -> None:
    await seed(store)
    before = await store.rate_totals(AGENT, MONTH)
    assert triple(before["month"]) == (22, 22, 4)

    assert await prune(store) == 4  # three minutes of voice-bot, one of other-bot
    assert triple((await store.rate_totals(AGENT, MONTH))["month"]) == (22, 22, 4)
    assert [m.minute for m in await store.rate_minutes(AGENT, NOW - timedelta(days=30))] == [NOW - timedelta(hours=1)]
    hours = await store.rate_totals(
        AGENT,
        {
            "10h": (OLD, OLD + timedelta(hours=1)),
            "11h": (OLD + timedelta(hours=1), OLD + timedelta(hours=2)),
            "recent": (NOW - timedelta(days=1), NOW + timedelta(minutes=1)),
        },
    )
    assert triple(hours["10h"]) == (7, 7, 3)  # the two minutes of 10:00 in one hour
    assert triple(hours["11h"]) == (4, 4, 0)
    assert triple(hours["recent"]) == (11, 11, 1)  # the minutes kept are not counted twice
    other = await store.rate_totals("other-bot", MONTH)
    assert triple(other["month"]) == (5, 5, 5)


async def test_a_second_prune_a_restart_and_a_late_minute_never_count_twice(store: Store) -> None:
    await seed(store)
    assert await prune(store) == 4
    assert await prune(store) == 0  # the next pass (or a restarted replica's) finds nothing to fold
    # A session that ended long ago, counted late: its minute is folded into the hour it belongs to.
    await count_at(store, AGENT, OLD + timedelta(minutes=20), failed=1)
    assert await prune(store, NOW + timedelta(hours=1)) == 1
    found = await store.rate_totals(AGENT, {"10h": (OLD, OLD + timedelta(hours=1))} | MONTH)
    assert triple(found["10h"]) == (8, 8, 4)
    assert triple(found["month"]) == (23, 23, 5)


async def test_two_replicas_pruning_at_once_fold_each_minute_once(store: Store) -> None:
    await seed(store)
    for minute in range(60):  # a busier hour: many rows for the two deletes to race over
        await count_at(store, AGENT, OLD + timedelta(hours=2, minutes=minute), good=2, failed=1)
    url = store.engine.url.render_as_string(hide_password=False)
    other = await open_store(url)
    try:
        folded = await asyncio.gather(prune(store), prune(other))
    finally:
        await other.dispose()
    assert sum(folded) == 4 + 60
    assert triple((await store.rate_totals(AGENT, MONTH))["month"]) == (22 + 180, 22 + 180, 4 + 60)


async def test_only_whole_hours_are_folded(store: Store) -> None:
    """The hour the minute retention ends in keeps its minutes until it is whole behind it."""
    cut = NOW - COUNT_RETENTION  # 14:30, 8 days ago
    await count_at(store, AGENT, cut - timedelta(minutes=20), good=1)  # 14:10: in the hour of the cut
    await count_at(store, AGENT, cut - timedelta(minutes=40), good=2)  # 13:50: the hour before
    assert await prune(store) == 1
    minutes = await store.rate_minutes(AGENT, NOW - timedelta(days=30))
    assert [m.minute for m in minutes] == [cut - timedelta(minutes=20)]
    assert triple((await store.rate_totals(AGENT, MONTH))["month"]) == (3, 3, 0)


async def test_hours_are_forgotten_after_their_retention(store: Store) -> None:
    await seed(store)
    assert await prune(store) == 4
    later = OLD + HOUR_RETENTION + timedelta(minutes=30)  # past 10:00's retention, not 11:00's
    await prune(store, later)
    window = {"all": (OLD - timedelta(days=1), later)}
    assert triple((await store.rate_totals(AGENT, window))["all"]) == (4 + 11, 4 + 11, 1)
