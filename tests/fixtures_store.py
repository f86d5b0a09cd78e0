"""Fixtures for the store and the alert pipeline (register as a pytest plugin in tests/conftest.py).

- `store`: a migrated Store, parametrized over SQLite (always) and PostgreSQL (when
  PIPECAT_OPS_TEST_PG_URL holds a postgresql:// URL; every test starts from dropped tables).
- `alert_rig`: the alert pipeline (bot/wiring.py `build_alerts`) wired to the Pipecat simulator,
  the Slack stand-in and the simulator's clock over real loopback HTTP, on an SQLite file under tmp_path.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.commands import AlertCommands
from bot.alerts.jobs import AlertJobs
from bot.ops.events import NO_EVENTS
from bot.pipecat.client import PipecatClient
from bot.store import Store
from bot.store.migrate import drop_all
from bot.wiring import Alerts, AlertSettings, build_alerts
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests.paths import FIXTURES

PG_URL_ENV = "PIPECAT_OPS_TEST_PG_URL"
ALERT_CHANNEL = "C2147483705"
#: Seconds of the service's poll interval; tests advance the simulator clock by it between polls.
POLL_INTERVAL = 60.0
#: Short, so a stand-in hang becomes a read timeout quickly.
SLACK_TIMEOUT_SECONDS = 1
#: The pipeline's settings in the tests (a test overrides what it is about through `new_service`).
TEST_ALERT_SETTINGS = AlertSettings(
    default_statuses=frozenset({"HTTP_ERROR"}),
    incident_window=timedelta(minutes=30),
    poll_interval=POLL_INTERVAL,
    # Time is the simulator's: no real waits between posts (the channel back-off still spaces
    # them when a test passes a spacing).
    post_spacing=timedelta(0),
    give_up_after=timedelta(hours=24),
    status_interval=0.0,
    capacity_warn_percent=80.0,
    explain=True,
    cause_wait_seconds=5.0,
    dashboard_url=None,
    count_rates=True,
)
_SETTING_NAMES = {f.name for f in dataclasses.fields(AlertSettings)}


def _sql_statements(name: str) -> list[str]:
    text = (FIXTURES / "store" / name).read_text()
    lines = (line for line in text.splitlines() if not line.startswith("--"))
    return [statement.strip() for statement in "\n".join(lines).split(";\n") if statement.strip()]


async def run_sql_fixture(store: Store, name: str) -> None:
    """Run tests/fixtures/store/<name> (statements ending in `;` at a line's end) in one transaction."""
    statements = _sql_statements(name)
    async with store.engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement.removesuffix(";"))


def _backends() -> list[Any]:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(PG_URL_ENV):
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


async def open_store(url: str, *, fresh: bool = False) -> Store:
    store = Store.from_url(url)
    if fresh:
        async with store.engine.begin() as conn:
            await drop_all(conn)
    await store.migrate()
    return store


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pipecat-ops.db'}"


@pytest.fixture(params=_backends())
async def store(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[Store]:
    if request.param == "postgresql":
        opened = await open_store(os.environ[PG_URL_ENV], fresh=True)
    else:
        opened = await open_store(db_url)
    try:
        yield opened
    finally:
        await opened.dispose()


@dataclass
class AlertRig:
    sim: PipecatSimulator
    slack: SlackStandIn
    clock: SimClock
    pipecat: PipecatClient
    slack_client: AsyncWebClient
    db_url: str
    stores: list[Store] = field(default_factory=list)
    alerts: Alerts | None = None

    async def new_service(self, **overrides: Any) -> Alerts:
        """A fresh pipeline (a restarted process) on the same database file: `overrides` name
        AlertSettings fields or build_alerts' wires (pipecat, slack, pagerduty, replica_id, sleep)."""
        store = await open_store(self.db_url)
        self.stores.append(store)
        settings = {k: v for k, v in overrides.items() if k in _SETTING_NAMES}
        wires: dict[str, Any] = {"pipecat": self.pipecat, "slack": self.slack_client, "pagerduty": None}
        wires.update({k: v for k, v in overrides.items() if k not in _SETTING_NAMES})
        config = dataclasses.replace(TEST_ALERT_SETTINGS, **settings)
        self.alerts = build_alerts(config, store=store, clock=self.clock, events=NO_EVENTS, **wires)
        return self.alerts

    @property
    def svc(self) -> AlertCommands:
        assert self.alerts is not None
        return self.alerts.commands

    @property
    def replica(self) -> Alerts:
        """The pipeline `new_service` built last (both faces)."""
        assert self.alerts is not None
        return self.alerts

    @property
    def jobs(self) -> AlertJobs:
        assert self.alerts is not None
        return self.alerts.jobs

    @property
    def store(self) -> Store:
        return self.stores[-1]

    async def cycle(self, advance: float = POLL_INTERVAL) -> None:
        """Move the clock one poll interval, then poll and deliver (what the scheduler does)."""
        self.clock.advance(advance)
        await self.jobs.poll_once()
        await self.jobs.deliver_once()

    def top(self, channel: str = ALERT_CHANNEL) -> list[StoredMessage]:
        return self.slack.messages_in(channel)

    def replies(self, parent: StoredMessage, channel: str = ALERT_CHANNEL) -> list[StoredMessage]:
        return self.slack.messages_in(channel, thread_ts=parent.ts)

    def posts(self) -> list[Any]:
        return [c for c in self.slack.calls_to("chat.postMessage") if c.ok]


@pytest.fixture
async def alert_rig(
    pipecat_sim: PipecatSimulator,
    pipecat_client: PipecatClient,
    slack_standin: SlackStandIn,
    slack_url: str,
    sim_clock: SimClock,
    db_url: str,
) -> AsyncIterator[AlertRig]:
    client = AsyncWebClient(token=slack_standin.bot_token, base_url=f"{slack_url}/api/", timeout=SLACK_TIMEOUT_SECONDS)
    rig = AlertRig(pipecat_sim, slack_standin, sim_clock, pipecat_client, client, db_url)
    await rig.new_service()
    try:
        yield rig
    finally:
        slack_standin.release_hangs()
        for opened in rig.stores:
            await opened.dispose()
