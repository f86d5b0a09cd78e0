"""Benchmark 3: poll cost.

200 agents watched through signed `/session watch <agent>` commands (as users do it), Pipecat
answering every request after 50 ms, the app polling every POLL_INTERVAL seconds. Measured per
idle cycle (nothing new ended), in two phases:
  A. nothing running anywhere: the floor is 1 list request per agent (bot/alerts/poll/poller.py);
  B. one session running on RUNNING_AGENTS of them: the floor is 2 requests for those agents.
A cycle is a burst of simulator requests separated from the next by a quiet gap. Its wall time
runs from the first Pipecat request of the burst to the end of the app's CPU activity after the
last one (the first 200 ms without CPU growth; psutil sampled every 10 ms, counting in 10 ms
ticks); its CPU is the app process's user+system time over the same span. Also recorded: RSS
at the end (benchmark 6's "after benchmark 3").

Agent status reads (`GET /agents/{agent}`, every STATUS_INTERVAL seconds on their own job) are
not part of a poll cycle: they are left out of the cycle counts and checked on their own, as the
shortest time between two status reads of one agent (at least the interval less its due slack).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from collections import Counter
from dataclasses import dataclass

from bench.common import Result, Rig, add_app_facts, rig, run_main
from sandbox.pipecat.simulator import RecordedRequest

NAME = "poll"
AGENTS = 200
RUNNING_AGENTS = 50
PIPECAT_LATENCY = 0.050
POLL_INTERVAL = 2.0
CYCLES = 3
#: Cycles looked at to find CYCLES without status reads in them.
MAX_CYCLES_TRIED = 12
WATCH_CONCURRENCY = 10
#: A pause this long between simulator requests separates two cycles.
CYCLE_GAP = 0.5
SAMPLE_EVERY = 0.01
#: The app is done with a cycle once its CPU time has not grown for this long.
QUIET_FOR = 0.2
TARGET_WALL = 2.0
TARGET_MS_PER_IDLE_POLL = 1.5
#: The app's AGENT_STATUS_INTERVAL_SECONDS here; a read may come this share early (its due slack).
STATUS_INTERVAL = 20.0
STATUS_EARLY_SHARE = 0.1
#: Arrival times at the simulator, not claim times, are compared: a read can reach Pipecat up to
#: this much later than its claim (the read queue), which shortens the next gap by as much.
STATUS_ARRIVAL_SLACK = 1.0


@dataclass
class Cycle:
    requests: list[RecordedRequest]
    wall: float
    cpu: float

    @property
    def span(self) -> float:
        """First request sent to last answer given: the part of the cycle Pipecat saw."""
        return (self.requests[-1].at - self.requests[0].at).total_seconds() + PIPECAT_LATENCY

    @property
    def kinds(self) -> Counter[str]:
        return Counter(kind(q) for q in self.requests)


def kind(q: RecordedRequest) -> str:
    parts = q.path.strip("/").split("/")
    if len(parts) == 4 and parts[3] == "sessions":
        return f"list status={q.query.get('status', '-')}"
    if len(parts) == 5 and parts[3] == "sessions":
        return "session detail"
    return f"{q.method} {'/'.join(parts[:2] + ['…'] * (len(parts) > 2))}"


class CpuSampler:
    """(time.time(), app CPU seconds) every SAMPLE_EVERY s, in the bench's loop."""

    def __init__(self, r: Rig) -> None:
        self.r = r
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.samples.append((time.time(), self.r.app.cpu_seconds()))
            await asyncio.sleep(SAMPLE_EVERY)

    def __enter__(self) -> CpuSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    def cpu_at(self, when: float) -> float:
        before = [cpu for t, cpu in self.samples if t <= when]
        return before[-1] if before else self.samples[0][1]

    def busy_until(self, after: float, limit: float) -> float:
        """When the app went quiet after `after`: the start of the first QUIET_FOR stretch without
        CPU growth (psutil counts in 10 ms ticks, so a stray timer tick does not end a cycle late)."""
        window = [(t, cpu) for t, cpu in self.samples if after <= t < limit]
        end, last_cpu = after, window[0][1] if window else 0.0
        for t, cpu in window:
            if cpu > last_cpu:
                end, last_cpu = t, cpu
            elif t - end >= QUIET_FOR:
                break
        return end


