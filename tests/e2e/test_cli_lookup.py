"""`python -m bot lookup <agent> <id>`: the session in a terminal, with only the Pipecat settings."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sandbox.pipecat.simulator import PipecatSimulator
from tests.fixtures_pipecat import load_pipecat_fixture

ERROR_ID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


async def lookup(pipecat_url: str, tmp_path: Path, *args: str, key: str = "sim-key") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PIPECAT_"))}
    env |= {"PIPECAT_API_KEY": key, "PIPECAT_API_URL": pipecat_url}  # no Slack token at all
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "lookup",
        *args,
        env=env,
        cwd=str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_found_prints_the_facts_and_exits_0(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-error.json"))
    code, out, err = await lookup(pipecat_url, tmp_path, "voice-bot", ERROR_ID)
    assert code == 0, err
    for fact in ("HTTP_ERROR", "agent_error", "592", "Cold start"):
        assert fact in out


async def test_json_prints_the_session(pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path) -> None:
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-error.json"))
    code, out, _ = await lookup(pipecat_url, tmp_path, "voice-bot", ERROR_ID, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["sessionId"] == ERROR_ID and data["completionStatus"] == "HTTP_ERROR"


async def test_text_and_json_mask_secrets_and_drop_bidi_controls(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    """What the API says reaches the terminal through the masker Slack text goes through, in the
    text form and in each string of --json (bot/terminal.py)."""
    raw = {**load_pipecat_fixture("session-detail-error.json"), "endState": "agent_error DB_PASSWORD=Hunter2Pass\u202e"}
    pipecat_sim.add_raw_session("voice-bot", raw)
    for extra in ((), ("--json",)):
        code, out, err = await lookup(pipecat_url, tmp_path, "voice-bot", ERROR_ID, *extra)
        assert code == 0, err
        assert "Hunter2Pass" not in out and "\u202e" not in out and "DB_PASSWORD=[masked]" in out
    assert json.loads(out)["endState"] == "agent_error DB_PASSWORD=[masked]"


async def test_not_found_and_api_errors_exit_1_with_one_line(pipecat_url: str, tmp_path: Path) -> None:
    code, out, err = await lookup(pipecat_url, tmp_path, "voice-bot", ERROR_ID)
    assert (code, out) == (1, "") and len(err.strip().splitlines()) == 1 and "not" in err.lower()
    code, _, err = await lookup(pipecat_url, tmp_path, "voice-bot", ERROR_ID, key="wrong")
    assert code == 1 and "PIPECAT_API_KEY" in err and "Traceback" not in err


async def test_bad_usage_exits_2_before_any_request(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    assert (await lookup(pipecat_url, tmp_path, "../..", ERROR_ID))[0] == 2
    assert (await lookup(pipecat_url, tmp_path, "voice-bot", "not-a-uuid"))[0] == 2
    assert (await lookup(pipecat_url, tmp_path, "voice-bot"))[0] == 2
    assert pipecat_sim.requests == []
