"""`python -m bot check` against the stand-ins: one line per check, the fix for each failure."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sandbox.slack.standin import SlackStandIn
from tests.fixtures_app import SIGNING_SECRET
from tests.fixtures_slack import BOT_TOKEN

PIPECAT_KEY = "sim-key"


async def check(tmp_path: Path, **settings: str) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PIPECAT_", "DATABASE_", "PORT"))}
    env |= settings
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check",
        env=env, cwd=str(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines(), out.decode() + err.decode()


def good(pipecat_url: str, slack_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack_url}/api/",
        "PIPECAT_API_KEY": PIPECAT_KEY,
        "PIPECAT_API_URL": pipecat_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.db'}",
    }


def line(lines: list[str], name: str) -> str:
    (found,) = [x for x in lines if x.split(":", 1)[0].split()[-1] == name]
    return found


async def test_passes_against_the_stand_ins(
    pipecat_url: str, slack_url: str, slack_standin: SlackStandIn, tmp_path: Path
) -> None:
    code, lines, output = await check(tmp_path, **good(pipecat_url, slack_url, tmp_path))
    assert code == 0, output
    assert [x.split(":", 1)[0] for x in lines] == [
        "ok    settings",
        "ok    slack",
        "ok    pipecat",
        "ok    database",
        "ok    webhooks",
    ]
    assert "off (PIPECAT_WEBHOOK_SECRET not set)" in line(lines, "webhooks")
    assert "scopes match the manifest" in line(lines, "slack")
    assert "2 agent(s)" in line(lines, "pipecat")
    assert slack_standin.calls_to("auth.test")


async def test_a_bad_slack_token_fails_with_its_fix(pipecat_url: str, slack_url: str, tmp_path: Path) -> None:
    settings = good(pipecat_url, slack_url, tmp_path) | {"SLACK_BOT_TOKEN": "xoxb-revoked-0000000000"}
    code, lines, output = await check(tmp_path, **settings)
    assert code == 1
    slack = line(lines, "slack")
    assert slack.startswith("FAIL") and "SLACK_BOT_TOKEN was refused (invalid_auth)" in slack
    assert "OAuth & Permissions" in slack
    assert line(lines, "pipecat").startswith("ok") and line(lines, "database").startswith("ok")
    assert "xoxb-revoked-0000000000" not in output


async def test_missing_scopes_are_named(
    pipecat_url: str, slack_url: str, slack_standin: SlackStandIn, tmp_path: Path
) -> None:
    slack_standin.granted_scopes = ["commands", "chat:write"]
    code, lines, _ = await check(tmp_path, **good(pipecat_url, slack_url, tmp_path))
    assert code == 1
    slack = line(lines, "slack")
    lacks = "the token lacks channels:history, channels:read, files:write, groups:history, groups:read"
    assert slack.startswith("FAIL") and lacks in slack
    assert "reinstall" in slack


async def test_a_bad_pipecat_key_fails_with_its_fix(pipecat_url: str, slack_url: str, tmp_path: Path) -> None:
    settings = good(pipecat_url, slack_url, tmp_path) | {"PIPECAT_API_KEY": "pk_wrong_key_123"}
    code, lines, output = await check(tmp_path, **settings)
    assert code == 1
    assert line(lines, "pipecat") == (
        "FAIL  pipecat: PIPECAT_API_KEY was refused (401): create a Private key under Settings → API keys "
        "in the Pipecat Cloud dashboard (a public key cannot read sessions)"
    )
    assert line(lines, "slack").startswith("ok")
    assert "pk_wrong_key_123" not in output


async def test_an_unreachable_database_fails_with_its_fix(pipecat_url: str, slack_url: str, tmp_path: Path) -> None:
    url = "postgresql://ops:hunter2-secret@127.0.0.1:9/ops"  # nothing listens on the discard port
    code, lines, output = await check(tmp_path, **good(pipecat_url, slack_url, tmp_path) | {"DATABASE_URL": url})
    assert code == 1
    database = line(lines, "database")
    assert database.startswith("FAIL  database: cannot open DATABASE_URL (OperationalError")
    assert "check host, port, credentials" in database
    assert "hunter2-secret" not in output


async def test_bad_settings_exit_2_naming_the_variable(tmp_path: Path) -> None:
    code, lines, output = await check(tmp_path, SLACK_BOT_TOKEN="not-a-bot-token", PIPECAT_API_KEY="k")
    assert code == 2
    (only,) = lines
    assert only.startswith("FAIL  settings: SLACK_BOT_TOKEN is invalid") and "Traceback" not in output


async def test_socket_mode_checks_the_app_level_token(
    pipecat_url: str, slack_url: str, slack_standin: SlackStandIn, tmp_path: Path
) -> None:
    slack_standin.socket_url = "ws://127.0.0.1:9/link"  # handed out, never connected to
    settings = good(pipecat_url, slack_url, tmp_path) | {"SLACK_APP_TOKEN": slack_standin.app_token}
    code, lines, output = await check(tmp_path, **settings)
    assert code == 0, output
    assert line(lines, "socket-mode").startswith("ok") and line(lines, "settings").endswith(
        "Socket Mode, polling every 60s"
    )
    code, lines, output = await check(tmp_path, **settings | {"SLACK_APP_TOKEN": "xapp-1-revoked-999"})
    assert code == 1
    assert "SLACK_APP_TOKEN was refused (invalid_auth): create an App-Level Token" in line(lines, "socket-mode")
    assert "xapp-1-revoked-999" not in output


async def test_says_the_webhook_secret_is_set_and_which_url_to_register_without_showing_it(
    pipecat_url: str, slack_url: str, tmp_path: Path
) -> None:
    secret = "whsec_c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3Qtc2hvdw=="
    code, lines, output = await check(tmp_path, **good(pipecat_url, slack_url, tmp_path), PIPECAT_WEBHOOK_SECRET=secret)
    assert code == 0, output
    said = line(lines, "webhooks")
    assert "PIPECAT_WEBHOOK_SECRET is set" in said and "https://<this app's public host>/webhooks/pipecat" in said
    assert secret not in output and secret.removeprefix("whsec_") not in output
    code, lines, output = await check(
        tmp_path, **good(pipecat_url, slack_url, tmp_path), PIPECAT_WEBHOOK_SECRET="not-a-secret"
    )
    assert code == 2 and "PIPECAT_WEBHOOK_SECRET" in output and "whsec_" in output
