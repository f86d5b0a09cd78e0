"""Benchmark 8: scale. 1 000 watched agents at a 15 s poll interval.

Phases, each on a fresh database:
  sqlite      one replica on SQLite;
  postgresql  one replica on PostgreSQL;
  replicas    three replicas on one PostgreSQL database, over the same agents.

Pipecat (the simulator, in this process) answers every request after 50 ms; nothing runs or ends,
so every poll is idle. The watches and poll states are written through the app's own store
before the app starts (what 1 000 `/session watch` commands leave behind, without 40 s of
commands). Agent status reads run at the app's default interval, as users run it.

Measured per phase, after one warm-up cycle, over CYCLES intervals:
  - each cycle's wall time (first to last poll request, plus the latency): within the interval?
  - the app's CPU over the whole window (polls, status reads, delivery ticks, everything) as a
    share of one core;
  - replicas: every agent's list requests in the window (each agent polled once per cycle across
    all replicas: never twice within half an interval) and each replica's share of the polls
    (from its own /metrics).

PostgreSQL comes from PIPECAT_OPS_TEST_PG_URL (bench/run starts a throwaway server when it is
not set, as scripts/test does); without it the PostgreSQL phases are reported as not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import (
    PIPECAT_KEY,
    AppProcess,
    RealTimeClock,
    Result,
    app_env,
    free_port,
    run_main,
    start_app,
    stop_app,
)
from bench.poll import is_status_read, split_cycles
from bot.store import Store
from sandbox.pipecat.simulator import PipecatSimulator, RecordedRequest
from sandbox.server import serve
from sandbox.slack.standin import SlackStandIn

NAME = "scale"
AGENTS = 1000
INTERVAL = 15.0
PIPECAT_LATENCY = 0.050
CYCLES = 3
REPLICAS = 3
CHANNEL = "C0SCALE01"
#: Target: the app's CPU over the window, as a share of one core.
TARGET_CORE_SHARE = 0.20
#: Two polls of one agent closer than this are a double poll (a cycle is one interval).
DOUBLE_POLL_GAP = INTERVAL / 2
#: "Roughly even": every replica does at least this share of a fair split of the polls.
EVEN_SHARE = 0.7
PG_URL_ENV = "PIPECAT_OPS_TEST_PG_URL"
#: The first status reads of 1 000 agents (4 at a time, 50 ms each) take about 13 s.
STATUS_BURST_TIMEOUT = 90.0
BENCH_DATABASE = "pipecat_ops_bench_scale"
POLLS_OK = re.compile(r'^pipecat_ops_polls_total\{outcome="ok"\} ([0-9.e+]+)$', re.MULTILINE)


def agents() -> list[str]:
    return [f"agent-{i:04d}" for i in range(AGENTS)]


async def seed(database_url: str, names: Sequence[str]) -> None:
    """What the watch commands leave: a watch and a poll state per agent (the app's own store)."""
    store = Store.from_url(database_url)
    try:
        await store.migrate()
        now = datetime.now(UTC)
        for name in names:
            await store.upsert_watch(CHANNEL, name, {"HTTP_ERROR"}, None, "U0SCALE01", now)
            await store.seed_poll_state(name, now, [])
    finally:
        await store.dispose()


def fresh_postgres_database(server_url: str, name: str = BENCH_DATABASE) -> str:
    """A new, empty database `name` on the test server; its URL."""
    import psycopg  # the bench's only direct use of the driver

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.replace("/postgres?", f"/{name}?", 1)


@contextlib.asynccontextmanager
async def running(
    database_url: str, replicas: int, workdir: Path
) -> AsyncIterator[tuple[PipecatSimulator, list[AppProcess]]]:
    sim = PipecatSimulator(api_key=PIPECAT_KEY, clock=RealTimeClock())
    names = agents()
    for name in names:
        sim.add_agent(name)
    sim.latency = PIPECAT_LATENCY
    standin = SlackStandIn(bot_token="xoxb-bench-token")
    standin.add_channel(CHANNEL, "scale")
    await seed(database_url, names)
    async with serve(sim.app) as sim_url, serve(standin.app) as slack_url:
        standin.base_url = slack_url
        apps: list[AppProcess] = []
        try:
            for i in range(replicas):
                home = workdir / f"replica-{i}"
                home.mkdir()
                env = app_env(
                    pipecat_url=sim_url,
                    slack_url=slack_url,
                    db_path=home / "unused.db",
                    port=free_port(),
                    poll_interval=INTERVAL,
                    DATABASE_URL=database_url,
                )
                apps.append(await start_app(env, home))
            yield sim, apps
        finally:
            for app in apps:
                await stop_app(app)
            sim.release_hangs()


def polls(requests: Sequence[RecordedRequest]) -> list[RecordedRequest]:
    return [q for q in requests if not is_status_read(q) and q.query.get("status") == "all"]


async def polls_ok(app: AppProcess) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{app.url}/metrics")).text
    found = POLLS_OK.search(text)
    return float(found.group(1)) if found else 0.0


async def status_burst_over(sim: PipecatSimulator, since: int) -> None:
    """Wait until every agent's first status read is done (all are due at start, read in one burst
    by the status job; the next burst is one status interval later)."""
    deadline = time.monotonic() + STATUS_BURST_TIMEOUT
    while time.monotonic() < deadline:
        reads = [q for q in sim.requests[since:] if is_status_read(q)]
        if len(reads) >= AGENTS and time.time() - reads[-1].at.timestamp() > 2:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("the first status reads did not finish")


async def sample_cpu(apps: Sequence[AppProcess], into: list[tuple[float, list[float]]]) -> None:
    while True:
        into.append((time.time(), [app.cpu_seconds() for app in apps]))
        await asyncio.sleep(0.05)


def cpu_at(samples: Sequence[tuple[float, list[float]]], when: float) -> list[float]:
    before = [cpu for t, cpu in samples if t <= when]
    return before[-1] if before else samples[0][1]


async def run_phase(result: Result, label: str, database_url: str, replicas: int, cycles: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"pipecat-ops-bench-{label}-"))
    samples: list[tuple[float, list[float]]] = []
    async with running(database_url, replicas, workdir) as (sim, apps):
        await status_burst_over(sim, 0)  # and the first cycles, with every agent's first poll
        sampler = asyncio.get_running_loop().create_task(sample_cpu(apps, samples))
        since = len(sim.requests)
        polled0 = [await polls_ok(app) for app in apps]
        started = time.time()
        await asyncio.sleep(cycles * INTERVAL + 1)
        window = time.time() - started
        polled = [await polls_ok(app) - p for app, p in zip(apps, polled0, strict=True)]
        sampler.cancel()
        requests = sim.requests[since:]
        problems = sum(len(app.log_problems()) for app in apps)
    cpu = [b - a for a, b in zip(cpu_at(samples, started), cpu_at(samples, started + window), strict=True)]
    share = max(cpu) / window
    prefix = "8 scale"
    what = f"{AGENTS} agents, {INTERVAL:.0f} s, {label}"
    result.metrics[f"{label}_app_cpu_s"] = [round(c, 2) for c in cpu]
    result.metrics[f"{label}_window_s"] = round(window, 1)
    result.metrics[f"{label}_log_errors"] = problems
    result.metrics[f"{label}_requests"] = dict(Counter(_kind(q) for q in requests))
    if replicas == 1:
        # Whole cycles in the window, each from its first request to the next cycle's first.
        groups = [g for g in split_cycles(list(requests)) if len(polls(g)) > AGENTS / 2]
        walls = [(g[-1].at - g[0].at).total_seconds() + PIPECAT_LATENCY for g in groups]
        starts = [g[0].at.timestamp() for g in groups]
        shares = []
        for a, b in itertools.pairwise(starts):
            used = cpu_at(samples, b - 0.1)[0] - cpu_at(samples, a - 0.1)[0]
            shares.append(used / (b - a))
        result.metrics[f"{label}_cycle_walls_s"] = [round(w, 2) for w in walls]
        result.metrics[f"{label}_cycle_core_shares"] = [round(x, 4) for x in shares]
        result.row(
            prefix,
            f"cycle wall time ({what})",
            f"< {INTERVAL:.0f} s",
            f"{max(walls):.2f} s (max of {len(walls)})" if walls else "no whole cycle seen",
            bool(walls) and max(walls) < INTERVAL,
        )
        per_poll = 1000 * cpu[0] / max(len(polls(requests)), 1)
        worst = max(shares, default=float("nan"))
        result.row(
            prefix,
            f"app CPU per cycle, share of one core ({what})",
            f"< {TARGET_CORE_SHARE:.0%}",
            f"{worst:.1%} (max of {len(shares)} whole intervals; {per_poll:.2f} ms a poll)",
            bool(shares) and worst < TARGET_CORE_SHARE,
        )
        return
    by_agent: dict[str, list[datetime]] = defaultdict(list)
    for q in polls(requests):
        by_agent[q.path.strip("/").split("/")[2]].append(q.at)
    gaps = [(b - a).total_seconds() for times in by_agent.values() for a, b in itertools.pairwise(times)]
    doubles = sum(g < DOUBLE_POLL_GAP for g in gaps)
    counts = Counter(len(times) for times in by_agent.values())
    never = AGENTS - len(by_agent)
    result.metrics[f"{label}_polls_per_agent"] = {str(k): v for k, v in sorted(counts.items())}
    result.metrics[f"{label}_polls_per_replica"] = polled
    result.metrics[f"{label}_shortest_gap_s"] = round(min(gaps), 2) if gaps else None
    result.metrics[f"{label}_longest_gap_s"] = round(max(gaps), 2) if gaps else None
    result.row(
        prefix,
        f"double polls ({what})",
        "0 (two polls of one agent < interval/2 apart)",
        f"{doubles} in {len(gaps)} gaps; {never} agents never polled; gaps "
        f"{min(gaps, default=0):.1f}–{max(gaps, default=0):.1f} s",
        doubles == 0 and never == 0,
    )
    fair = sum(polled) / replicas
    result.row(
        prefix,
        f"polls per replica ({what})",
        f"each ≥ {EVEN_SHARE:.0%} of an even split",
        " / ".join(f"{p:.0f}" for p in polled) + f" (even: {fair:.0f})",
        fair > 0 and min(polled) >= EVEN_SHARE * fair,
    )
    result.row(
        prefix,
        f"app CPU of the busiest replica, share of one core ({what})",
        f"< {TARGET_CORE_SHARE:.0%}",
        f"{share:.1%} (" + " / ".join(f"{c:.2f}" for c in cpu) + f" s in {window:.0f} s)",
        share < TARGET_CORE_SHARE,
    )


def _kind(q: RecordedRequest) -> str:
    return "status read" if is_status_read(q) else f"list status={q.query.get('status', '-')}"


async def measure(args: argparse.Namespace) -> Result:
    cycles = 2 if args.quick else CYCLES
    result = Result(
        NAME,
        params={
            "agents": AGENTS,
            "poll_interval_s": INTERVAL,
            "pipecat_latency_s": PIPECAT_LATENCY,
            "cycles": cycles,
            "replicas": REPLICAS,
        },
    )
    workdir = Path(tempfile.mkdtemp(prefix="pipecat-ops-bench-scale-"))
    await run_phase(result, "sqlite", f"sqlite:///{workdir / 'scale.db'}", 1, cycles)
    server = os.environ.get(PG_URL_ENV)
    if not server:
        for label in ("postgresql", "replicas"):
            result.row("8 scale", f"{label} phase", "-", f"not run: {PG_URL_ENV} is not set", False)
        return result
    await run_phase(result, "postgresql", fresh_postgres_database(server), 1, cycles)
    await run_phase(result, "replicas", fresh_postgres_database(server), REPLICAS, cycles + 1)
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
