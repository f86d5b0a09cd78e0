"""The one store interface the alert pipeline uses; no SQL lives outside bot/store."""

from __future__ import annotations

from bot.store.agent_health import AgentHealthStore
from bot.store.audit import AuditStore
from bot.store.causes import CauseStore
from bot.store.deployments import DeploymentStore
from bot.store.engine import check_sqlite_location, create_engine
from bot.store.fingerprints import FingerprintStore
from bot.store.incidents import IncidentStore
from bot.store.migrate import migrate
from bot.store.ops import OpsStore
from bot.store.outbox import OutboxStore
from bot.store.pager import PagerStore
from bot.store.polling import PollStore
from bot.store.rates import RateStore
from bot.store.undelivered import UndeliveredStore
from bot.store.watches import WatchStore
from bot.store.webhooks import WebhookStore

#: How long `migrate` keeps retrying a database it cannot reach at startup before failing.
STARTUP_DB_WAIT_SECONDS = 60.0


class Store(
    WatchStore,
    PollStore,
    OutboxStore,
    IncidentStore,
    UndeliveredStore,
    AuditStore,
    CauseStore,
    FingerprintStore,
    DeploymentStore,
    OpsStore,
    AgentHealthStore,
    PagerStore,
    WebhookStore,
    RateStore,
):
    """SQLite or PostgreSQL behind the same intention-revealing async methods.

    Parts live in one module each (watches, polling, outbox, incidents); they share the engine and
    helpers of `StoreBase`.
    """

    @classmethod
    def from_url(cls, database_url: str, **engine_kwargs: object) -> Store:
        """Raises UnsafeDatabaseLocation (a SettingsError naming DATABASE_URL) for an SQLite file
        on a network filesystem."""
        check_sqlite_location(database_url)
        return cls(create_engine(database_url, **engine_kwargs))

    async def migrate(self, *, wait: float = STARTUP_DB_WAIT_SECONDS) -> str:
        """Create or upgrade the schema (idempotent); returns the Alembic head revision. A database
        that is not reachable yet is retried for `wait` seconds (replicas may start before it)."""
        return await migrate(self.engine, wait=wait)
