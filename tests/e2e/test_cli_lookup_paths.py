"""`python -m bot lookup` on each of its paths: the plain one (settings from the environment, a
plain answer), and the model's (a .env file, an answer only the model can read, a bad answer),
with the client's retries in between."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sandbox.pipecat.simulator import PipecatSimulator
from tests.fixtures_pipecat import load_pipecat_fixture

ODD_ID = "7d2c4b6a-8e0f-4a1b-9c3d-5e7f9a1b3c5d"


def sim_env(url: str) -> dict[str, str]:
    return {"PIPECAT_API_KEY": "sim-key", "PIPECAT_API_URL": url}


async def run(tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SLACK_", "PIPECAT_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "lookup",
        *args,
        env=base | env,
        cwd=str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_settings_from_a_dotenv_file(pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path) -> None:
    sid = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    (tmp_path / ".env").write_text(f"PIPECAT_API_KEY=sim-key\nPIPECAT_API_URL={pipecat_url}\n")
    code, out, err = await run(tmp_path, "voice-bot", sid, env={})
    assert code == 0, err
    assert sid in out and "HTTP_ERROR" in out


async def test_a_bad_setting_is_named_and_exits_2(tmp_path: Path) -> None:
    code, out, err = await run(
        tmp_path, "voice-bot", ODD_ID, env={"PIPECAT_API_KEY": "k", "PIPECAT_API_URL": "ftp://x"}
    )
    assert (code, out) == (2, "") and "PIPECAT_API_URL" in err and "Traceback" not in err


async def test_an_answer_only_the_model_reads_prints_its_readings(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-odd.json"))
    code, out, err = await run(tmp_path, "voice-bot", ODD_ID, env=sim_env(pipecat_url))
    assert code == 0, err
    assert "Status:       500" in out and "Peak memory:  1.0 GiB" in out  # "500" and "1073741824" as strings


async def test_an_answer_of_the_wrong_shape_exits_1_with_one_line(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    payload = {**load_pipecat_fixture("session-detail-error.json"), "createdAt": "yesterday"}
    pipecat_sim.add_raw_session("voice-bot", payload)
    code, out, err = await run(tmp_path, "voice-bot", payload["sessionId"], env=sim_env(pipecat_url))
    assert (code, out) == (1, "") and len(err.strip().splitlines()) == 1 and "unexpected format" in err


async def test_a_server_error_is_retried(pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path) -> None:
    sid = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    pipecat_sim.fail_next(1, status=503)
    code, out, err = await run(tmp_path, "voice-bot", sid, env=sim_env(pipecat_url))
    assert code == 0, err
    session_reads = [r for r in pipecat_sim.requests if r.path.endswith(f"/sessions/{sid}")]
    assert sid in out and len(session_reads) == 2  # the 503, then the retry (the log read is the cause's)


async def test_an_answer_without_its_id_and_start_prints_what_it_has(
    pipecat_sim: PipecatSimulator, pipecat_url: str, tmp_path: Path
) -> None:
    payload = load_pipecat_fixture("session-detail-error.json")
    del payload["sessionId"], payload["createdAt"]  # both optional in the spec
    pipecat_sim.add_raw_session("voice-bot", payload)
    (sid,) = pipecat_sim.agent("voice-bot").sessions
    code, out, err = await run(tmp_path, "voice-bot", sid.upper(), env=sim_env(pipecat_url))
    assert code == 0, err
    assert sid in out and "Created:      not reported" in out and "HTTP_ERROR" in out
