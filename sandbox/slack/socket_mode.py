"""Slack's end of Socket Mode, on loopback (aiohttp: the stand-in's Starlette server has no
WebSocket support installed), so Socket Mode runs end to end.

    socket = SocketModeStandIn()
    url = await socket.start()      # or: async with socket.serve() as url
    standin.socket_url = url        # apps.connections.open answers it (with the app-level token)

The protocol (api.slack.com/apis/connections/socket-implement): the app calls
`apps.connections.open`, connects, and gets `{"type": "hello", …}`. Slack then sends envelopes
`{"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
"accepts_response_payload", "retry_attempt", "retry_reason"}` and the app acknowledges each with
`{"envelope_id", "payload"?}` (for a slash command the payload is the immediate answer, as the
HTTP response body is in HTTP mode). Envelopes are not signed: the app-level token authenticated
the connection. `push` sends an envelope to every client, `send` to the newest and waits for its
ack; `acks` records every ack by envelope_id.
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

from sandbox.signing import slash_command_body

#: How long `send` waits for the app's ack (Slack itself retries after about 3 seconds).
ACK_WAIT_SECONDS = 10.0


class SocketModeStandIn:
    def __init__(self) -> None:
        self.connections: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}
        #: False: new connections are refused with 503 (an outage).
        self.accepting = True
        #: Set once an app has connected and been greeted.
        self.connected = asyncio.Event()
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._app = app

    async def start(self) -> str:
        """Listen on 127.0.0.1 (ephemeral port); returns the `ws://` URL to hand out."""
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"ws://127.0.0.1:{port}/link"

    async def stop(self) -> None:
        await self.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        url = await self.start()
        try:
            yield url
        finally:
            await self.stop()

    async def drop_all(self) -> None:
        """Close every connection (Slack does this on a refresh or an outage)."""
        for ws in list(self.connections):
            await ws.close()

    async def push(self, envelope: dict[str, Any]) -> None:
        for ws in list(self.connections):
            await ws.send_str(json.dumps(envelope))

    async def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool) -> dict[str, Any]:
        """Send one envelope to the newest connection; returns its ack (TimeoutError if none comes)."""
        if not self.connections:
            raise RuntimeError("no app is connected")
        envelope_id = str(uuid.uuid4())
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[envelope_id] = waiter
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self.connections[-1].send_str(json.dumps(envelope))
        return await asyncio.wait_for(waiter, ACK_WAIT_SECONDS)

    async def slash_command(self, text: str, *, response_url: str, **fields: str) -> dict[str, Any]:
        """`/session <text>` as Slack sends it over Socket Mode: the HTTP form's fields as JSON."""
        payload = dict(parse_qsl(slash_command_body(text, response_url=response_url, **fields)))
        return await self.send("slash_commands", payload, accepts_response_payload=True)

    async def _link(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            return web.Response(status=503, text="unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": len(self.connections)}))
        self.connected.set()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_frame(json.loads(message.data))
        finally:
            self.connections.remove(ws)
        return ws

    def _on_frame(self, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("envelope_id"):
            return
        envelope_id = str(body["envelope_id"])
        self.acks[envelope_id] = body
        waiter = self._waiters.pop(envelope_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(body)
