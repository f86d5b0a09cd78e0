"""Socket Mode and HTTP mode serve the very same Bolt app and listeners."""

from __future__ import annotations

from pathlib import Path

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

from bot.app import build_runtime
from tests.fixtures_app import make_settings


async def test_socket_mode_handler_wraps_the_same_app_as_http_mode(tmp_path: Path) -> None:
    settings = make_settings("http://127.0.0.1:9/v1", "http://127.0.0.1:9", tmp_path, slack_app_token="xapp-1-test")
    runtime = build_runtime(settings)
    try:
        http_handler = AsyncSlackRequestHandler(runtime.bolt)
        socket_handler = AsyncSocketModeHandler(runtime.bolt, "xapp-1-test")
        assert socket_handler.app is runtime.bolt is http_handler.app
        assert len(runtime.bolt._async_listeners) >= 8  # the command, the shortcut and every button
        assert settings.socket_mode
    finally:
        await runtime.stop()
