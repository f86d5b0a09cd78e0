"""Pytest fixtures for the Pipecat side: the simulator on real loopback HTTP and clients on it.

Loaded through `pytest_plugins` in tests/conftest.py. Clients get a recording no-op sleep, so
retries cost no wall time and tests can assert the exact delays the client chose.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.pipecat.client import PipecatClient, build_http_client
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.server import serve
from tests.paths import FIXTURES

SIM_START = datetime(2026, 10, 30, 14, 0, 0, tzinfo=UTC)
SIM_AGENTS = ("voice-bot", "support-bot")
SIM_MAX_PAGE_SIZE = 5
#: Generous enough for a loaded CI box, short enough that a hang fails fast.
DEFAULT_TIMEOUT = httpx.Timeout(2.0, connect=1.0)


def fixtures_dir() -> Path:
    """tests/fixtures, inside the repository."""
    return FIXTURES


def pipecat_fixture_paths() -> list[Path]:
    return sorted((fixtures_dir() / "pipecat").glob("*.json"))


def load_pipecat_fixture(name: str) -> Any:
    return json.loads((fixtures_dir() / "pipecat" / name).read_text())


ClientFactory = Callable[..., PipecatClient]


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock(SIM_START)


@pytest.fixture
def pipecat_sim(sim_clock: SimClock) -> PipecatSimulator:
    sim = PipecatSimulator(clock=sim_clock, max_page_size=SIM_MAX_PAGE_SIZE)
    for agent in SIM_AGENTS:
        sim.add_agent(agent)
    return sim


@pytest.fixture
async def pipecat_url(pipecat_sim: PipecatSimulator) -> AsyncIterator[str]:
    async with serve(pipecat_sim.app) as url:
        try:
            yield f"{url}/v1"
        finally:
            # A parked request would keep the server from shutting down.
            pipecat_sim.release_hangs()


@pytest.fixture
def pipecat_sleeps() -> list[float]:
    """Every delay the clients asked to sleep for, in order (nothing really sleeps)."""
    return []


@pytest.fixture
async def pipecat_client_factory(
    pipecat_url: str, pipecat_sleeps: list[float], sim_clock: SimClock
) -> AsyncIterator[ClientFactory]:
    """Build more clients on the simulator (another key, another timeout); all closed at teardown."""
    opened: list[httpx.AsyncClient] = []

    async def record_sleep(delay: float) -> None:
        pipecat_sleeps.append(delay)

    def make(api_key: str = "sim-key", timeout: httpx.Timeout = DEFAULT_TIMEOUT, **options: Any) -> PipecatClient:
        http = build_http_client(pipecat_url, api_key, timeout=timeout)
        opened.append(http)
        return PipecatClient(http, sleep=record_sleep, rng=random.Random(0), clock=sim_clock, **options)

    try:
        yield make
    finally:
        for http in opened:
            await http.aclose()


@pytest.fixture
def pipecat_client(pipecat_client_factory: ClientFactory) -> PipecatClient:
    return pipecat_client_factory()
