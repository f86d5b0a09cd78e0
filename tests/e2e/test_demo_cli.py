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
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
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
        assert [c["name"] for c in state["channels"]] == ["voice-oncall", "support"]
        assert {a["name"] for a in state["agents"]} == {"voice-bot", "support-bot", "sales-bot"}

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=STOP_TIMEOUT) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
