"""The sandbox's servers keep an idle connection open longer than the app's and the tests' clients
do, so a client never reuses a connection the server is closing (an httpx.ReadError in CI, when
uvicorn's 5 s default met httpx's own 5 s expiry)."""

from __future__ import annotations

import httpx

from sandbox import server

#: aiohttp's connector keeps an idle connection 15 s when not told otherwise (the Pipecat client's
#: transport, httpx-aiohttp, leaves it at that).
AIOHTTP_KEEPALIVE_SECONDS = 15.0


def test_the_sandbox_server_outlasts_every_client_idle_expiry() -> None:
    config = server._config(object(), port=0)

    httpx_expiry = httpx.Limits().keepalive_expiry
    assert httpx_expiry is not None
    assert config.timeout_keep_alive > httpx_expiry
    assert config.timeout_keep_alive > AIOHTTP_KEEPALIVE_SECONDS
