"""Serve an ASGI app on 127.0.0.1 with an ephemeral port (tests, benchmarks, demo)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn


class _QuietServer(uvicorn.Server):
    """A server that leaves the host process's signal handlers alone (tests, demo, bench own them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


#: How long an idle keep-alive connection stays open on the server side. It must outlast every
#: client's own idle expiry (httpx 5 s, aiohttp's connector 15 s): with uvicorn's default of 5 s
#: the server closed a connection just as httpx reused it, and the request failed with ReadError.
KEEP_ALIVE_SECONDS = 60


def _config(app: Any, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


def _bound_url(server: uvicorn.Server) -> str:
    sockets = server.servers[0].sockets
    host, port = sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def serve(app: Any, port: int = 0) -> AsyncIterator[str]:
    """Run `app` in the current event loop; yields its base URL (no trailing slash)."""
    server = _QuietServer(_config(app, port))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise a bind error
                raise RuntimeError("server stopped before it started")
            await asyncio.sleep(0.005)
        yield _bound_url(server)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
