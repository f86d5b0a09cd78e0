"""Structured logs: JSON lines that parse and carry the bound context; no secret on any path."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.ops.logs import REDACTED, bind, choose_format, configure_logging
from tests.fixtures_app import make_settings

SECRETS = {
    "slack_bot_token": "xoxb-1111-2222-supersecretbot",
    "slack_signing_secret": "signing-5ecret-value-42",
    "slack_app_token": "xapp-1-A111-333-appsecret",
    "pipecat_api_key": "pk_private_verysecretkey",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings("http://127.0.0.1:1", "http://127.0.0.1:2", tmp_path, **SECRETS)


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def capture(fmt: str, secrets: list[str]) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(fmt=fmt, level="DEBUG", secrets=secrets, stream=stream)
    return stream


def test_json_lines_parse_and_carry_bound_context(restore_root: None) -> None:
    stream = capture("json", [])
    log = logging.getLogger("bot.test")
    with bind(team="T1", channel="C1", user="U1", verb="lookup"):
        log.info("looked up %s", "voice-bot", extra={"took_ms": 12})
        with bind(agent="voice-bot", session="0b6f", dedup_key="3:0b6f"):
            log.warning("alert posted")
    log.info("outside")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["msg"] == "looked up voice-bot" and lines[0]["took_ms"] == 12
    assert {k: lines[0][k] for k in ("team", "channel", "user", "verb")} == {
        "team": "T1",
        "channel": "C1",
        "user": "U1",
        "verb": "lookup",
    }
    assert lines[1]["level"] == "warning"
    assert (lines[1]["agent"], lines[1]["session"], lines[1]["dedup_key"], lines[1]["channel"]) == (
        "voice-bot",
        "0b6f",
        "3:0b6f",
        "C1",
    )
    assert "team" not in lines[2] and lines[2]["logger"] == "bot.test"


async def test_work_spawned_inside_a_binding_keeps_its_context(restore_root: None) -> None:
    stream = capture("json", [])

    async def later() -> None:
        await asyncio.sleep(0)
        logging.getLogger("bot.after").info("done")

    with bind(channel="C9", verb="stats"):
        task = asyncio.create_task(later())
    await task
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert (line["channel"], line["verb"]) == ("C9", "stats")


def test_traceback_is_a_field(restore_root: None) -> None:
    stream = capture("json", [])
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("bot.test").exception("cycle failed")
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["exc_type"] == "RuntimeError"
    assert "Traceback (most recent call last)" in line["traceback"] and "boom" in line["traceback"]


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_no_secret_setting_reaches_any_log_path(fmt: str, settings: Settings, restore_root: None) -> None:
    secrets = settings.secret_values()
    assert set(SECRETS.values()) <= set(secrets)  # every SecretStr setting is known to the redactor
    stream = capture(fmt, secrets)
    log = logging.getLogger("bot.secrets")
    for secret in secrets:
        log.info(f"message {secret}")  # noqa: G004  (the path a careless f-string takes)
        log.info("argument %s", secret)
        log.info("extra", extra={"token": secret})
        log.info("repr %r", {"headers": {"Authorization": f"Bearer {secret}"}})
        with bind(user=secret):
            log.info("bound")
        try:
            raise ValueError(f"failed with {secret}")
        except ValueError:
            log.exception("exception")
    # Secret-shaped text that is not one of our settings is masked too.
    log.info("from an API answer: xoxb-999-888-otherworkspace and postgresql://ops:hunter22@db/ops")
    output = stream.getvalue()
    for secret in [*secrets, "xoxb-999-888-otherworkspace", "hunter22"]:
        assert secret not in output
    assert output.count(REDACTED) >= len(secrets) * 6
    if fmt == "json":
        assert all(json.loads(line) for line in output.splitlines() if line.startswith("{"))


@pytest.mark.parametrize(("level", "request_lines"), [("INFO", 0), ("WARNING", 0), ("DEBUG", 1)])
def test_a_line_per_http_request_only_at_debug_while_client_warnings_always_show(
    level: str, request_lines: int, restore_root: None
) -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", level=level, secrets=[], stream=stream)
    httpx_log = logging.getLogger("httpx")
    httpx_log.info('HTTP Request: GET https://api.pipecat.daily.co/v1/agents/voice-bot/sessions "HTTP/1.1 200 OK"')
    httpx_log.warning("connection pool is full")
    lines = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert sum(m.startswith("HTTP Request") for m in lines) == request_lines
    assert "connection pool is full" in lines


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_picks_json_unless_a_terminal() -> None:
    assert choose_format("auto", io.StringIO()) == "json"
    assert choose_format("auto", _Tty()) == "console"
    assert choose_format("console", io.StringIO()) == "console"


def test_log_format_setting_is_validated(tmp_path: Path) -> None:
    assert make_settings("http://a", "http://b", tmp_path, log_format="json").log_format == "json"
    with pytest.raises(ValueError, match="log_format"):
        make_settings("http://a", "http://b", tmp_path, log_format="xml")