def is_status_read(q: RecordedRequest) -> bool:
    parts = q.path.strip("/").split("/")
    return q.method == "GET" and len(parts) == 3 and parts[1] == "agents"


def split_cycles(requests: list[RecordedRequest]) -> list[list[RecordedRequest]]:
    groups: list[list[RecordedRequest]] = []
    for q in requests:
        if is_status_read(q):
            continue  # the status job's, not the poll's
        if groups and (q.at - groups[-1][-1].at).total_seconds() < CYCLE_GAP:
            groups[-1].append(q)
        else:
            groups.append([q])
    return groups


async def complete_cycles(r: Rig, since: int, count: int) -> list[list[RecordedRequest]]:
    """Wait until `count` cycles that started after request index `since` are over."""
    deadline = time.monotonic() + (count + 2) * POLL_INTERVAL * 1.5 + 30
    while time.monotonic() < deadline:
        groups = split_cycles(r.sim.requests[since:])
        quiet = bool(groups) and time.time() - groups[-1][-1].at.timestamp() > CYCLE_GAP + PIPECAT_LATENCY
        done = groups if quiet else groups[:-1]
        if len(done) >= count:
            return done[:count]
        await asyncio.sleep(0.2)
    raise TimeoutError(f"fewer than {count} poll cycles within the deadline")


async def measure_cycles(r: Rig, sampler: CpuSampler, count: int) -> list[Cycle]:
    """`count` whole cycles during which no agent status read ran (their CPU is the status job's,
    not the poll's); up to MAX_CYCLES_TRIED cycles are looked at to find them."""
    # Start at a quiet moment, so the first group is a whole cycle.
    await complete_cycles(r, len(r.sim.requests), 1)
    clean: list[Cycle] = []
    for _ in range(MAX_CYCLES_TRIED):
        since = len(r.sim.requests)
        groups = await complete_cycles(r, since, 2)  # this one, and the start of the next
        await asyncio.sleep(0.3)  # the last cycle's database writes
        group, following = groups
        start = group[0].at.timestamp()
        end = sampler.busy_until(group[-1].at.timestamp(), following[0].at.timestamp() - 0.2)
        reads = [
            q for q in r.sim.requests[since:] if is_status_read(q) and start - 0.2 <= q.at.timestamp() <= end + 0.2
        ]
        if reads:
            continue
        cpu = sampler.cpu_at(end + SAMPLE_EVERY) - sampler.cpu_at(start - 0.2)
        clean.append(Cycle(group, max(end, group[-1].at.timestamp() + PIPECAT_LATENCY) - start, cpu))
        if len(clean) == count:
            break
    if not clean:
        raise RuntimeError("every cycle overlapped agent status reads")
    return clean


def summarize(result: Result, label: str, cycles: list[Cycle], floor: int) -> None:
    counts = [len(c.requests) for c in cycles]
    walls = [c.wall for c in cycles]
    cpus = [c.cpu for c in cycles]
    kinds: Counter[str] = Counter()
    for c in cycles:
        kinds.update(c.kinds)
    result.metrics[f"{label}_requests_per_cycle"] = counts
    result.metrics[f"{label}_request_kinds_total"] = dict(kinds)
    result.metrics[f"{label}_wall_s"] = [round(w, 3) for w in walls]
    result.metrics[f"{label}_pipecat_span_s"] = [round(c.span, 3) for c in cycles]
    result.metrics[f"{label}_cpu_s"] = [round(c, 3) for c in cpus]
    worst = max(counts)
    phase = "nothing running" if label == "idle" else f"{RUNNING_AGENTS} agents running a session"
    result.row(
        "3 poll cost",
        f"API requests per idle cycle, {AGENTS} agents, {phase}",
        f"= {floor} (floor)",
        f"{worst} (max of {len(cycles)})",
        worst <= floor,
    )
    result.row(
        "3 poll cost",
        f"wall time of one cycle ({phase})",
        "< 2 s",
        f"{max(walls):.2f} s (max; median {statistics.median(walls):.2f})",
        max(walls) < TARGET_WALL,
    )
    result.row(
        "3 poll cost",
        f"app CPU per cycle ({phase})",
        "-",
        f"{statistics.median(cpus):.2f} s (median; max {max(cpus):.2f})",
        None,
    )
    per_agent = 1000 * statistics.median(cpus) / AGENTS
    if label == "idle":
        result.row(
            "3 poll cost",
            f"app CPU per idle agent poll ({AGENTS} agents, {POLL_INTERVAL:.0f} s)",
            f"≤ {TARGET_MS_PER_IDLE_POLL} ms",
            f"{per_agent:.2f} ms (median cycle / {AGENTS})",
            per_agent <= TARGET_MS_PER_IDLE_POLL,
        )
    else:
        result.row("3 poll cost", f"app CPU per agent poll ({phase})", "-", f"{per_agent:.2f} ms", None)


