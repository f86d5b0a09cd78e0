"""A real replica (`python -m bot`) as operators meet it: /healthz while its PostgreSQL server stops
and comes back, its start-up heap, and how long its server keeps an idle connection."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.conftest import PG_DATA_ENV
from tests.reliability.harness import Cluster, eventually
from tests.reliability.test_faults import PgCtl

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_healthz_turns_503_while_postgresql_is_stopped_and_200_once_it_is_back(
    backend: str, cluster: Cluster
) -> None:
    data_dir = os.environ.get(PG_DATA_ENV)
    if not data_dir:
        pytest.skip(f"needs {PG_DATA_ENV} (the server's data directory) to restart it")
    pg = PgCtl(data_dir)
    (replica,) = await cluster.start(1)
    async with httpx.AsyncClient(base_url=replica.url, timeout=10) as http:
        healthy = await http.get("/healthz")
        assert healthy.status_code == 200 and healthy.json()["database"] == "ok"
        await pg.stop()
        try:

            async def unhealthy() -> bool:
                return (await http.get("/healthz")).status_code == 503

            await eventually(unhealthy, within=30, what="/healthz reports the stopped database")
            body = (await http.get("/healthz")).json()
            assert body["ok"] is False and body["database"] != "ok"
            assert body["reasons"][0].startswith("database unreachable")
            scrape = await http.get("/metrics")  # still serving, and saying the database gauges are stale
            assert scrape.status_code == 200
            (fresh,) = [
                f for f in text_string_to_metric_families(scrape.text) if f.name == "pipecat_ops_store_gauges_fresh"
            ]
            assert fresh.samples[0].value == 0
        finally:
            await pg.start()

        async def healthy_again() -> bool:
            return (await http.get("/healthz")).status_code == 200

        await eventually(healthy_again, within=60, what="/healthz healthy again once the database is back")
    cluster.assert_all_alive()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_replica_keeps_its_start_up_heap_out_of_full_collections(backend: str, cluster: Cluster) -> None:
    """`python -m bot` freezes what start-up built (bot/ops/heap.py): a full collection walks only
    what came after, instead of stalling every ack for as long as it takes to walk the whole app."""
    (replica,) = await cluster.start(1)
    async with httpx.AsyncClient(base_url=replica.url, timeout=10) as http:
        scrape = await http.get("/metrics")
    (frozen,) = [f for f in text_string_to_metric_families(scrape.text) if f.name == "pipecat_ops_heap_frozen_objects"]
    assert frozen.samples[0].value > 50_000  # the app and its libraries (about 140 000 objects)
    cluster.assert_all_alive()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_replica_closes_an_idle_connection_after_http_keep_alive_seconds(
    backend: str, cluster: Cluster
) -> None:
    """HTTP_KEEP_ALIVE_SECONDS reaches the real server: an idle keep-alive connection is closed by
    the app once it has been idle that long (and not before its answer)."""
    cluster.extra_env["HTTP_KEEP_ALIVE_SECONDS"] = "1"
    (replica,) = await cluster.start(1)
    reader, writer = await asyncio.open_connection("127.0.0.1", replica.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        assert head.startswith(b"HTTP/1.1 200") and b"connection: close" not in head.lower()
        length = int(next(h for h in head.lower().split(b"\r\n") if h.startswith(b"content-length:")).split(b":")[1])
        await reader.readexactly(length)
        idle_from = asyncio.get_running_loop().time()
        rest = await asyncio.wait_for(reader.read(), timeout=10)  # EOF: the server closed it
        idle = asyncio.get_running_loop().time() - idle_from
    finally:
        writer.close()
    assert rest == b""
    assert 0.5 <= idle < 5  # its own second, not uvicorn's default of 5 s
    cluster.assert_all_alive()
