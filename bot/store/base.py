"""What every part of the store shares: the engine, transactions and the dialect's upsert."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import fields
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar, get_origin, get_type_hints

from sqlalchemy import ColumnElement, RowMapping, Select, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.engine import READ_ONLY_OPTION
from bot.store.payloads import dump_payload
from bot.store.records import NewPost
from bot.store.schema import alert_outbox

#: Marks a transaction that enqueued rows (its listeners are told after the commit).
ENQUEUED = "pipecat_ops_enqueued"
#: Values per IN (...) list: well under SQLite's bound-parameter limit.
CHUNK = 500


def chunked(items: Sequence[str]) -> list[list[str]]:
    """`items` without repeats, in lists short enough for one IN (...) each."""
    ordered = list(dict.fromkeys(items))
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


class LeaseLost(Exception):
    """A fenced write found that another worker holds the lease or claim now; nothing was written."""


def lease_takeable(table: Table, owner: str, now: datetime) -> ColumnElement[bool]:
    """The lease rule of every leased row (a channel, an agent's poll, its status read): `owner`
    may take it when nobody holds it, it holds it already (a renewal), or the holder's lease ran out."""
    return or_(table.c.lease_owner.is_(None), table.c.lease_owner == owner, table.c.lease_expires_at < now)


class StoreBase:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{READ_ONLY_OPTION: True})
        self.dialect = engine.dialect.name
        self._write_lock = asyncio.Lock()
        self._enqueue_listeners: list[Callable[[], None]] = []
        # Both dialects spell INSERT … ON CONFLICT DO NOTHING the same way; pick the module once.
        self._insert: Callable[[Table], Any] = postgresql.insert if self.dialect == "postgresql" else sqlite.insert

    def on_enqueue(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every committed transaction that enqueued outbox rows (in this
        process): delivery wakes up at once instead of at its next tick."""
        self._enqueue_listeners.append(listener)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A writing transaction (BEGIN IMMEDIATE on SQLite)."""
        begin = self.engine.begin() if self.dialect != "sqlite" else self._queued_write()
        async with begin as conn:
            yield conn
            enqueued = conn.info.pop(ENQUEUED, False)
        if enqueued:  # committed: now the rows are there to be read
            for listener in self._enqueue_listeners:
                listener()

    @contextlib.asynccontextmanager
    async def _queued_write(self) -> AsyncIterator[AsyncConnection]:
        # SQLite takes one writer at a time; the others would wait in its busy handler, which
        # sleeps 1, 2, 5, 10 ... 100 ms between tries. Queue this process's writers here instead.
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A reading transaction (a deferred BEGIN on SQLite, so readers never queue behind writers)."""
        return self._reader.begin()

    def skip_locked(self, query: Select[Any]) -> Select[Any]:
        """`query … FOR UPDATE SKIP LOCKED` on PostgreSQL: lock the rows about to be claimed and pass
        over the ones another worker is claiming right now, instead of queueing behind it. SQLite
        has no row locks: its writers are serialised by BEGIN IMMEDIATE, so the query is unchanged."""
        return query.with_for_update(skip_locked=True) if self.dialect == "postgresql" else query

    def insert_ignore(self, table: Table, keys: Sequence[str]) -> Any:
        """INSERT … ON CONFLICT (keys) DO NOTHING; add `.returning()` to learn which rows went in."""
        return self._insert(table).on_conflict_do_nothing(index_elements=list(keys))

    def upsert(self, table: Table, keys: Sequence[str], values: dict[str, Any], refresh: Sequence[str]) -> Any:
        """INSERT … ON CONFLICT (keys) DO UPDATE: a row that exists gets the `refresh` columns of `values`."""
        statement = self._insert(table).values(**values)
        return statement.on_conflict_do_update(index_elements=list(keys), set_={c: values[c] for c in refresh})

    async def insert_posts(self, conn: AsyncConnection, posts: Sequence[NewPost], now: datetime) -> int:
        """Insert outbox rows inside the caller's transaction; a known dedup key is skipped. One
        statement for all of them (a storm enqueues hundreds: one round trip each was most of
        its recording time)."""
        if not posts:
            return 0
        rows = [
            {
                "dedup_key": post.dedup_key,
                "kind": post.kind,
                "channel_id": post.channel_id,
                "agent": post.agent,
                "subscription_id": post.subscription_id,
                "session_id": post.session_id,
                "incident_id": post.incident_id,
                "state": post.state,
                "attempts": 0,
                "next_attempt_at": now,
                "payload": dump_payload(post.payload),
                "last_error": post.last_error,
                "created_at": now,
                "updated_at": now,
            }
            for post in posts
        ]
        statement = self.insert_ignore(alert_outbox, ["dedup_key"]).returning(alert_outbox.c.id)
        count = len((await conn.execute(statement, rows)).all())  # RETURNING names the rows that went in
        if count:
            conn.info[ENQUEUED] = True
        return count

    async def dispose(self) -> None:
        await self.engine.dispose()


T = TypeVar("T")
#: Values as the JSON and Boolean columns return them → the type a record field declares.
_CONVERSIONS: dict[object, Callable[[Any], Any]] = {frozenset: frozenset, tuple: tuple, dict: dict, bool: bool}


_Plan = tuple[tuple[str, str, Callable[[Any], Any] | None], ...]
_PLANS: dict[type[Any], _Plan] = {}


def _conversion(hint: Any) -> Callable[[Any], Any] | None:
    """How a stored value becomes the field's type: an enum field (OutboxKind, OutboxState...) gets
    its member from the stored string, a container or bool field the type the field declares."""
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    return _CONVERSIONS.get(get_origin(hint) or hint)


def _columns(record: type[Any]) -> _Plan:
    """(field, column, conversion) for each field of a record dataclass, worked out once per class.
    A field reads the column of its own name, or the one its `column` metadata names (a field
    called `group` reads `group_mention`: GROUP is an SQL keyword)."""
    if record not in _PLANS:
        hints = get_type_hints(record)
        _PLANS[record] = tuple(
            (f.name, f.metadata.get("column", f.name), _conversion(hints[f.name])) for f in fields(record)
        )
    return _PLANS[record]


def from_row(record: type[T], row: RowMapping) -> T:
    """A record (bot/store/records.py) from a result row: columns by field name, no hand mapping.
    A field whose column the row lacks keeps its default (no default: TypeError, as it should)."""
    values = {}
    for name, column, convert in _columns(record):
        if column not in row:
            continue  # a query that leaves the column out gets the field's default
        value = row[column]
        values[name] = convert(value) if convert is not None and value is not None else value
    return record(**values)
