"""The daily digest: one post per channel per day across two replicas, a restart and a day boundary.

Two runtimes (two replicas: their own store engines, clients and replica ids) share one database,
the Pipecat simulator, the Slack stand-in and the simulator's clock; the test moves the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.app import Runtime, build_runtime
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests.fixtures_app import USER, make_settings
from tests.fixtures_pipecat import SIM_MAX_PAGE_SIZE
from tests.fixtures_slack import ONCALL_CHANNEL
from tests.fixtures_store import PG_URL_ENV, open_store


def _backends() -> list[object]:
    params: list[object] = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(PG_URL_ENV):
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return os.environ[PG_URL_ENV].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{tmp_path / 'digest.db'}"


@contextlib.asynccontextmanager
async def replica(
    pipecat_url: str, slack_url: str, tmp_path: Path, clock: SimClock, url: str
) -> AsyncIterator[Runtime]:
    runtime = build_runtime(make_settings(pipecat_url, slack_url, tmp_path, database_url=url), clock=clock)
    await runtime.start(with_scheduler=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


def digests(standin: SlackStandIn) -> list[StoredMessage]:
    return [m for m in standin.messages_in(ONCALL_CHANNEL) if m.text.startswith("Daily digest")]


def session_list_requests(runtime: Runtime) -> float:
    counter = runtime.metrics.pipecat_requests
    return sum(
        s.value
        for m in counter.collect()
        for s in m.samples
        if s.labels.get("endpoint") == "/agents/{agent}/sessions" and s.name.endswith("_total")
    )


async def test_one_digest_per_channel_per_day_across_two_replicas_a_restart_and_midnight(
    pipecat_url: str,
    slack_url: str,
    tmp_path: Path,
    sim_clock: SimClock,
    pipecat_sim: PipecatSimulator,
    slack_standin: SlackStandIn,
    database_url: str,
) -> None:
    if "postgresql" in database_url:
        await (await open_store(database_url, fresh=True)).dispose()  # the shared server: start empty
    sim_clock.set(datetime(2026, 10, 30, 8, 30, tzinfo=UTC))
    async with (
        replica(pipecat_url, slack_url, tmp_path, sim_clock, database_url) as one,
        replica(pipecat_url, slack_url, tmp_path, sim_clock, database_url) as two,
    ):
        assert one.jobs.replica_id != two.jobs.replica_id
        await one.deps.alerts.watch(ONCALL_CHANNEL, "voice-bot", None, None, USER)
        await one.digests.turn_on(ONCALL_CHANNEL, time(9, 0), USER)
        # A day of sessions: 8 fine, 2 failed, some cold starts.
        for i in range(10):
            sim_clock.advance(3600)
            pipecat_sim.add_session(
                "voice-bot",
                "HTTP_ERROR" if i in (3, 7) else "HTTP_COMPLETED",
                bot_start_seconds=1.0 + i,
                cold_start=i % 2 == 0,
            )
            await one.jobs.poll_once()  # the poller reads each failure's log: its cause
        sim_clock.set(datetime(2026, 10, 31, 8, 59, tzinfo=UTC))
        assert list(await asyncio.gather(one.digests.run_due(), two.digests.run_due())) == [0, 0]  # not 09:00 yet

        sim_clock.set(datetime(2026, 10, 31, 9, 0, 30, tzinfo=UTC))
        listed_before = session_list_requests(one) + session_list_requests(two)
        enqueued = await asyncio.gather(one.digests.run_due(), two.digests.run_due())
        listings = session_list_requests(one) + session_list_requests(two) - listed_before
        assert sorted(enqueued) == [0, 1]  # both tried, the dedup key let one in
        await asyncio.gather(one.jobs.deliver_once(), two.jobs.deliver_once())
        await asyncio.gather(one.jobs.deliver_once(), two.jobs.deliver_once())
        (posted,) = digests(slack_standin)
        shown = str(posted.blocks)
        assert "Daily digest · 2026-10-31" in shown and "10 sessions, 2 failed" in shown
        assert "Error rate 20.0%" in shown and "Bot start p95 10.0s" in shown and "cold starts 50.0%" in shown
        assert "Details" in shown
        # The causes the poller found in the two failures' own logs, ranked (the fingerprint store).
        assert "Top causes: Pipeline error in session &lt;id&gt;: HTTP_ERROR ×2" in shown
        # Bounded Pipecat cost: one listing (its pages) per agent, per replica racing at the same instant.
        pages = -(-10 // SIM_MAX_PAGE_SIZE)
        assert 1 <= listings <= 2 * pages

        # Later the same day, and after a restart: still one.
        sim_clock.advance(3 * 3600)
        listed_before = session_list_requests(one) + session_list_requests(two)
        assert list(await asyncio.gather(one.digests.run_due(), two.digests.run_due())) == [0, 0]
        assert session_list_requests(one) + session_list_requests(two) == listed_before  # no Pipecat call at all
    async with replica(pipecat_url, slack_url, tmp_path, sim_clock, database_url) as restarted:
        assert await restarted.digests.run_due() == 0
        await restarted.jobs.deliver_once()
        assert len(digests(slack_standin)) == 1

        # Over midnight to the next day's 09:00: exactly one more, compared with the day before.
        sim_clock.set(datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
        pipecat_sim.add_session("voice-bot", "HTTP_COMPLETED")
        sim_clock.set(datetime(2026, 11, 1, 0, 1, tzinfo=UTC))
        assert await restarted.digests.run_due() == 0
        sim_clock.set(datetime(2026, 11, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=5))
        async with replica(pipecat_url, slack_url, tmp_path, sim_clock, database_url) as other:
            assert sorted(await asyncio.gather(restarted.digests.run_due(), other.digests.run_due())) == [0, 1]
            await asyncio.gather(restarted.jobs.deliver_once(), other.jobs.deliver_once())
    _, second = digests(slack_standin)
    assert "2026-11-01" in str(second.blocks) and "1 sessions, 0 failed" in str(second.blocks)
    assert "from 20.0% the day before" in str(second.blocks)
