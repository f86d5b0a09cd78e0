"""`python -m bot demo --port 0` as a newcomer runs it: prints a URL that serves the page, stops on Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.paths import ROOT

URL = re.compile(r"(http://127\.0\.0\.1:\d+)/")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        into.put(line)
    into.put("")  # end of output


def test_demo_command_serves_the_page_and_exits_zero_on_sigint(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PIPECAT_API_KEY", "DATABASE_URL"):
        env.pop(name, None)  # the demo needs none of them and must not pick them up
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", "0"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True).start()
    seen: list[str] = []
    try:
        url = None
        while url is None:
            line = output.get(timeout=START_TIMEOUT)
            assert line, f"the demo exited before printing its URL: {''.join(seen)}"
            seen.append(line)
            if match := URL.search(line):
                url = match.group(1)
        page = httpx.get(f"{url}/", timeout=10)
        assert page.status_code == 200
        assert "<title>pipecat-ops demo</title>" in page.text
        state = httpx.get(f"{url}/api/state", timeout=10).json()
        assert [c["name"] for c in state["channels"]] == ["voice-oncall", "support", "call-center"]
        assert {a["name"] for a in state["agents"]} == {"voice-bot", "support-bot", "sales-bot", "call-center"}

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=STOP_TIMEOUT) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_demo_prints_how_to_try_lookup_and_check_against_it(tmp_path: Path) -> None:
    """The demo names the simulator's URL and key (and the stand-in's): `python -m bot lookup` and
    `check` run with exactly the printed variables work against it (sandbox/demo/run.py)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SLACK_", "PIPECAT_", "DATABASE_"))}
    env |= {"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True).start()
    seen: list[str] = []
    try:
        while not any(line.strip() == "python -m bot check" for line in seen):
            line = output.get(timeout=START_TIMEOUT)
            assert line, f"the demo exited before printing its instructions: {''.join(seen)}"
            seen.append(line)
        exported: dict[str, str] = {}
        for line in seen:
            if line.strip().startswith("export "):
                exported |= dict(word.split("=", 1) for word in line.split()[1:])
        assert {"PIPECAT_API_URL", "PIPECAT_API_KEY", "SLACK_BOT_TOKEN", "DATABASE_URL"} <= set(exported)
        [lookup] = [line.split() for line in seen if line.strip().startswith("python -m bot lookup")]
        run_env = {**env, **exported}
        found = subprocess.run(
            [sys.executable, *lookup[1:6]], cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=60
        )
        assert found.returncode == 0, found.stderr
        assert lookup[5] in found.stdout and "voice-bot" in found.stdout
        check = subprocess.run(
            [sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=run_env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        said = check.stdout + check.stderr
        assert "ok    pipecat: GET /agents answered: 4 agent(s)" in said, said
        assert "ok    slack:" in said and "ok    database:" in said, said
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=STOP_TIMEOUT) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