def summarize_status(result: Result, reads: list[RecordedRequest]) -> None:
    by_agent: dict[str, list[float]] = {}
    for q in reads:
        by_agent.setdefault(q.path, []).append(q.at.timestamp())
    gaps = [b - a for times in by_agent.values() for a, b in itertools.pairwise(times)]
    shortest = min(gaps, default=None)
    floor = STATUS_INTERVAL * (1 - STATUS_EARLY_SHARE) - STATUS_ARRIVAL_SLACK
    result.metrics["status_reads_total"] = len(reads)
    result.metrics["status_read_agents"] = len(by_agent)
    result.metrics["status_read_shortest_gap_s"] = round(shortest, 2) if shortest is not None else None
    result.row(
        "3 poll cost",
        f"status reads of one agent, AGENT_STATUS_INTERVAL_SECONDS={STATUS_INTERVAL:g}",
        f"≥ {floor:g} s apart",
        "no agent read twice" if shortest is None else f"{shortest:.1f} s (shortest)",
        bool(reads) and (shortest is None or shortest >= floor),
    )


async def measure(args: argparse.Namespace) -> Result:
    cycles = 2 if args.quick else CYCLES
    result = Result(
        NAME,
        params={
            "agents": AGENTS,
            "running_agents_phase_b": RUNNING_AGENTS,
            "pipecat_latency_s": PIPECAT_LATENCY,
            "poll_interval_s": POLL_INTERVAL,
            "cycles_per_phase": cycles,
            "watch_concurrency": WATCH_CONCURRENCY,
        },
    )
    agents = [f"agent-{i:03d}" for i in range(AGENTS)]
    status_env = {"AGENT_STATUS_INTERVAL_SECONDS": str(STATUS_INTERVAL)}
    async with rig(poll_interval=POLL_INTERVAL, env_extra=status_env) as r:
        for agent in agents:
            r.sim.add_agent(agent)
        r.sim.latency = PIPECAT_LATENCY
        result.metrics["rss_mb_before_watches"] = round(r.app.rss_mb(), 1)
        before = len(r.sim.requests)
        started = time.perf_counter()
        failures = await r.watch_all(agents, concurrency=WATCH_CONCURRENCY)
        took = time.perf_counter() - started
        watch_requests = r.sim.requests[before:]
        result.metrics.update(
            watch_commands_s=round(took, 2),
            watch_command_failures=failures,
            watch_requests=dict(Counter(kind(q) for q in watch_requests)),
        )
        measured_from = len(r.sim.requests)
        with CpuSampler(r) as sampler:
            idle = await measure_cycles(r, sampler, cycles)
            for agent in agents[:RUNNING_AGENTS]:
                r.sim.start_session(agent)
            await complete_cycles(r, len(r.sim.requests), 1)  # the cycle that sees them start
            running = await measure_cycles(r, sampler, cycles)
        status_reads = [q for q in r.sim.requests[measured_from:] if is_status_read(q)]
        result.metrics["rss_mb_after"] = round(r.app.rss_mb(), 1)
        add_app_facts(result, r.app)
    summarize(result, "idle", idle, AGENTS)
    summarize(result, "running", running, AGENTS + RUNNING_AGENTS)
    summarize_status(result, status_reads)
    result.row("3 poll cost", "watch commands (all 200, 10 at a time)", "-", f"{took:.1f} s, {failures} failed", None)
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
