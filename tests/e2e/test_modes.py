"""Socket Mode serves the same Bolt app as HTTP mode: driven here over a real WebSocket by the
Socket Mode stand-in, as Slack drives it (apps.connections.open, hello, envelopes, acks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sandbox.pipecat.simulator import SimClock
from sandbox.slack.socket_mode import SocketModeStandIn
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_app import make_settings

if TYPE_CHECKING:
    from bot.app import Runtime


@pytest.fixture
async def socket_mode(slack_standin: SlackStandIn) -> AsyncIterator[SocketModeStandIn]:
    standin = SocketModeStandIn()
    async with standin.serve() as url:
        slack_standin.socket_url = url
        yield standin


@pytest.fixture
async def socket_app(
    socket_mode: SocketModeStandIn,
    slack_standin: SlackStandIn,
    pipecat_url: str,
    slack_url: str,
    tmp_path: Path,
    sim_clock: SimClock,
) -> AsyncIterator[Runtime]:
    from bot.app import build_runtime, socket_mode_handler

    settings = make_settings(
        pipecat_url, slack_url, tmp_path, slack_app_token=slack_standin.app_token, slack_signing_secret=None
    )
    assert settings.socket_mode
    runtime = build_runtime(settings, clock=sim_clock)
    await runtime.start(with_scheduler=False)
    handler = socket_mode_handler(runtime)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await asyncio.wait_for(socket_mode.connected.wait(), 10)
        yield runtime
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await runtime.stop()


async def test_the_app_opens_its_socket_with_the_app_level_token(
    socket_app: Runtime, slack_standin: SlackStandIn
) -> None:
    [opened] = slack_standin.calls_to("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {slack_standin.app_token}"


async def test_a_slash_command_envelope_is_acked_with_the_immediate_answer(
    socket_app: Runtime, socket_mode: SocketModeStandIn, slack_standin: SlackStandIn
) -> None:
    ack = await socket_mode.slash_command("help", response_url=slack_standin.response_url())
    assert set(ack) == {"envelope_id", "payload"}
    assert ack["payload"]["response_type"] == "ephemeral" and "/session watch" in json.dumps(ack["payload"])


async def test_a_slash_command_envelope_is_acked_then_answered_on_its_response_url(
    socket_app: Runtime, socket_mode: SocketModeStandIn, slack_standin: SlackStandIn
) -> None:
    url = slack_standin.response_url()
    ack = await socket_mode.slash_command("watches", response_url=url)
    assert "payload" not in ack or not ack["payload"]  # nothing to say at once: a bare ack
    key = url.rsplit("/", 1)[1]
    await slack_standin.wait_until(lambda: bool(slack_standin.posts_to_response(key)), within=10)
    [post] = slack_standin.posts_to_response(key)
    assert "No agents are watched" in json.dumps(post.body)
