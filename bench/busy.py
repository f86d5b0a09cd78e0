"""Benchmark 10: one busy agent.

One watched agent takes SESSIONS_PER_SECOND calls a second, each lasting SESSION_SECONDS (about
1 000 running at once), FAIL_SHARE of them failing; the app polls every INTERVAL seconds. The
real alert pipeline (bot/wiring.py `build_alerts`, causes on) runs in this process on the
simulator's clock; the Pipecat simulator, its traffic model (sandbox/pipecat/traffic.py
`Traffic.tick`) and the Slack stand-in run in a child process, so this process's CPU time and
RSS are the app's alone (its database driver threads included; PostgreSQL's server is not). Each
cycle: both clocks move INTERVAL, the interval's calls start and the due ones end, then one poll
cycle (poll, rate counting and detectors) and one delivery pass run.

Phases, each on a fresh database:
  sqlite, postgresql  an hour of traffic (HOUR_CYCLES cycles on the simulator's clock); Pipecat
                      answers at once, except LATENCY_CYCLES cycles after the warm-up in which it
                      answers after PIPECAT_LATENCY (the wall time a real API's round trips give);
  rates on / off      two pipelines on SQLite, AlertSettings.count_rates on and off, fed the same
                      traffic for RATES_CYCLES cycles and run in turns, cycle by cycle (so the
                      machine's speed, which drifts over minutes, falls on both alike): the CPU
                      rate counting and the detectors add to the poll cycle, and Pipecat calls (none);
  storm               SQLite, STORM_CYCLES cycles at STORM_FAIL_SHARE failing after a warm-up:
                      the per-failure calls (detail fetches, log reads) of one cycle against
                      their caps.
Per cycle: wall time of the poll cycle, CPU of the poll cycle and of the delivery pass, the
Pipecat requests by kind, RSS after it. The first WARMUP_CYCLES (the running set filling up, the
first prune) are left out of the judgements. PostgreSQL comes from PIPECAT_OPS_TEST_PG_URL as in
bench/scale.py; without it that phase is reported as not run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import psutil
from slack_sdk.web.async_client import AsyncWebClient

from bench.common import Result, pipeline_settings, run_main
from bench.scale import PG_URL_ENV, fresh_postgres_database
from bot.alerts.policy import DETAIL_FETCHES_PER_AGENT_PER_CYCLE
from bot.explain.explainer import LOG_READS_PER_AGENT_PER_CYCLE
from bot.ops.events import NO_EVENTS
from bot.pipecat.client import PAGE_SIZE, SESSION_LOG_MAX_LINES, SESSION_LOG_PAGE_SIZE, PipecatClient, build_http_client
from bot.store import Store
from bot.wiring import Alerts, AlertSettings, build_alerts
from sandbox.pipecat.simulator import PipecatSimulator, RecordedRequest, SimClock
from sandbox.pipecat.traffic import Traffic
from sandbox.server import serve
from sandbox.slack.standin import SlackStandIn

NAME = "busy"
PREFIX = "10 busy"
AGENT = "busy-agent"
CHANNEL = "C0BUSY001"
TOKEN = "xoxb-busy-bench"
KEY = "busy-bench-key"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SESSIONS_PER_SECOND = 20
SESSION_SECONDS = 50.0
FAIL_SHARE = 0.02
STORM_FAIL_SHARE = 0.30
INTERVAL = 15.0
PIPECAT_LATENCY = 0.050
#: An hour on the simulator's clock.
HOUR_CYCLES = 240
#: Calls last 50 s: the running set is full after 4 cycles; the first cycle also prunes.
WARMUP_CYCLES = 5
LATENCY_CYCLES = 12
RATES_CYCLES = 40
STORM_WARMUP_CYCLES = 6
#: Calls end SESSION_SECONDS after they start: the failures of the storm's first calls show 4 cycles in.
STORM_CYCLES = 8
#: The simulator forgets calls that ended this long ago (far beyond the poll's list window), so an
#: hour of traffic keeps its answers fast; the app never reads that far back here.
FORGET_AFTER = timedelta(minutes=5)
TARGET_WALL = 2.0
TARGET_CORE_SHARE = 0.10
TARGET_RSS_DRIFT = 0.05
TARGET_RATES_SHARE = 0.10
#: A log read is this many pages at most (bot/pipecat/client.py `session_log`).
LOG_PAGES_PER_READ = math.ceil(SESSION_LOG_MAX_LINES / SESSION_LOG_PAGE_SIZE)


# -- the simulator's process ---------------------------------------------------------------------------


def request_kind(q: RecordedRequest) -> str:
    """list-window, list-active, detail, log or other (agent status reads)."""
    parts = q.path.strip("/").split("/")
    if parts[-1] == "logs":
        return "log"
    if len(parts) == 4 and parts[3] == "sessions":
        return "list-active" if q.query.get("status") == "active" else "list-window"
    if len(parts) == 5 and parts[3] == "sessions":
        return "detail"
    return "other"


def simulator_process(conn: Connection, per_second: float, fail_share: float) -> None:
    """The child: simulator, traffic and Slack stand-in on loopback, driven by `conn`."""
    asyncio.run(_simulate(conn, per_second, fail_share))


async def _simulate(conn: Connection, per_second: float, fail_share: float) -> None:
    clock = SimClock(START)
    sim = PipecatSimulator(api_key=KEY, clock=clock)
    sim.add_agent(AGENT)
    standin = SlackStandIn(bot_token=TOKEN, clock=clock.now)
    standin.add_channel(CHANNEL, "busy")
    traffic = Traffic(sim, AGENT, per_minute=per_second * 60, fail_share=fail_share, session_seconds=SESSION_SECONDS)
    loop = asyncio.get_running_loop()
    async with serve(sim.app) as sim_url, serve(standin.app) as slack_url:
        standin.base_url = slack_url
        conn.send((sim_url, slack_url))
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            answer: Any = None
            if command == "advance":
                clock.advance(arg)
                sim.forget_sessions(AGENT, clock.now() - FORGET_AFTER)
                traffic.tick(arg)
                since = clock.now() - timedelta(seconds=arg)
                ended = [s for s in sim.agents[AGENT].sessions.values() if s.ended_at and s.ended_at > since]
                failed = sum(1 for s in ended if s.completion_status != "HTTP_COMPLETED")
                answer = {"running": traffic.running, "failed": failed, "ended": len(ended)}
            elif command == "fail_share":
                traffic.fail_share = arg
            elif command == "latency":
                sim.latency = arg
            elif command == "requests":
                answer = dict(Counter(request_kind(q) for q in sim.requests))
                sim.requests.clear()
            conn.send(answer)
            if command == "stop":
                return


class Simulator:
    """The child process, seen from here."""

    def __init__(self, per_second: float, fail_share: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, self._child = context.Pipe()
        self._process = context.Process(
            target=simulator_process, args=(self._child, per_second, fail_share), daemon=True
        )
        self.sim_url = self.slack_url = ""

    async def start(self) -> None:
        self._process.start()
        self._child.close()  # the child's end lives in the child: its exit is an EOF here
        self.sim_url, self.slack_url = await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)

    async def ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)

    async def stop(self) -> None:
        if self._process.pid is None:
            return  # never started: a failure before it, which the caller raises
        if self._process.is_alive():
            await self.ask("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


# -- the app's pipeline, cycle by cycle -------------------------------------------------------------------


@dataclass
class Cycle:
    index: int
    running: int  # calls running when the poll started
    failed: int  # calls that failed in the interval
    ended: int  # calls that ended in the interval
    wall: float
    poll_cpu: float
    deliver_cpu: float
    rss_mb: float
    latency: float
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def cpu(self) -> float:
        return self.poll_cpu + self.deliver_cpu

    @property
    def list_pages(self) -> int:
        return self.calls["list-window"] + self.calls["list-active"]

    @property
    def list_bound(self) -> int:
        return 2 + math.ceil(self.running / PAGE_SIZE)

    @property
    def list_floor(self) -> int:
        """The fewest list pages that can carry what a cycle must learn: every running session
        (which still run) and every session that ended since the last poll (how it ended)."""
        return math.ceil((self.running + self.ended) / PAGE_SIZE)

    @property
    def per_failure(self) -> int:
        return self.calls["detail"] + self.calls["log"]

    def to_json(self) -> dict[str, Any]:
        return {
            "i": self.index,
            "running": self.running,
            "failed": self.failed,
            "ended": self.ended,
            "wall_s": round(self.wall, 3),
            "poll_cpu_s": round(self.poll_cpu, 3),
            "deliver_cpu_s": round(self.deliver_cpu, 3),
            "rss_mb": round(self.rss_mb, 1),
            "latency_s": self.latency,
            "calls": dict(self.calls),
        }


def settings(*, count_rates: bool) -> AlertSettings:
    settings: AlertSettings = pipeline_settings(
        poll_interval=INTERVAL,
        post_spacing=timedelta(0),  # real waits between posts would stall the simulated clock
        status_interval=0.0,
        count_rates=count_rates,
    )
    return settings


class PipelineRig:
    """One alert pipeline (its own simulator process, clock and database) on the busy agent's
    traffic, run cycle by cycle inside `async with`, which closes whatever it started. Two rigs
    get the same traffic: the simulator and its traffic are seeded."""

    def __init__(self, database_url: str, *, count_rates: bool) -> None:
        self._count_rates = count_rates
        self._sim = Simulator(SESSIONS_PER_SECOND, FAIL_SHARE)
        self._clock = SimClock(START)
        self._store = Store.from_url(database_url)
        self._http: httpx.AsyncClient | None = None
        self._alerts: Alerts | None = None
        self._me = psutil.Process()

    async def __aenter__(self) -> PipelineRig:
        try:
            await self._start()
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _start(self) -> None:
        await self._sim.start()
        await self._store.migrate()
        self._http = build_http_client(f"{self._sim.sim_url}/v1", KEY, timeout=httpx.Timeout(30.0))
        slack = AsyncWebClient(token=TOKEN, base_url=f"{self._sim.slack_url}/api/")
        pipecat = PipecatClient(self._http, rng=random.Random(0), clock=self._clock)
        self._alerts = build_alerts(
            settings(count_rates=self._count_rates),
            store=self._store,
            pipecat=pipecat,
            slack=slack,
            clock=self._clock,
            pagerduty=None,
            events=NO_EVENTS,
        )
        await self._alerts.commands.watch(CHANNEL, AGENT, None, None, "U0BUSY001")
        await self._sim.ask("requests")  # the watch's seeding reads are not a cycle's

    async def _close(self) -> None:
        await self._store.dispose()
        if self._http is not None:
            await self._http.aclose()
        await self._sim.stop()

    async def advance(self, *, latency: float, fail_share: float | None = None) -> dict[str, int]:
        """The interval's traffic: both clocks move INTERVAL, calls start and end."""
        if fail_share is not None:
            await self._sim.ask("fail_share", fail_share)
        await self._sim.ask("latency", latency)
        self._clock.advance(INTERVAL)
        traffic: dict[str, int] = await self._sim.ask("advance", INTERVAL)
        return traffic

    async def cycle(self, index: int, traffic: dict[str, int], latency: float) -> Cycle:
        """One poll cycle and one delivery pass on the interval `advance` made."""
        assert self._alerts is not None, "inside `async with` only"
        cpu, started = time.process_time(), time.perf_counter()
        await self._alerts.jobs.poll_once()
        wall = time.perf_counter() - started
        poll_cpu = time.process_time() - cpu
        cpu = time.process_time()
        await self._alerts.jobs.deliver_once()
        deliver_cpu = time.process_time() - cpu
        calls = Counter(await self._sim.ask("requests"))
        return Cycle(
            index,
            traffic["running"],
            traffic["failed"],
            traffic["ended"],
            wall,
            poll_cpu,
            deliver_cpu,
            self._me.memory_info().rss / 2**20,
            latency,
            calls,
        )


