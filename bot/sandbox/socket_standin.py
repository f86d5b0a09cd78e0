"""A stand-in for Slack's Socket Mode WebSocket (aiohttp: the stand-in's Starlette server has no
WebSocket support installed), so Socket Mode runs end to end on loopback.

    socket = SocketModeStandIn()
    url = await socket.start()
    standin.socket_url = url        # apps.connections.open answers it

On each connection it sends Slack's `hello`; `push(envelope)` sends an envelope to every client
and `acks` records what they answered (by envelope_id).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web


class SocketModeStandIn:
    def __init__(self) -> None:
        self.connections: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.accepting = True
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._app = app

    async def start(self) -> str:
        self._runner = web.AppRunner(self._app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return f"ws://127.0.0.1:{port}/link"

    async def stop(self) -> None:
        await self.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop_all(self) -> None:
        """Close every connection (Slack does this on a refresh or an outage)."""
        for ws in list(self.connections):
            await ws.close()

    async def push(self, envelope: dict[str, Any]) -> None:
        for ws in list(self.connections):
            await ws.send_str(json.dumps(envelope))

    async def _link(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            return web.Response(status=503, text="unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": len(self.connections)}))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    body = json.loads(message.data)
                    if isinstance(body, dict) and body.get("envelope_id"):
                        self.acks[str(body["envelope_id"])] = body
        finally:
            self.connections.remove(ws)
        return ws
