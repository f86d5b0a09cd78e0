"""Engine construction for SQLite (default) and PostgreSQL; schema upgrades are in bot/store/migrate.py."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import URL, Connection, event, exc, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.contracts.errors import SettingsError

logger = logging.getLogger(__name__)

#: Milliseconds a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option that marks a connection as read-only, so SQLite begins it DEFERRED.
READ_ONLY_OPTION = "pipecat_ops_read_only"

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

#: The async driver each supported database is reached with.
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}


def parse_database_url(database_url: str) -> URL:
    """DATABASE_URL with the app's async driver: `sqlite:///x.db` → `sqlite+aiosqlite:///x.db`,
    `postgresql://…` (or `postgres://`) → `postgresql+psycopg://…`; ValueError for anything else."""
    try:
        url = make_url(database_url)
    except exc.ArgumentError:
        raise ValueError("DATABASE_URL must look like sqlite:///path or postgresql://user@host/db") from None
    backend = "postgresql" if url.get_backend_name() in ("postgresql", "postgres") else url.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported DATABASE_URL scheme {url.drivername!r}: use sqlite or postgresql")
    return url.set(drivername=ASYNC_DRIVERS[backend])


def engine_url(database_url: str) -> str:
    """`parse_database_url` as a string, password included (for logs use `repr`, which hides it)."""
    return parse_database_url(database_url).render_as_string(hide_password=False)


class UnsafeDatabaseLocation(SettingsError):
    """DATABASE_URL names an SQLite file where several processes cannot share it safely."""

    def __init__(self, problem: str) -> None:
        super().__init__("DATABASE_URL", problem)


def sqlite_path(database_url: str) -> Path | None:
    """The file an `sqlite://` URL names; None for other databases and in-memory SQLite."""
    try:
        url = make_url(database_url)
    except exc.ArgumentError:
        return None
    if url.get_backend_name() != "sqlite":
        return None
    # sqlite:///relative.db and sqlite:////absolute.db: the path follows the third slash.
    raw = unquote(url.database or "")
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
    url = parse_database_url(database_url)
    if url.get_backend_name() == "postgresql":
        # A connection the server dropped (restart, failover, idle timeout) is noticed at checkout
        # and replaced, instead of failing the first statement of every pooled connection.
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_recycle", PG_POOL_RECYCLE_SECONDS)
        connect_args = dict(kwargs.pop("connect_args", None) or {})
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_SECONDS)
        if "options" not in url.query:  # an operator's own options= win
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
