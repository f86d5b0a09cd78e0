"""Shared harness: the Pipecat simulator and the Slack stand-in served on loopback by the bench
process (in its own event loop), and the app as users run it, `python -m bot` in HTTP mode, as a
subprocess pointed at both.

Each benchmark module exposes `async def measure(args) -> Result` and a `main()`; the result is
printed and written to bench/results/<name>.json. Numbers are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.server import serve
from sandbox.signing import sign_request, slash_command_body
from sandbox.slack.standin import SlackStandIn

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
PIPECAT_KEY = "bench-pipecat-key"
CHANNEL = "C0BENCH01"
USER = "U0BENCH01"
#: How long the app gets to answer /healthz after it was started.
START_TIMEOUT_SECONDS = 30.0
#: Settings the app reads; the bench sets them all and strips inherited ones.
APP_ENV_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "PIPECAT_API_KEY",
    "PIPECAT_API_URL",
    "DATABASE_URL",
    "PORT",
    "POLL_INTERVAL_SECONDS",
    "ALERT_STATUSES",
    "PIPECAT_DEFAULT_AGENT",
    "INCIDENT_WINDOW_MINUTES",
    "LOG_LEVEL",
    "AGENT_STATUS_INTERVAL_SECONDS",
    "CAPACITY_WARN_PERCENT",
)


class RealTimeClock(SimClock):
    """The simulator's clock following the system clock, like the app subprocess's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


# -- results ----------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the summary table."""

    benchmark: str
    metric: str
    target: str
    measured: str
    met: bool | None  # None: informational, no target


@dataclass
class Result:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, benchmark: str, metric: str, target: str, measured: str, met: bool | None) -> None:
        self.rows.append(Row(benchmark, metric, target, measured, met))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "params": self.params,
            "metrics": self.metrics,
            "rows": [asdict(r) for r in self.rows],
            "notes": self.notes,
        }


def pipeline_settings(**changes: Any) -> Any:
    """The alert pipeline's settings as the app derives them from its defaults (bot/config.py
    through bot/wiring.py `AlertSettings.from_settings`), with `changes` for an in-process
    benchmark (no status reads, say). Imported here, not at the top: the subprocess benchmarks
    never load the pipeline."""
    from bot.config import Settings
    from bot.wiring import AlertSettings

    return dataclasses.replace(AlertSettings.from_settings(Settings.model_construct()), **changes)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def write_result(result: Result) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result.name}.json"
    path.write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n")
    return path


def print_result(result: Result) -> None:
    print(f"== {result.name}")
    for key, value in result.metrics.items():
        if not isinstance(value, list | dict):
            print(f"  {key}: {value}")
    for r in result.rows:
        met = "n/a" if r.met is None else ("yes" if r.met else "NO")
        print(f"  [{met:>3}] {r.benchmark} · {r.metric}: {r.measured} (target {r.target})")
    for note in result.notes:
        print(f"  note: {note}")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--keep-logs", action="store_true", help="print the app's log directory")
    return parser


def run_main(name: str, measure: Callable[[argparse.Namespace], Any], description: str) -> None:
    args = base_parser(description).parse_args()
    result: Result = asyncio.run(measure(args))
    assert result.name == name
    print_result(result)
    print(f"  wrote {write_result(result).relative_to(REPO)}")