async def run_phase(
    database_url: str,
    cycles: int,
    *,
    latency_cycles: range = range(0),
    storm_from: int | None = None,
) -> list[Cycle]:
    """`cycles` poll intervals of the busy agent on a fresh database: one Cycle each."""
    found: list[Cycle] = []
    async with PipelineRig(database_url, count_rates=True) as rig:
        for i in range(cycles):
            latency = PIPECAT_LATENCY if i in latency_cycles else 0.0
            traffic = await rig.advance(latency=latency, fail_share=STORM_FAIL_SHARE if i == storm_from else None)
            found.append(await rig.cycle(i, traffic, latency))
    return found


async def run_paired(workdir: Path, cycles: int, *, latency_cycles: range) -> tuple[list[Cycle], list[Cycle]]:
    """The same traffic through two pipelines in this process, rate counting on and off, cycle by
    cycle in turns (the first to run alternates): a change in the machine's speed over the run
    falls on both alike. (With rates, without) cycles."""
    with_rates: list[Cycle] = []
    without: list[Cycle] = []
    async with (
        PipelineRig(f"sqlite:///{workdir / 'rates-on.db'}", count_rates=True) as on,
        PipelineRig(f"sqlite:///{workdir / 'rates-off.db'}", count_rates=False) as off,
    ):
        for i in range(cycles):
            latency = PIPECAT_LATENCY if i in latency_cycles else 0.0
            traffic_on = await on.advance(latency=latency)
            traffic_off = await off.advance(latency=latency)
            turns = [(on, traffic_on, with_rates), (off, traffic_off, without)]
            for rig, traffic, into in turns if i % 2 == 0 else reversed(turns):
                into.append(await rig.cycle(i, traffic, latency))
    return with_rates, without


