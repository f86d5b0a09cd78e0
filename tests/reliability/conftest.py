"""Fixtures of the reliability suite: the simulator and stand-in on loopback, one database per
test (an SQLite file, or a fresh PostgreSQL database on the CI server), and the replicas.

PostgreSQL comes from PIPECAT_OPS_TEST_PG_URL (scripts/postgres.sh sets it, with
PIPECAT_OPS_TEST_PG_DATA for the restart test); without it those tests skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from bot.store import Store
from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.server import serve
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_store import PG_URL_ENV
from tests.reliability.harness import Cluster, new_simulator, new_standin

PG_DATA_ENV = "PIPECAT_OPS_TEST_PG_DATA"
NO_PG = f"needs PostgreSQL: set {PG_URL_ENV} (scripts/postgres.sh start_test_postgres does; CI always does)"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


def pg_url() -> str:
    url = os.environ.get(PG_URL_ENV, "")
    if not url.startswith(("postgresql://", "postgres://")):
        pytest.skip(NO_PG)
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def sim() -> PipecatSimulator:
    return new_simulator()


@pytest.fixture
def standin() -> SlackStandIn:
    return new_standin()


@pytest.fixture
async def pipecat_base(sim: PipecatSimulator) -> AsyncIterator[str]:
    async with serve(sim.app) as url:
        try:
            yield url
        finally:
            sim.release_hangs()


@pytest.fixture
async def slack_base(standin: SlackStandIn) -> AsyncIterator[str]:
    async with serve(standin.app) as url:
        standin.base_url = url
        try:
            yield url
        finally:
            standin.release_hangs()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ops.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards (replicas are killed first)."""
    admin = pg_url()
    name = f"pipecat_ops_rel_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def backend() -> str:
    """Which database the replicas share: PostgreSQL (the backend for replicas on several hosts)
    when the test server is there, else one SQLite file. A test can pin one with
    `@pytest.mark.parametrize("backend", [...])`."""
    return "postgresql" if os.environ.get(PG_URL_ENV) else "sqlite"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, sqlite_url: str) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    assert backend == "sqlite", backend
    return sqlite_url


@pytest.fixture
async def shared_store(database_url: str) -> AsyncIterator[Store]:
    """The test's own connection to the replicas' database (set-up and checks)."""
    opened = Store.from_url(database_url)
    await opened.migrate(wait=0)
    try:
        yield opened
    finally:
        await opened.dispose()


@pytest.fixture
async def cluster(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, pipecat_base: str, slack_base: str
) -> AsyncIterator[Cluster]:
    """Replicas are started by the test (`await cluster.start(n)`) and always killed here."""
    group = Cluster(tmp_path, database_url, pipecat_base, slack_base)
    try:
        yield group
    finally:
        tails = group.close()
        if request.node.stash.get(FAILED, True):
            print(tails)  # shown with the failure: what each replica was doing last
