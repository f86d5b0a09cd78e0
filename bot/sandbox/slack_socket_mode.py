"""Slack's end of Socket Mode, on loopback: a WebSocket that sends envelopes and reads the acks.

The protocol (api.slack.com/apis/connections/socket-implement): the app calls
`apps.connections.open` with its app-level token (the Slack stand-in answers it with this
server's URL), connects, and gets `{"type": "hello", …}`. Slack then sends envelopes
`{"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
"accepts_response_payload", "retry_attempt", "retry_reason"}` and the app acknowledges each one
with `{"envelope_id", "payload"?}` (for a slash command the optional payload is the immediate
answer, as the HTTP response body is in HTTP mode). Envelopes are not signed: the app-level
token authenticated the connection. Served with aiohttp (already a dependency), because uvicorn
has no WebSocket support without an extra package.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from bot.sandbox.signing import slash_command_body

#: How long `send` waits for the app's ack (Slack itself retries after about 3 seconds).
ACK_WAIT_SECONDS = 10.0
APP_ID = "A123456"


class SocketModeStandIn:
    def __init__(self) -> None:
        self.connected = asyncio.Event()
        #: Every frame the app sent, in order (acks, and anything else it sends).
        self.received: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "applink-standin", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self.connected.set()
        async for message in socket:
            if message.type is WSMsgType.TEXT:
                self._on_frame(json.loads(message.data))
        self._sockets.remove(socket)
        return socket

    def _on_frame(self, frame: dict[str, Any]) -> None:
        self.received.append(frame)
        waiter = self._acks.pop(str(frame.get("envelope_id")), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)

    async def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool) -> dict[str, Any]:
        """Send one envelope to the connected app; returns its ack (TimeoutError if none comes)."""
        if not self._sockets:
            raise RuntimeError("no app is connected")
        envelope_id = str(uuid.uuid4())
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": accepts_response_payload,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(waiter, ACK_WAIT_SECONDS)

    async def slash_command(self, text: str, *, response_url: str, **fields: str) -> dict[str, Any]:
        """`/session <text>` as Slack sends it over Socket Mode: the HTTP form fields as JSON."""
        payload = dict(parse_qsl(slash_command_body(text, response_url=response_url, **fields)))
        return await self.send("slash_commands", payload, accepts_response_payload=True)

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Listen on 127.0.0.1 (ephemeral port); yields the `ws://` URL to hand out."""
        app = web.Application()
        app.router.add_get("/link", self._link)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield f"ws://127.0.0.1:{port}/link"
        finally:
            for socket in list(self._sockets):
                await socket.close()
            await runner.cleanup()