# -- judging -----------------------------------------------------------------------------------------------


def steady(cycles: Sequence[Cycle]) -> list[Cycle]:
    return [c for c in cycles if c.index >= WARMUP_CYCLES]


def report_hour(result: Result, label: str, cycles: list[Cycle], *, quick: bool) -> None:
    judged = steady(cycles)
    what = f"{SESSIONS_PER_SECOND}/s, {SESSION_SECONDS:.0f} s calls, {FAIL_SHARE:.0%} failing, {label}"
    result.metrics[f"{label}_cycles"] = [c.to_json() for c in cycles]
    slow = [c for c in judged if c.latency]
    fast = [c for c in judged if not c.latency]
    for group, how in (
        (slow, f"Pipecat answering in {PIPECAT_LATENCY * 1000:.0f} ms"),
        (fast, "Pipecat answering at once"),
    ):
        if not group:
            continue
        walls = [c.wall for c in group]
        result.row(
            PREFIX,
            f"poll cycle wall time, {how} ({what})",
            f"≤ {TARGET_WALL:.0f} s",
            f"{max(walls):.2f} s max, {statistics.median(walls):.2f} s median ({len(group)} cycles)",
            max(walls) <= TARGET_WALL,
        )
    cpu = [c.cpu for c in judged]
    worst = max(judged, key=lambda c: c.cpu)
    result.row(
        PREFIX,
        f"CPU per cycle / interval: poll + rates + delivery ({what})",
        f"< {TARGET_CORE_SHARE:.0%} (≤ {TARGET_CORE_SHARE * INTERVAL:.1f} s per {INTERVAL:.0f} s)",
        f"{worst.cpu / INTERVAL:.1%} max ({worst.poll_cpu:.2f} + {worst.deliver_cpu:.2f} s), "
        f"{statistics.mean(cpu) / INTERVAL:.1%} mean",
        worst.cpu / INTERVAL < TARGET_CORE_SHARE,
    )
    over = max(judged, key=lambda c: c.list_pages - c.list_bound)
    running = statistics.mean(c.running for c in judged)
    kinds = {k: round(statistics.mean(c.calls[k] for c in judged), 1) for k in ("list-window", "list-active")}
    result.row(
        PREFIX,
        f"Pipecat list pages per cycle ({what})",
        f"≤ 2 + ⌈running / {PAGE_SIZE}⌉ (= {over.list_bound} at {over.running} running)",
        f"{over.list_pages} max (mean {kinds['list-window']} status=ended + {kinds['list-active']} status=active; "
        f"{running:.0f} running)",
        all(c.list_pages <= c.list_bound for c in judged),
    )
    ended = statistics.mean(c.ended for c in judged)
    result.row(
        PREFIX,
        f"…the fewest pages a cycle can read: ⌈(running + ended since the last poll) / {PAGE_SIZE}⌉ ({what})",
        "-",
        f"{max(c.list_floor for c in judged)} ({running:.0f} running + {ended:.0f} ended a cycle); "
        f"read {max(c.list_pages - c.list_floor for c in judged)} page(s) over it at most",
        None,
    )
    per_failure(result, judged, what)
    rss = [c.rss_mb for c in judged]
    quarter = len(rss) // 4
    if quarter:
        second, last = statistics.mean(rss[quarter : 2 * quarter]), statistics.mean(rss[3 * quarter :])
        drift = last / second - 1
        result.metrics[f"{label}_rss_quarters_mb"] = [
            round(statistics.mean(rss[q * quarter : (q + 1) * quarter]), 1) for q in range(4)
        ]
        result.row(
            PREFIX,
            f"RSS over {len(cycles)} cycles ({len(cycles) * INTERVAL / 60:.0f} simulated min, {label})",
            f"flat: last quarter's mean within {TARGET_RSS_DRIFT:.0%} of the second's" if not quick else "-",
            f"{second:.1f} → {last:.1f} MB ({drift:+.1%}); {rss[0]:.1f} at cycle {WARMUP_CYCLES}",
            abs(drift) <= TARGET_RSS_DRIFT if not quick else None,
        )


