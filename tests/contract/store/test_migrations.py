"""Alembic migrations, on SQLite and PostgreSQL: an empty database upgrades to exactly schema.py; a
stage-one database (the first landed schema, before Alembic) keeps its data and gets the rest;
replicas starting at once upgrade it once; a database from a newer app is refused."""

from __future__ import annotations

import asyncio
import os
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from bot.store import Store
from bot.store.migrate import head_revision
from bot.store.schema import metadata
from tests import store_reads
from tests.fixtures_store import PG_URL_ENV, _backends, run_sql_fixture
from tests.paths import ROOT

T = datetime(2026, 10, 30, 14, 10, tzinfo=UTC)
SESSION = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


@pytest.fixture(params=_backends())
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, Store]]:
    """A Store on an empty database (its tables dropped on the shared PostgreSQL server)."""
    url = os.environ[PG_URL_ENV] if request.param == "postgresql" else f"sqlite:///{tmp_path / 'ops.db'}"
    store = Store.from_url(url)
    async with store.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    try:
        yield url, store
    finally:
        await store.dispose()


def _schema_differences(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def _revision(store: Store) -> str | None:
    async with store.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def test_an_empty_database_upgrades_to_exactly_the_schema_of_schema_py(empty: tuple[str, Store]) -> None:
    _, store = empty
    assert await store.migrate(wait=0) == head_revision()
    assert await _revision(store) == head_revision()
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_schema_differences) == []
    assert await store.migrate(wait=0) == head_revision()  # again: nothing to do


async def test_a_stage_one_database_keeps_its_data_and_gets_the_new_schema(empty: tuple[str, Store]) -> None:
    _, store = empty
    await run_sql_fixture(store, f"landed-v1.{store.dialect}.sql")
    await run_sql_fixture(store, "landed-v1-data.sql")
    assert await _revision(store) is None

    assert await store.migrate(wait=0) == head_revision()
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_schema_differences) == []

    [(watch, mute)] = await store.watches_with_mutes("C0ONCALL", T)
    assert (watch.agent, watch.statuses, watch.group) == ("voice-bot", frozenset({"HTTP_ERROR"}), "<!subteam^S0ONCALL>")
    assert mute is not None and mute.until == datetime(2026, 10, 30, 15, tzinfo=UTC)
    state = await store.poll_state("voice-bot")
    assert state is not None and state.watermark == datetime(2026, 10, 30, 14, tzinfo=UTC)
    assert state.failure_kind is None and state.backfill_until is None  # the columns 0002 added
    assert await store.unseen("voice-bot", [SESSION, "11111111-2222-4333-8444-555555555555"]) == {
        "11111111-2222-4333-8444-555555555555"
    }
    [incident] = await store.open_incidents("C0ONCALL")
    assert incident.parent_ts == "1793369100.000300" and incident.statuses == ("HTTP_ERROR",)
    pending = await store.next_deliverable("C0ONCALL", T)
    assert pending is not None and pending.session_id == SESSION and pending.payload == {"agent": "voice-bot"}
    assert await store.channel_backoff("C0ONCALL") == datetime(2026, 10, 30, 14, 0, 30, tzinfo=UTC)
    [entry] = await store_reads.recent_audit(store)
    assert (entry.action, entry.detail) == ("watch", "watch voice-bot")
    assert await store_reads.item_failures(store, "voice-bot") == {}  # the table 0002 created

    # New rows go in after the old ones (sequences and autoincrement carried over).
    second, created = await store.upsert_watch("C0OTHER", "voice-bot", ["HTTP_ERROR"], None, "U1", T)
    assert created and second.id == watch.id + 1
    assert await store.acknowledge("C0ONCALL", "1793369100.000300", "U2", T) is not None


async def test_replicas_starting_together_upgrade_a_stage_one_database_once(empty: tuple[str, Store]) -> None:
    url, store = empty
    await run_sql_fixture(store, f"landed-v1.{store.dialect}.sql")
    await run_sql_fixture(store, "landed-v1-data.sql")
    replicas = [Store.from_url(url) for _ in range(4)]
    try:
        revisions = await asyncio.gather(*(r.migrate(wait=30) for r in replicas))
    finally:
        for replica in replicas:
            await replica.dispose()
    assert revisions == [head_revision()] * 4
    assert [w.agent for w, _ in await store.watches_with_mutes("C0ONCALL", T)] == ["voice-bot"]
    async with store.engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    assert versions == [head_revision()]


def test_the_migrations_ship_inside_the_package() -> None:
    from setuptools import find_packages  # type: ignore[import-untyped]

    packages = set(find_packages(where=str(ROOT), include=["bot*"]))
    assert {"bot.store.migrations", "bot.store.migrations.versions"} <= packages
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "store/migrations/script.py.mako" in config["tool"]["setuptools"]["package-data"]["bot"]


async def test_a_database_migrated_by_a_newer_app_is_refused_with_a_clear_error(empty: tuple[str, Store]) -> None:
    _, store = empty
    await store.migrate(wait=0)
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(RuntimeError, match=r"revision 9999, which this app does not know.*upgrade the app"):
        await store.migrate(wait=0)
