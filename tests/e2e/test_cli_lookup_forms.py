"""`python -m bot lookup` takes every form `/session` does, says which of agent or session is
missing, names the URL it could not reach, and shows a failed session's cause (bot/__main__.py
run_lookup, bot/cli_lookup.py, bot/terminal.py) — on the plain path and the settings path."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from sandbox.pipecat.simulator import PipecatSimulator
from tests.fixtures_pipecat import load_pipecat_fixture

ERROR_ID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
TTS = "ERROR    | pipecat.services.cartesia.tts:_receive_messages:{line} - CartesiaTTSService#{n} error: quota exceeded"


async def run(tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SLACK_", "PIPECAT_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "lookup", *args, env=base | env, cwd=str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def sim_env(url: str, **extra: str) -> dict[str, str]:
    return {"PIPECAT_API_KEY": "sim-key", "PIPECAT_API_URL": url, **extra}


@pytest.fixture(params=["plain", "dotenv"])
def settings(request: pytest.FixtureRequest, pipecat_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of each path: plain (settings in the environment) or the settings class's
    (a .env file, read with the app's client)."""
    if request.param == "plain":
        return sim_env(pipecat_url)
    (tmp_path / ".env").write_text(f"PIPECAT_API_KEY=sim-key\nPIPECAT_API_URL={pipecat_url}\n")
    return {}


@pytest.fixture
def seeded(pipecat_sim: PipecatSimulator) -> PipecatSimulator:
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-error.json"))
    return pipecat_sim


@pytest.mark.parametrize(
    "args",
    [
        ("voice-bot", ERROR_ID),
        (f"voice-bot/{ERROR_ID}",),
        (f"https://pipecat.daily.co/acme/agents/voice-bot/sessions/{ERROR_ID}",),
        ("voice-bot", "0b6f2c1e…"),
        ("voice-bot/0B6F2C1E",),
    ],
)
async def test_every_form_slack_takes(
    seeded: PipecatSimulator, settings: dict[str, str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    code, out, err = await run(tmp_path, *args, env=settings)
    assert code == 0, err
    assert ERROR_ID in out and "HTTP_ERROR" in out


async def test_an_id_alone_takes_the_default_agent(seeded: PipecatSimulator, pipecat_url: str, tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, "0b6f2c1e…", env=sim_env(pipecat_url, PIPECAT_DEFAULT_AGENT="voice-bot"))
    assert code == 0, err
    assert ERROR_ID in out
    before = len(seeded.requests)
    code, out, err = await run(tmp_path, ERROR_ID, env=sim_env(pipecat_url))
    assert (code, out) == (2, "") and "PIPECAT_DEFAULT_AGENT" in err
    assert seeded.requests[before:] == []  # refused before any request


async def test_which_is_missing_the_agent_or_the_session(
    seeded: PipecatSimulator, settings: dict[str, str], tmp_path: Path
) -> None:
    code, out, err = await run(tmp_path, "voice-bott", ERROR_ID, env=settings)
    assert (code, out) == (1, "") and err.strip() == "error: no agent named voice-bott (nearest: voice-bot)"
    missing = "11111111-2222-4333-8444-555555555555"
    code, out, err = await run(tmp_path, "voice-bot", missing, env=settings)
    assert (code, out) == (1, "")
    assert err.strip() == f"error: session {missing} not found: agent voice-bot exists but has no such session"


async def test_an_ambiguous_short_id_names_the_candidates(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    twins = ["3e896c64-0000-4000-8000-000000000001", "3e896c64-0000-4000-8000-000000000002"]
    for sid in twins:
        pipecat_sim.add_session("voice-bot", "HTTP_ERROR", session_id=sid)
    code, out, err = await run(tmp_path, "voice-bot", "3e896c64…", env=sim_env(pipecat_url))
    assert (code, out) == (1, "") and "matches 2 sessions" in err and all(sid in err for sid in twins)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("dotenv", [False, True])
async def test_the_url_it_could_not_reach_is_named(tmp_path: Path, dotenv: bool) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    env = sim_env(url)
    if dotenv:
        (tmp_path / ".env").write_text(f"PIPECAT_API_KEY=sim-key\nPIPECAT_API_URL={url}\n")
        env = {}
    code, out, err = await run(tmp_path, "voice-bot", ERROR_ID, env=env)
    last = err.strip().splitlines()[-1]
    assert (code, out) == (1, "") and last.startswith(f"error: cannot reach {url}: ") and "Traceback" not in err


async def test_a_failed_session_shows_its_cause_masked(
    pipecat_sim: PipecatSimulator, settings: dict[str, str], tmp_path: Path
) -> None:
    pipecat_sim.set_failure_log("voice-bot", [TTS, "KeyError: DB_PASSWORD=Hunter2Pass"])
    failed = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    fine = pipecat_sim.add_session("voice-bot", "HTTP_COMPLETED")
    code, out, err = await run(tmp_path, "voice-bot", failed, env=settings)
    assert code == 0, err
    assert "Cause (from this session's log, times UTC):" in out and "CartesiaTTSService" in out
    assert "quota exceeded" in out and "Hunter2Pass" not in out
    before = len(pipecat_sim.requests)
    code, out, err = await run(tmp_path, "voice-bot", fine, env=settings)
    assert code == 0 and "Cause" not in out
    assert not any(r.path.endswith("/logs") for r in pipecat_sim.requests[before:])  # no log read for a fine one


async def test_a_failed_session_whose_log_cannot_be_read_says_so(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    failed = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    pipecat_sim.fail_next(10, status=404, path_contains="/logs")
    code, out, err = await run(tmp_path, "voice-bot", failed, env=sim_env(pipecat_url))
    assert code == 0, err
    assert "Cause:        this session's log could not be read" in out


async def test_the_plain_path_with_a_cause_loads_nothing_heavy(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    """Issue 15's fast path stays fast with the cause read: no pydantic, httpx or asyncio."""
    pipecat_sim.set_failure_log("voice-bot", [TTS])
    failed = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SLACK_", "PIPECAT_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "importtime", "-m", "bot", "lookup", "voice-bot", failed[:8] + "…",
        env=base | sim_env(pipecat_url), cwd=str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0 and "quota exceeded" in out.decode()
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in err.decode().splitlines() if "|" in line}
    assert loaded.isdisjoint({"pydantic", "httpx", "httpcore", "anyio", "asyncio", "slack_sdk", "sqlalchemy"})