def per_failure(result: Result, judged: Sequence[Cycle], what: str) -> None:
    """Detail fetches and log reads of the cycles' failures, against what caps them."""
    failures = sum(c.failed for c in judged)
    details = sum(c.calls["detail"] for c in judged)
    logs = sum(c.calls["log"] for c in judged)
    worst = max(judged, key=lambda c: c.per_failure)
    result.row(
        PREFIX,
        f"per-failure Pipecat calls per cycle: detail fetches + log pages ({what})",
        "-",
        f"{worst.per_failure} max ({worst.calls['detail']} + {worst.calls['log']} at {worst.failed} failures); "
        f"{details / max(failures, 1):.2f} details and {logs / max(failures, 1):.2f} log pages per failure",
        None,
    )


def report_storm(result: Result, cycles: list[Cycle]) -> None:
    """The storm's cycles: calls that started failing end SESSION_SECONDS later, so the worst
    cycle (most failures) is judged."""
    result.metrics["storm_cycles"] = [c.to_json() for c in cycles]
    worst = max(cycles, key=lambda c: (c.failed, c.index))
    what = f"{STORM_FAIL_SHARE:.0%} failing, {SESSIONS_PER_SECOND}/s"
    base = max((c.calls["detail"] for c in steady(cycles) if c.index < STORM_WARMUP_CYCLES), default=0)
    result.row(
        PREFIX,
        f"detail fetches per cycle ({what})",
        f"≤ {DETAIL_FETCHES_PER_AGENT_PER_CYCLE} (bot/alerts/policy.py DETAIL_FETCHES_PER_AGENT_PER_CYCLE)",
        f"{worst.calls['detail']} at {worst.failed} failures ({base} max at {FAIL_SHARE:.0%})",
        worst.calls["detail"] <= DETAIL_FETCHES_PER_AGENT_PER_CYCLE,
    )
    cap = LOG_READS_PER_AGENT_PER_CYCLE * LOG_PAGES_PER_READ
    logs = max(c.calls["log"] for c in cycles)
    result.row(
        PREFIX,
        f"log pages per cycle ({what})",
        f"≤ {cap} ({LOG_READS_PER_AGENT_PER_CYCLE} reads per agent per cycle × ≤ {LOG_PAGES_PER_READ} pages; "
        "bot/explain/explainer.py)",
        f"{logs} max; {worst.calls['log']} at {worst.failed} failures",
        logs <= cap,
    )


