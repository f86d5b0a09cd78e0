"""Schema upgrades at start: Alembic revisions (bot/store/migrations), one replica at a time.

Every replica runs `migrate` when it starts. The upgrade runs inside one writing transaction
that first takes a lock: a PostgreSQL advisory lock, or SQLite's write lock (our engine begins
writers with BEGIN IMMEDIATE). A replica that arrives second waits, then finds the schema at
head and does nothing. A database created before Alembic (its `schema_version` table says 1) is
stamped as revision 0001, then upgraded like any other.
"""

from __future__ import annotations

import functools
import logging
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, exc, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_before_delay, wait_exponential

from bot.store.engine import describe_db_error, is_connection_error
from bot.store.schema import metadata, schema_version

logger = logging.getLogger(__name__)

#: Any constant: the PostgreSQL advisory lock that serialises migrations across replicas.
PG_MIGRATION_LOCK = 0x5069_7065  # "Pipe"
#: What the version table of the schema before Alembic says; it is Alembic revision BASE_REVISION.
LEGACY_SCHEMA_VERSION = 1
BASE_REVISION = "0001"
#: A database that cannot be reached at start is retried with exponential back-off between
#: these bounds, for as long as the caller's `wait` (replicas may start before their database).
STARTUP_RETRY_FIRST_SECONDS = 0.5
STARTUP_RETRY_CAP_SECONDS = 5.0


@functools.cache
def alembic_config() -> Config:
    """The migrations as package data: found from an installed package as from the repository."""
    config = Config()
    config.set_main_option("script_location", str(files("bot.store") / "migrations"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "bot/store/migrations has no revisions"
    return head


def _unreachable(error: BaseException) -> bool:
    return isinstance(error, exc.DBAPIError) and is_connection_error(error)


async def migrate(engine: AsyncEngine, *, wait: float = 0.0) -> str:
    """Upgrade the schema to head (creating it in an empty database); returns the head revision.
    Idempotent and safe from several replicas at once. With `wait` > 0 a database that cannot be
    reached is retried for that many seconds before the error is raised."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_unreachable),
        stop=stop_before_delay(wait),
        wait=wait_exponential(multiplier=STARTUP_RETRY_FIRST_SECONDS, max=STARTUP_RETRY_CAP_SECONDS),
        before_sleep=_log_retry,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await _migrate_once(engine)
    raise AssertionError("unreachable: tenacity re-raises the last error")


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    delay = state.next_action.sleep if state.next_action is not None else 0.0
    reason = describe_db_error(error) if isinstance(error, exc.DBAPIError) else repr(error)
    logger.warning("database not reachable yet (%s); retrying in %.1fs", reason, delay)


async def _migrate_once(engine: AsyncEngine) -> str:
    async with engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: the write lock is ours
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        return await conn.run_sync(_upgrade)


def _upgrade(conn: Connection) -> str:
    config = alembic_config()
    config.attributes["connection"] = conn  # env.py runs the revisions on it, in this transaction
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None and _legacy_version(conn) is not None:
        command.stamp(config, BASE_REVISION)
        logger.info("the database predates Alembic (schema_version 1): stamped revision %s", BASE_REVISION)
    head = head_revision()
    if current is not None and current != head and not _known(current):
        raise RuntimeError(
            f"the database schema is at revision {current}, which this app does not know "
            f"(a newer version migrated it): upgrade the app"
        )
    command.upgrade(config, "head")
    if current != head:
        logger.info("database schema upgraded from %s to %s", current or "empty", head)
    return head


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _legacy_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(schema_version.name):
        return None
    version = conn.execute(select(schema_version.c.version).where(schema_version.c.id == 1)).scalar()
    if version is not None and version != LEGACY_SCHEMA_VERSION:
        raise RuntimeError(f"schema_version says {version}: no app version ever wrote that")
    return version


async def drop_all(conn: AsyncConnection) -> None:
    """Tests only: an empty database (PostgreSQL tests share one server)."""
    await conn.run_sync(metadata.drop_all)
    await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
