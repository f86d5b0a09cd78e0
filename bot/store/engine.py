"""Engine construction and schema migration for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store.schema import SCHEMA_VERSION, metadata, schema_version

logger = logging.getLogger(__name__)

#: Milliseconds a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option that marks a connection as read-only, so SQLite begins it DEFERRED.
READ_ONLY_OPTION = "pipecat_ops_read_only"
#: Any constant: the PostgreSQL advisory lock that serialises migrations across replicas.
PG_MIGRATION_LOCK = 0x5069_7065  # "Pipe"

#: Upgrade steps: MIGRATIONS[n] takes a database at version n-1 to version n.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


def engine_url(database_url: str) -> str:
    """`sqlite:///x.db` → `sqlite+aiosqlite:///x.db`, `postgresql://…` → `postgresql+psycopg://…`."""
    scheme, sep, rest = database_url.partition("://")
    if not sep:
        raise ValueError("DATABASE_URL must look like sqlite:///path or postgresql://user@host/db")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite or postgresql")


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(engine_url(database_url), **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL + busy timeout on every connection, and BEGIN IMMEDIATE for writing transactions.

    pysqlite's own BEGIN is deferred, which lets two writers both read and then deadlock on the
    upgrade to a write lock (SQLITE_BUSY without waiting). Taking the write lock at BEGIN makes
    the busy timeout apply, so concurrent writers queue instead of failing.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


async def migrate(engine: AsyncEngine, *, now: datetime | None = None) -> int:
    """Create or upgrade the schema; idempotent and safe to run from several replicas at once."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        version = await conn.run_sync(_migrate_sync, now or datetime.now(UTC))
    return version


def _migrate_sync(conn: Connection, now: datetime) -> int:
    metadata.create_all(conn, tables=[schema_version])
    current = conn.execute(select(schema_version.c.version).where(schema_version.c.id == 1)).scalar()
    if current is None:
        # A fresh database: create everything at the latest version in one go.
        metadata.create_all(conn)
        conn.execute(insert(schema_version).values(id=1, version=SCHEMA_VERSION, migrated_at=now))
        logger.info("created the database schema at version %d", SCHEMA_VERSION)
        return SCHEMA_VERSION
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database schema is at version {current}, newer than this app's ({SCHEMA_VERSION}): upgrade the app"
        )
    for step in range(current + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
        logger.info("migrated the database schema to version %d", step)
    if current < SCHEMA_VERSION:
        conn.execute(
            update(schema_version).where(schema_version.c.id == 1).values(version=SCHEMA_VERSION, migrated_at=now)
        )
    return SCHEMA_VERSION


async def drop_all(conn: AsyncConnection) -> None:
    """Tests only: an empty database (PostgreSQL tests share one server)."""
    await conn.run_sync(metadata.drop_all)