def report_rates(result: Result, with_rates: Sequence[Cycle], without: Sequence[Cycle]) -> None:
    on, off = steady(with_rates), steady(without)
    n = len(on)
    result.metrics["rates_on_cycles"] = [c.to_json() for c in with_rates]
    result.metrics["no_rates_cycles"] = [c.to_json() for c in without]
    poll_on, poll_off = statistics.mean(c.poll_cpu for c in on), statistics.mean(c.poll_cpu for c in off)
    added = (poll_on - poll_off) / poll_on
    # Delivery differs beyond the rates' own work (without counts no agent is "busy": its failures
    # are not held for periodic roll-ups), so the judgement is on the poll cycle, where they run.
    all_on, all_off = statistics.mean(c.cpu for c in on), statistics.mean(c.cpu for c in off)
    result.row(
        PREFIX,
        f"CPU rate counting + detectors add to the poll cycle ({SESSIONS_PER_SECOND}/s, sqlite)",
        f"≤ {TARGET_RATES_SHARE:.0%}",
        f"{added:+.1%} ({poll_on * 1000:.0f} vs {poll_off * 1000:.0f} ms a poll cycle, mean of {n} cycles run in "
        "turns on the same traffic; "
        f"with delivery {all_on * 1000:.0f} vs {all_off * 1000:.0f} ms)",
        added <= TARGET_RATES_SHARE,
    )
    more = max(sum(a.calls.values()) - sum(b.calls.values()) for a, b in zip(on, off, strict=True))
    result.row(
        PREFIX,
        "Pipecat calls rate counting + detectors add per cycle",
        "0",
        f"{more} (most in any of {n} cycles, with minus without)",
        more <= 0,
    )