# -- the app as a subprocess --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class AppProcess:
    process: asyncio.subprocess.Process
    url: str
    ps: psutil.Process
    log_path: Path
    started_in: float  # seconds from spawn to the first healthy /healthz

    def rss_mb(self) -> float:
        return float(self.ps.memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def log_problems(self) -> list[str]:
        """ERROR / Traceback lines the app logged (a benchmark that provoked errors says so)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line for line in text.splitlines() if " ERROR " in line or line.startswith("Traceback")]


def app_env(
    *, pipecat_url: str, slack_url: str, db_path: Path, port: int, poll_interval: float, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV_VARS}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{slack_url}/api/",
        PIPECAT_API_KEY=PIPECAT_KEY,
        PIPECAT_API_URL=f"{pipecat_url}/v1",
        DATABASE_URL=f"sqlite:///{db_path}",
        PORT=str(port),
        POLL_INTERVAL_SECONDS=str(poll_interval),
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def start_app(env: dict[str, str], workdir: Path) -> AppProcess:
    """`python -m bot` with `env`, run in `workdir` (so no stray .env is read); waits for /healthz."""
    log_path = workdir / "app.log"
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{env['PORT']}"
    async with httpx.AsyncClient(timeout=1.0) as http:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the app exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    break
            if time.perf_counter() - started > START_TIMEOUT_SECONDS:
                process.kill()
                raise RuntimeError(f"the app did not answer /healthz:\n{log_path.read_text()[-3000:]}")
            await asyncio.sleep(0.02)
    return AppProcess(process, url, psutil.Process(process.pid), log_path, time.perf_counter() - started)


def start_profiler(app: AppProcess) -> subprocess.Popen[bytes] | None:
    """With BENCH_PYSPY=<file>: py-spy samples the app for the rig's life (collapsed stacks per
    thread, 200 Hz; `--format raw`). Off by default: sampling costs the app CPU."""
    target = os.environ.get("BENCH_PYSPY")
    if not target:
        return None
    py_spy = Path(sys.executable).with_name("py-spy")
    command = [
        str(py_spy),
        "record",
        "--pid",
        str(app.ps.pid),
        "--format",
        "raw",
        "--rate",
        "200",
        "--output",
        target,
        "--nonblocking",
        "--threads",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=30)


async def stop_app(app: AppProcess) -> int:
    if app.process.returncode is None:
        app.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(app.process.wait(), timeout=10)
        except TimeoutError:
            app.process.kill()
    return await app.process.wait()


async def raw_post(base_url: str, path: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST over a fresh connection with a minimal HTTP/1.1 client: `(status, raw answer)`.

    Timing many concurrent requests through httpx measures httpx (about 1 ms of client CPU per
    request, ~50 ms for a burst of 50 on this machine); this client costs a fraction of that, so
    an ack time is mostly the app's.
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raw = body.encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(raw)}\r\nConnection: close\r\n{head}\r\n"
    ).encode() + raw
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    status_line = answer.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) > 1 else 0), answer


# -- the whole rig ------------------------------------------------------------------------------------


class Rig:
    """Simulator + stand-in served in this process's loop, the app as a subprocess, a Slack driver."""

    def __init__(self, sim: PipecatSimulator, standin: SlackStandIn, app: AppProcess, workdir: Path) -> None:
        self.sim = sim
        self.standin = standin
        self.app = app
        self.workdir = workdir
        self.http = httpx.AsyncClient(
            base_url=app.url, timeout=30, limits=httpx.Limits(max_connections=200, max_keepalive_connections=0)
        )

    def command_body(self, text: str, *, channel_id: str = CHANNEL) -> tuple[str, str]:
        """(body, response-url key) of a `/session <text>` command in `channel_id`."""
        url = self.standin.response_url(channel_id=channel_id, user_id=USER)
        body = slash_command_body(text, channel_id=channel_id, user_id=USER, response_url=url)
        return body, url.rsplit("/", 1)[1]

    async def post_signed(self, body: str) -> httpx.Response:
        return await self.http.post("/slack/events", content=body, headers=self.signed_headers(body))

    @staticmethod
    def signed_headers(body: str) -> dict[str, str]:
        return {**sign_request(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}

    async def command(self, text: str, *, channel_id: str = CHANNEL) -> tuple[str, httpx.Response]:
        body, key = self.command_body(text, channel_id=channel_id)
        return key, await self.post_signed(body)

    async def responses(self, key: str, count: int = 1, *, within: float = 30.0) -> None:
        await self.standin.wait_until(lambda: len(self.standin.posts_to_response(key)) >= count, within=within)

    async def watch_all(self, agents: Sequence[str], *, channel_id: str = CHANNEL, concurrency: int = 10) -> int:
        """`/session watch <agent>` for each (a few at a time), waiting for every answer; returns
        how many were not acknowledged with HTTP 200 or answered with an error."""
        limit = asyncio.Semaphore(concurrency)
        failures = 0

        async def one(agent: str) -> None:
            nonlocal failures
            async with limit:
                key, response = await self.command(f"watch {agent}", channel_id=channel_id)
                await self.responses(key, within=60)
                answer = json.dumps(self.standin.posts_to_response(key)[0].body)
                failures += response.status_code != 200 or "Watching" not in answer

        await asyncio.gather(*(one(agent) for agent in agents))
        return failures


@contextlib.asynccontextmanager
async def rig(
    *,
    poll_interval: float = 3600,
    sim: PipecatSimulator | None = None,
    standin: SlackStandIn | None = None,
    channels: Sequence[str] = (CHANNEL,),
    env_extra: dict[str, str] | None = None,
) -> AsyncIterator[Rig]:
    """Everything up; the app's log is kept in a temp dir (its ERROR lines are reported)."""
    sim = sim or PipecatSimulator(api_key=PIPECAT_KEY, clock=RealTimeClock())
    standin = standin or SlackStandIn(bot_token=BOT_TOKEN)
    for channel in channels:
        if channel not in standin.channels:
            standin.add_channel(channel, channel.lower())
    workdir = Path(tempfile.mkdtemp(prefix="pipecat-ops-bench-"))
    async with serve(sim.app) as sim_url, serve(standin.app) as slack_url:
        standin.base_url = slack_url
        env = app_env(
            pipecat_url=sim_url,
            slack_url=slack_url,
            db_path=workdir / "app.db",
            port=free_port(),
            poll_interval=poll_interval,
            **(env_extra or {}),
        )
        app = await start_app(env, workdir)
        the_rig = Rig(sim, standin, app, workdir)
        profiler = start_profiler(app)
        try:
            yield the_rig
        finally:
            stop_profiler(profiler)
            await the_rig.http.aclose()
            standin.release_hangs()
            sim.release_hangs()
            await stop_app(app)


def add_app_facts(result: Result, app: AppProcess) -> None:
    problems = app.log_problems()
    result.metrics["app_start_seconds"] = round(app.started_in, 3)
    result.metrics["app_log_errors"] = len(problems)
    if problems:
        result.notes.append(f"the app logged {len(problems)} ERROR/Traceback line(s), first: {problems[0][:200]}")
