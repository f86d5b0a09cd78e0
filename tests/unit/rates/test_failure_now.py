"""The failure rate a parent and a periodic roll-up show (bot/alerts/rates/watch.py `failure_now`,
totals added up in SQL) is the failure-rate detector's own reading on the agent's minutes, and
there is none for an agent with too little traffic or history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.rates.watch import EPISODES, failure_now
from bot.rates import detectors
from bot.rates.detectors import Episode, RateView
from bot.rates.policy import RATE_RULES
from bot.store import Store
from tests.fixtures_store import open_store
from tests.rate_counts import count_at

AGENT = "voice-bot"
START = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await open_store(db_url)
    try:
        yield opened
    finally:
        await opened.dispose()


async def busy(store: Store, minutes: int, *, fail_every: int) -> None:
    """`minutes` of 10 calls a minute from START, one failing every `fail_every` minutes."""
    for n in range(minutes):
        failed = 1 if n % fail_every == 0 else 0
        await count_at(store, AGENT, START + timedelta(minutes=n), good=10 - failed, failed=failed)


def into(minute: int) -> datetime:
    """A moment into minute `minute` from START (a poll reads the minutes up to it)."""
    return START + timedelta(minutes=minute, seconds=1)


async def detector_headline(store: Store, now: datetime, frozen: float | None = None) -> str:
    state = await store.rate_state(AGENT)
    assert state is not None
    minutes = await store.rate_minutes(AGENT, START - timedelta(days=1))
    view = RateView(now=now, minutes=minutes, observed_since=state.observed_since)
    return detectors.failure_rate(view, RATE_RULES, frozen).headline


async def test_it_is_the_detectors_reading_of_the_same_counts(store: Store) -> None:
    await busy(store, 120, fail_every=5)  # 2% failing for two hours
    for n in range(5):  # then 3 in 10 failing for the last 5 minutes
        await count_at(store, AGENT, START + timedelta(minutes=120 + n), good=7, failed=3)
    now = into(124)
    shown = await failure_now(store, AGENT, now, RATE_RULES)
    assert shown == "30% of calls failing (last 5 min), usually 2.0%"
    assert shown == await detector_headline(store, now)


async def test_an_open_failure_rate_alert_keeps_its_frozen_usual(store: Store) -> None:
    await busy(store, 60, fail_every=5)
    now = into(59)
    state = await store.rate_state(AGENT)
    assert state is not None
    episode = Episode(detectors.FAILURE, START, 0.01, "h", 0.3, 0.3, "h")
    await store.save_rate_evaluation(AGENT, state.version, {EPISODES: {episode.key: episode.to_json()}}, now)
    shown = await failure_now(store, AGENT, now, RATE_RULES)
    assert shown == "2.0% of calls failing (last 5 min), usually 1.0%"
    assert shown == await detector_headline(store, now, frozen=0.01)


async def test_none_for_a_quiet_agent_or_too_little_history(store: Store) -> None:
    assert await failure_now(store, AGENT, START, RATE_RULES) is None  # never counted
    for n in range(30):  # a call every other minute: never 20 ended in 5 minutes
        if n % 2 == 0:
            await count_at(store, AGENT, START + timedelta(minutes=n), failed=1 if n % 10 == 0 else 0, good=1)
    assert await failure_now(store, AGENT, START + timedelta(minutes=30, seconds=1), RATE_RULES) is None
    assert await detector_headline(store, START + timedelta(minutes=30, seconds=1)) == ""
