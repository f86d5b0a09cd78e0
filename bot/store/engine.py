"""Engine construction and schema migration for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Connection, event, exc, insert, make_url, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.contracts.errors import SettingsError
from bot.store.schema import SCHEMA_VERSION, metadata, schema_version

logger = logging.getLogger(__name__)

#: Milliseconds a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option that marks a connection as read-only, so SQLite begins it DEFERRED.
READ_ONLY_OPTION = "pipecat_ops_read_only"
#: Any constant: the PostgreSQL advisory lock that serialises migrations across replicas.
PG_MIGRATION_LOCK = 0x5069_7065  # "Pipe"

#: Seconds psycopg waits for a PostgreSQL connection before giving up (a cycle then fails and the
#: next one tries again, instead of hanging while the server is away).
PG_CONNECT_TIMEOUT_SECONDS = 5
#: A pooled PostgreSQL connection is replaced after this many seconds (server-side idle limits).
PG_POOL_RECYCLE_SECONDS = 1800
#: Server-side limits for every session, so one stalled replica cannot stall the others: a
#: statement waits at most this long for a row lock (the cycle fails and retries later), and a
#: transaction left open this long (its process SIGSTOPped mid-transaction) is ended by the server,
#: releasing its locks. No transaction of ours waits on anything but the database.
PG_LOCK_TIMEOUT_MS = 10_000
PG_IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000
#: How long `migrate` keeps retrying a database it cannot reach at startup before failing.
STARTUP_DB_WAIT_SECONDS = 60.0
STARTUP_DB_RETRY_CAP_SECONDS = 5.0

#: Where Linux lists mounted filesystems (one `device mountpoint fstype options …` per line).
MOUNTS_FILE = Path("/proc/mounts")
#: Filesystem types on which SQLite's locking (and so WAL across processes) cannot be trusted.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb3",
        "smbfs",
        "ncpfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "davfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.cephfs",
        "fuse.ceph-fuse",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.davfs",
        "fuse.gcsfuse",
        "fuse.juicefs",
        "fuse.lizardfs",
        "fuse.moosefs",
    }
)

def _v2_paging(conn: Connection) -> None:
    """Issue 14: paging watches (subscriptions.page, page_error) and the pager_alerts table."""
    for ddl in (
        "ALTER TABLE subscriptions ADD COLUMN page BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE subscriptions ADD COLUMN page_error TEXT",
        "ALTER TABLE subscriptions ADD COLUMN page_error_at TIMESTAMP",
    ):
        conn.exec_driver_sql(ddl)
    # pager_alerts, and any other table a version-1 database lacks (create_all skips existing ones).
    metadata.create_all(conn)


#: Upgrade steps: MIGRATIONS[n] takes a database at version n-1 to version n.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _v2_paging}


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


class UnsafeDatabaseLocation(SettingsError):
    """DATABASE_URL names an SQLite file where several processes cannot share it safely."""

    def __init__(self, problem: str) -> None:
        super().__init__("DATABASE_URL", problem)


def sqlite_path(database_url: str) -> Path | None:
    """The file an `sqlite://` URL names; None for other databases and in-memory SQLite."""
    scheme, _, rest = database_url.partition("://")
    if scheme.split("+", 1)[0].lower() != "sqlite":
        return None
    # sqlite:///relative.db and sqlite:////absolute.db: the path follows the third slash.
    raw = unquote(rest[1:] if rest.startswith("/") else rest).split("?", 1)[0]
    if raw in ("", ":memory:") or raw.startswith("file::memory:"):
        return None
    return Path(raw.removeprefix("file:"))


def _unescape_mount(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash in octal (\\040 …)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mount_of(path: Path, mounts: str) -> tuple[str, str] | None:
    """(mount point, filesystem type) of the mount holding `path` (absolute): the longest match."""
    best: tuple[str, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point, fstype = _unescape_mount(fields[1]), fields[2]
        inside = point == "/" or path.as_posix() == point or path.as_posix().startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fstype)  # later lines win a tie: they are mounted over the earlier ones
    return best


def network_filesystem(path: Path, mounts: str) -> str | None:
    """The network filesystem type `path` lives on according to `mounts`, or None if local."""
    found = mount_of(path, mounts)
    if found is None:
        return None
    fstype = found[1].lower()
    return fstype if fstype in NETWORK_FILESYSTEMS else None


def check_sqlite_location(database_url: str, mounts_file: Path | None = None) -> None:
    """Refuse an SQLite file on a network filesystem: its locks do not hold there, and several
    replicas (or even one) could corrupt it. Raises UnsafeDatabaseLocation (a SettingsError)."""
    path = sqlite_path(database_url)
    if path is None:
        return
    mounts_file = mounts_file or MOUNTS_FILE
    try:
        mounts = mounts_file.read_text()
    except OSError:
        return  # not Linux (no /proc): nothing to check against
    resolved = path.expanduser().resolve()  # follows symlinks to where the file really is
    fstype = network_filesystem(resolved, mounts)
    if fstype is not None:
        raise UnsafeDatabaseLocation(
            f"points at {resolved}, on a network filesystem ({fstype}) where SQLite's locking is unsafe:"
            " use a local disk path, or postgresql:// for replicas on several hosts"
        )


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    url = engine_url(database_url)
    if url.startswith("postgresql"):
        # A connection the server dropped (restart, failover, idle timeout) is noticed at checkout
        # and replaced, instead of failing the first statement of every pooled connection.
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_recycle", PG_POOL_RECYCLE_SECONDS)
        connect_args = dict(kwargs.pop("connect_args", None) or {})
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_SECONDS)
        if "options" not in make_url(url).query:  # an operator's own options= win
            connect_args.setdefault(
                "options",
                f"-c lock_timeout={PG_LOCK_TIMEOUT_MS}"
                f" -c idle_in_transaction_session_timeout={PG_IDLE_IN_TRANSACTION_TIMEOUT_MS}",
            )
        kwargs["connect_args"] = connect_args
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def describe_db_error(error: exc.DBAPIError) -> str:
    """One line for a log: the driver's error class and the first line of its message (which
    names the server and the problem, never the password)."""
    first = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
    return f"{type(error.orig).__name__}: {first[:200]}" if first else type(error.orig).__name__


def is_connection_error(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (worth retrying later)."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, exc.OperationalError | exc.InterfaceError)


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


async def migrate(engine: AsyncEngine, *, now: datetime | None = None, wait: float = 0.0) -> int:
    """Create or upgrade the schema; idempotent and safe to run from several replicas at once.

    With `wait` > 0 a database that cannot be reached (a server still starting or restarting) is
    retried with back-off for that many seconds before the error is raised.
    """
    deadline = time.monotonic() + wait
    delay = 0.5
    while True:
        try:
            return await _migrate_once(engine, now)
        except exc.DBAPIError as error:
            if not is_connection_error(error) or time.monotonic() + delay > deadline:
                raise
            logger.warning("database not reachable yet (%s); retrying in %.1fs", describe_db_error(error), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, STARTUP_DB_RETRY_CAP_SECONDS)


async def _migrate_once(engine: AsyncEngine, now: datetime | None) -> int:
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