async def measure(args: argparse.Namespace) -> Result:
    quick = args.quick
    hour = 24 if quick else HOUR_CYCLES
    latency = range(WARMUP_CYCLES, WARMUP_CYCLES + (4 if quick else LATENCY_CYCLES))
    result = Result(
        NAME,
        params={
            "sessions_per_second": SESSIONS_PER_SECOND,
            "session_seconds": SESSION_SECONDS,
            "fail_share": FAIL_SHARE,
            "poll_interval_s": INTERVAL,
            "cycles": hour,
            "warmup_cycles": WARMUP_CYCLES,
            "latency_cycles": [latency.start, latency.stop],
            "pipecat_latency_s": PIPECAT_LATENCY,
            "storm_fail_share": STORM_FAIL_SHARE,
            "page_size": PAGE_SIZE,
        },
    )
    workdir = Path(tempfile.mkdtemp(prefix="pipecat-ops-busy-"))
    sqlite = await run_phase(f"sqlite:///{workdir / 'busy.db'}", hour, latency_cycles=latency)
    report_hour(result, "sqlite", sqlite, quick=quick)
    # Pipecat's latency included in some cycles, as in the hour (waiting costs CPU too).
    with_rates, without = await run_paired(workdir, 16 if quick else RATES_CYCLES, latency_cycles=latency)
    report_rates(result, with_rates, without)
    storm_total = STORM_WARMUP_CYCLES + (6 if quick else STORM_CYCLES)
    storm = await run_phase(f"sqlite:///{workdir / 'storm.db'}", storm_total, storm_from=STORM_WARMUP_CYCLES)
    report_storm(result, storm)
    server = os.environ.get(PG_URL_ENV)
    if server:
        postgresql = await run_phase(
            fresh_postgres_database(server, "pipecat_ops_bench_busy"), hour, latency_cycles=latency
        )
        report_hour(result, "postgresql", postgresql, quick=quick)
    else:
        result.row(PREFIX, "postgresql phase", "-", f"not run: {PG_URL_ENV} is not set", False)
    result.notes.append(
        "In process on the simulator's clock; the simulator, its traffic and the Slack stand-in run in a child "
        "process, so CPU and RSS are the pipeline's (with its database driver's threads). Cycles before "
        f"{WARMUP_CYCLES} (the running set filling up) are not judged."
    )
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
