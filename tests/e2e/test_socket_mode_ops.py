"""Socket Mode end to end: the app connects to a Socket Mode stand-in, answers a command that
arrives over the WebSocket, and its small HTTP server serves only /healthz and /metrics, with
the connection state in /healthz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build_runtime, run_socket_mode
from sandbox.pipecat.simulator import SimClock
from sandbox.slack.socket_mode import SocketModeStandIn
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_app import USER, make_settings
from tests.fixtures_slack import ONCALL_CHANNEL


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 15.0) -> None:
    """Re-check an outside process's state until it holds (the app runs on its own timers here)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


@pytest.fixture
async def socket_standin(slack_standin: SlackStandIn) -> AsyncIterator[SocketModeStandIn]:
    stand_in = SocketModeStandIn()
    slack_standin.socket_url = await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


async def test_socket_mode_serves_healthz_and_metrics_and_reports_the_connection(
    pipecat_url: str,
    slack_url: str,
    slack_standin: SlackStandIn,
    socket_standin: SocketModeStandIn,
    tmp_path: Path,
    sim_clock: SimClock,
) -> None:
    port = free_port()
    settings = make_settings(
        pipecat_url, slack_url, tmp_path, slack_app_token=slack_standin.app_token, slack_signing_secret=None, port=port
    )
    runtime = build_runtime(settings, clock=sim_clock)
    task = asyncio.create_task(run_socket_mode(runtime))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:

        async def health() -> dict[str, object] | None:
            with contextlib.suppress(httpx.HTTPError):
                return dict((await http.get("/healthz")).json())
            return None

        async def connected() -> bool:
            return (await health() or {}).get("socket_mode") == "connected"

        try:
            await eventually(connected, "Socket Mode connected and /healthz answering")
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.post("/slack/events")).status_code in (404, 405)  # Slack comes over the socket

            # A command over the socket: acked on the socket, answered on the response URL.
            url = slack_standin.response_url(channel_id=ONCALL_CHANNEL, user_id=USER)
            payload = {
                "command": "/session", "text": "watches", "channel_id": ONCALL_CHANNEL, "user_id": USER,
                "team_id": "T0001", "response_url": url, "trigger_id": "1.2.3",
            }  # fmt: skip
            await socket_standin.push({"envelope_id": "env-1", "type": "slash_commands", "payload": payload})
            await slack_standin.wait_until(
                lambda: bool(slack_standin.posts_to_response(url.rsplit("/", 1)[1])), within=10
            )
            assert "env-1" in socket_standin.acks

            metrics = (await http.get("/metrics")).text
            names = {f.name for f in text_string_to_metric_families(metrics)}
            assert "pipecat_ops_ack_latency_seconds" in names
            assert 'pipecat_ops_ack_latency_seconds_count{kind="command"} 1.0' in metrics
            assert 'pipecat_ops_slack_api_calls_total{method="apps.connections.open",result="ok"}' in metrics

            # Slack drops the connection and refuses new ones: /healthz says so with a 503.
            socket_standin.accepting = False
            await socket_standin.drop_all()

            async def disconnected() -> bool:
                return (await health() or {}).get("socket_mode") == "disconnected"

            await eventually(disconnected, "/healthz reports the lost connection")
            answer = await http.get("/healthz")
            assert answer.status_code == 503
            assert "Socket Mode is not connected to Slack" in json.dumps(answer.json())
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
