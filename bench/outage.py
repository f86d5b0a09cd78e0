"""Benchmark 12: after a Slack outage.

Every chat.postMessage and chat.update answers HTTP 503 for OUTAGE (the Slack stand-in's outage
window; reads keep working) while CHANNELS channels, each watching AGENTS_PER_CHANNEL agents, get
FAILURES failed sessions in all, spread evenly over the outage (one per agent every 30 s: below
the burst limit, so each is its own threaded reply under its agent's incident). Then Slack answers
again and the held posts drain. Measured, on the simulator's clock:
  - write attempts per channel per 30 s during the outage (the back-off's probes);
  - from Slack answering again to each channel's first held post;
  - the posting rate per channel after that (the most posts in any 1 s, the mean over the drain);
  - lost (a failure with no reply), doubled (a dedup key posted twice), order (each thread's
    replies in the order the sessions failed).

The real alert pipeline (bot/wiring.py `build_alerts`, the app's post spacing and back-offs) runs in
this process against the simulator and the stand-in on loopback and an SQLite file. Time is the
simulator's, driven event by event: the driver runs the scheduler's jobs when they are due (a poll
every POLL_INTERVAL; the delivery job every DELIVERY_TICK, beside a running delivery a pass over the
other channels, and at once when woken; bot/alerts/scheduler.py), lets everything run until it
rests (nothing new for a few milliseconds), then moves the clock to the next due job or the end of
the earliest inline wait (the spacing between two posts). Rate counting is off
(AlertSettings.count_rates): a run of only failures would open rate alerts, top-level posts of their
own that bench/rates.py measures.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import logging
import random
import statistics
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import event

import bot.alerts.delivery.deliverer as deliverer_module
from bench.common import Result, pipeline_settings, run_main
from bot.alerts import policy
from bot.ops.events import NO_EVENTS
from bot.pipecat.client import PipecatClient, build_http_client
from bot.store import Store
from bot.wiring import Alerts, AlertSettings, build_alerts
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.server import serve
from sandbox.slack.standin import SlackStandIn, StoredMessage

NAME = "outage"
PREFIX = "12 outage"
TOKEN = "xoxb-outage-bench"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNELS = [f"C0OUTAGE{i}" for i in range(1, 6)]
AGENTS_PER_CHANNEL = 4
FAILURES = 200
OUTAGE = timedelta(minutes=5)
POLL_INTERVAL = timedelta(seconds=15)
#: Idle polls before the outage starts.
BEFORE = 2
#: Give up waiting for the drain this long after Slack answers again.
DRAIN_LIMIT = timedelta(minutes=5)
#: The driver moves the clock once nothing new happened for this many 5 ms looks.
QUIET_LOOKS = 6
WRITES = ("chat.postMessage", "chat.update")
TARGET_FIRST_POST = timedelta(seconds=30)
TARGET_POSTS_PER_SECOND = 1.0
#: "About one write per channel per 30 s": after the back-off's first doublings, no more often
#: than its cap (policy.RETRY_CAP).
TARGET_WRITES_PER_30S = 30 / policy.RETRY_CAP.total_seconds()
RAMP = timedelta(minutes=1)
#: Slack comes back this many seconds after OUTAGE in each run: the channels' probes are at other
#: points of their back-off then (what a recovery sees depends on it).
RECOVERY_OFFSETS = (0, 9, 17)


class Driver:
    """The scheduler and the passing of time, on the simulator's clock."""

    def __init__(self, clock: SimClock, sim: PipecatSimulator, standin: SlackStandIn) -> None:
        self.clock = clock
        self.sim = sim
        self.standin = standin
        self.statements = 0
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        #: The simulator time of each stand-in call, by its index in standin.calls.
        self.stamps: list[datetime] = []
        self.delivery: asyncio.Task[None] | None = None
        self.poll: asyncio.Task[None] | None = None
        #: When the poll job and the delivery job run next (the scheduler's interval jobs).
        self.next_poll = self.next_tick = clock.now()

    async def sleep(self, seconds: float) -> None:
        """What the pipeline's inline waits call: done when the clock has moved `seconds`."""
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.clock.now() + timedelta(seconds=seconds), next(self._order), future))
        await future

    def count_statement(self, *args: Any) -> None:
        self.statements += 1

    def _mark(self) -> tuple[int, ...]:
        return (self.statements, len(self.standin.calls), len(self.sim.requests), len(self._sleepers))

    async def rest(self) -> None:
        """Until nothing new happens (statements, Slack or Pipecat calls, waits) for QUIET_LOOKS looks."""
        last, quiet = self._mark(), 0
        while quiet < QUIET_LOOKS:
            await asyncio.sleep(0.005)
            mark = self._mark()
            quiet = quiet + 1 if mark == last else 0
            last = mark
        now = self.clock.now()
        self.stamps += [now] * (len(self.standin.calls) - len(self.stamps))

    def busy(self) -> bool:
        return any(t is not None and not t.done() for t in (self.delivery, self.poll)) or bool(self._sleepers)

    def wake(self) -> None:
        """The scheduler's delivery waker (bot/alerts/scheduler.py): the delivery job runs now."""
        self.next_tick = self.clock.now()

    async def run_until(self, end: datetime, alerts: Alerts, before_poll: Any, done: Any = None) -> None:
        """Run the jobs until `end` (or until `done()` once nothing runs)."""
        jobs = alerts.jobs
        while self.clock.now() < end:
            now = self.clock.now()
            if now >= self.next_poll:
                before_poll(now)
                if self.poll is None or self.poll.done():
                    self.poll = asyncio.ensure_future(jobs.run_poll())
                self.next_poll += POLL_INTERVAL
            if now >= self.next_tick:
                if self.delivery is None or self.delivery.done():
                    self.delivery = asyncio.ensure_future(jobs.tick_delivery())
                else:  # the job's second instance: a pass beside the running delivery, started at once
                    await jobs.tick_delivery()
                self.next_tick = now + policy.DELIVERY_TICK
            await self.rest()
            woke = False
            while self._sleepers and self._sleepers[0][0] <= self.clock.now():
                _, _, future = heapq.heappop(self._sleepers)
                future.set_result(None)
                woke = True
            if woke or self.next_tick <= self.clock.now():
                continue  # let them run at this time
            if done is not None and not self.busy() and done():
                break
            following = min(self.next_poll, self.next_tick, *(s[0] for s in self._sleepers[:1]))
            self.clock.set(min(following, end))


class SimMonotonic:
    """`time` for bot/alerts/delivery/deliverer.py, whose channel pass budget
    (policy.CHANNEL_PASS_BUDGET) is read from time.monotonic(): here it runs on the simulator's
    clock, as it does on the wall clock in the app (a simulated drain takes milliseconds)."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    def monotonic(self) -> float:
        return self._clock.now().timestamp()


def settings() -> AlertSettings:
    settings: AlertSettings = pipeline_settings(
        poll_interval=POLL_INTERVAL.total_seconds(), status_interval=0.0, count_rates=False
    )
    return settings


def replies_by_agent(standin: SlackStandIn, channel: str) -> dict[str, list[str]]:
    """Each agent's thread in the channel: the session ids of its replies, in Slack's order."""
    found: dict[str, list[str]] = defaultdict(list)
    for parent in standin.messages_in(channel):
        agent = parent.event_payload.get("agent")
        for reply in standin.messages_in(channel, thread_ts=parent.ts):
            sid = reply.event_payload.get("session_id")
            if isinstance(agent, str) and isinstance(sid, str):
                found[agent].append(sid.lower())
    return found


def all_messages(standin: SlackStandIn, channel: str) -> list[StoredMessage]:
    top = standin.messages_in(channel)
    return top + [reply for parent in top for reply in standin.messages_in(channel, thread_ts=parent.ts)]


def most_in_window(times: Sequence[float], width: float) -> int:
    best, start = 0, 0
    ordered = sorted(times)
    for end, t in enumerate(ordered):
        while t - ordered[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class Run:
    """What one outage left, per channel (in CHANNELS' order) and in all."""

    outage: timedelta
    failures: int
    writes_per_30s: list[float] = field(default_factory=list)
    ramp_writes: list[int] = field(default_factory=list)
    most_writes_in_30s: list[int] = field(default_factory=list)
    first_post_s: list[float] = field(default_factory=list)
    #: From the end of the channel's back-off (its last failed attempt + RETRY_CAP, or Slack's
    #: return if later) to its first post: the wait for a delivery pass.
    late_s: list[float] = field(default_factory=list)
    most_posts_in_1s: list[int] = field(default_factory=list)
    drain_posts_per_s: list[float] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0
    out_of_order: int = 0
    posts: int = 0


async def one_outage(outage: timedelta, failing: timedelta, failures: int) -> Run:
    """A fresh pipeline, database, simulator and stand-in through one outage and its drain; the
    failures are spread over its first `failing`."""
    clock = SimClock(START)
    sim = PipecatSimulator(clock=clock)
    standin = SlackStandIn(bot_token=TOKEN, clock=clock.now)
    owner = {f"out-{c}{a}": channel for c, channel in enumerate(CHANNELS, 1) for a in "abcd"[:AGENTS_PER_CHANNEL]}
    for agent in owner:
        sim.add_agent(agent)
    for channel in CHANNELS:
        standin.add_channel(channel, channel.lower())
    driver = Driver(clock, sim, standin)
    workdir = Path(tempfile.mkdtemp(prefix="pipecat-ops-outage-"))
    store = Store.from_url(f"sqlite:///{workdir / 'outage.db'}")
    event.listen(store.engine.sync_engine, "before_cursor_execute", driver.count_statement)
    failed: dict[str, list[str]] = defaultdict(list)
    failing_until = START + (1 + BEFORE) * POLL_INTERVAL + failing
    ticks = int(failing / POLL_INTERVAL)
    per_tick = failures / ticks
    owed = 0.0
    driver.next_poll = driver.next_tick = clock.now() + POLL_INTERVAL
    start_at = driver.next_poll + BEFORE * POLL_INTERVAL  # on a poll's time
    back_at = start_at + outage
    turn = itertools.cycle(sorted(owner))

    def before_poll(now: datetime) -> None:
        """At each poll during the outage: the sessions that just failed."""
        nonlocal owed
        if now == start_at:
            standin.start_outage(frozenset(WRITES), status=503, until=back_at)
        if not start_at <= now < min(back_at, failing_until):
            return
        owed += per_tick
        while owed >= 1 - 1e-9:
            owed -= 1
            agent = next(turn)
            failed[agent].append(sim.add_session(agent, "HTTP_ERROR", duration_seconds=30).lower())

    def drained() -> bool:
        return all(len(replies_by_agent(standin, c).get(a, [])) >= len(failed[a]) for a, c in owner.items())

    wall_time = vars(deliverer_module)["time"]
    async with serve(sim.app) as sim_url, serve(standin.app) as slack_url:
        standin.base_url = slack_url
        http = build_http_client(f"{sim_url}/v1", "sim-key", timeout=httpx.Timeout(30.0))
        setattr(deliverer_module, "time", SimMonotonic(clock))  # noqa: B010 - a module global, for the run
        try:
            await store.migrate()
            slack = AsyncWebClient(token=TOKEN, base_url=f"{slack_url}/api/")
            pipecat = PipecatClient(http, rng=random.Random(0), clock=clock)
            alerts = build_alerts(
                settings(),
                store=store,
                pipecat=pipecat,
                slack=slack,
                clock=clock,
                pagerduty=None,
                events=NO_EVENTS,
                sleep=driver.sleep,
            )
            alerts.jobs.set_delivery_waker(driver.wake)
            for agent, channel in owner.items():
                await alerts.commands.watch(channel, agent, None, None, "U0OUTAGE1")
            await driver.run_until(back_at, alerts, before_poll)
            await driver.run_until(back_at + DRAIN_LIMIT, alerts, before_poll, done=drained)
            await driver.rest()
            for task in (driver.delivery, driver.poll):
                if task is not None and not task.done():
                    task.cancel()
        finally:
            setattr(deliverer_module, "time", wall_time)  # noqa: B010
            await store.dispose()
            await http.aclose()

    calls = list(zip(standin.calls, driver.stamps, strict=False))
    run = Run(outage, sum(len(v) for v in failed.values()))
    for channel in CHANNELS:
        mine = [(c, at) for c, at in calls if c.method in WRITES and c.args.get("channel") == channel]
        during = [(at - start_at).total_seconds() for c, at in mine if start_at <= at < back_at]
        # After the back-off's ramp (from the channel's first failed attempt): 30 s over the mean
        # time between two attempts.
        ramp_end = min(during, default=0.0) + RAMP.total_seconds()
        gaps = [b - a for a, b in itertools.pairwise(sorted(during)) if a >= ramp_end]
        if gaps:
            run.writes_per_30s.append(30 / statistics.mean(gaps))
        run.ramp_writes.append(sum(1 for t in during if t < ramp_end))
        run.most_writes_in_30s.append(most_in_window(during, 30.0))
        posted = sorted(
            (at - back_at).total_seconds()
            for c, at in mine
            if c.method == "chat.postMessage" and c.ok and at >= back_at
        )
        run.first_post_s.append(posted[0] if posted else float("inf"))
        failed_before = [at for c, at in mine if not c.ok and at < back_at]
        due = max([back_at, *(at + policy.RETRY_CAP for at in failed_before[-1:])])
        run.late_s.append(run.first_post_s[-1] - (due - back_at).total_seconds())
        run.most_posts_in_1s.append(most_in_window(posted, 1.0))
        if len(posted) > 1:
            run.drain_posts_per_s.append((len(posted) - 1) / (posted[-1] - posted[0]))
    for agent, channel in owner.items():
        got = replies_by_agent(standin, channel).get(agent, [])
        run.lost += len(set(failed[agent]) - set(got))
        run.out_of_order += [s for s in got if s in set(failed[agent])] != failed[agent][: len(got)]
    for channel in CHANNELS:
        keys = Counter(str(m.event_payload.get("dedup_key", "")) for m in all_messages(standin, channel))
        run.doubled += sum(n - 1 for k, n in keys.items() if k and n > 1)
    run.posts = sum(1 for c, _ in calls if c.method == "chat.postMessage" and c.ok)
    return run


async def measure(args: argparse.Namespace) -> Result:
    logging.getLogger("bot").setLevel(logging.ERROR)  # the outage's warnings are expected, and many
    failures = FAILURES * 3 // 10 if args.quick else FAILURES
    endings = RECOVERY_OFFSETS[:1] if args.quick else RECOVERY_OFFSETS
    failing = timedelta(minutes=3) if args.quick else OUTAGE
    outages = [failing + timedelta(seconds=s) for s in endings]
    result = Result(
        NAME,
        params={
            "channels": len(CHANNELS),
            "agents_per_channel": AGENTS_PER_CHANNEL,
            "failures": failures,
            "outages_s": [o.total_seconds() for o in outages],
            "status": 503,
            "post_spacing_s": settings().post_spacing.total_seconds(),
            "retry_base_s": policy.RETRY_BASE.total_seconds(),
            "retry_cap_s": policy.RETRY_CAP.total_seconds(),
            "delivery_tick_s": policy.DELIVERY_TICK.total_seconds(),
            "channel_pass_budget_s": policy.CHANNEL_PASS_BUDGET.total_seconds(),
            "poll_interval_s": POLL_INTERVAL.total_seconds(),
        },
    )
    runs = [await one_outage(outage, failing, failures) for outage in outages]
    result.metrics["runs"] = [
        {k: [round(x, 2) for x in v] if isinstance(v, list) else v for k, v in asdict(r).items() if k != "outage"}
        | {"outage_s": r.outage.total_seconds()}
        for r in runs
    ]
    writes = [w for r in runs for w in r.writes_per_30s]
    first_posts = [f for r in runs for f in r.first_post_s]
    drain = [d for r in runs for d in r.drain_posts_per_s]
    minutes = outages[0].total_seconds() / 60
    what = f"{failures} alerts, {len(CHANNELS)} channels, {minutes:.0f} min of 503s"
    result.row(
        PREFIX,
        f"write attempts per channel per 30 s during the outage ({what})",
        f"≤ ~1 (≤ {TARGET_WRITES_PER_30S:.1f}: one per RETRY_CAP {policy.RETRY_CAP.total_seconds():.0f} s, "
        f"after the first {RAMP.total_seconds():.0f} s)",
        f"{max(writes, default=float('nan')):.2f} (30 s / mean gap, worst channel); most in any 30 s "
        f"{max(m for r in runs for m in r.most_writes_in_30s)}; "
        f"{max(m for r in runs for m in r.ramp_writes)} in the first {RAMP.total_seconds():.0f} s of a channel's "
        "trouble",
        len(writes) == len(CHANNELS) * len(runs) and max(writes) <= TARGET_WRITES_PER_30S,
    )
    worst = max(first_posts)
    result.row(
        PREFIX,
        f"Slack answering again → each channel's first held post ({len(runs)} recovery moments)",
        f"≤ {TARGET_FIRST_POST.seconds} s",
        f"{worst:.1f} s worst, {statistics.median(first_posts):.1f} s median; per run: "
        + ", ".join(f"{max(r.first_post_s):.0f}" for r in runs),
        worst <= TARGET_FIRST_POST.total_seconds(),
    )
    late = max(x for r in runs for x in r.late_s)
    result.row(
        PREFIX,
        "…of which waiting for a delivery pass after the channel's back-off ended (informational)",
        "-",
        f"{late:.1f} s worst (a delivery tick is {policy.DELIVERY_TICK.total_seconds():.0f} s)",
        None,
    )
    result.row(
        PREFIX,
        "posts per channel after that (most in any 1 s; mean over the drain)",
        f"≤ {TARGET_POSTS_PER_SECOND:.0f} post/s per channel",
        f"{max(m for r in runs for m in r.most_posts_in_1s)} in 1 s; {max(drain, default=0):.2f}/s mean",
        max(m for r in runs for m in r.most_posts_in_1s) <= TARGET_POSTS_PER_SECOND and bool(drain),
    )
    lost, doubled = sum(r.lost for r in runs), sum(r.doubled for r in runs)
    disordered = sum(r.out_of_order for r in runs)
    result.row(
        PREFIX,
        "lost / doubled / threads out of order",
        "0 / 0 / 0",
        f"{lost} / {doubled} / {disordered}",
        lost == 0 and doubled == 0 and disordered == 0 and all(r.failures == failures for r in runs),
    )
    result.notes.append(
        "On the simulator's clock (seconds are simulated); write attempts are chat.postMessage and chat.update. "
        "Rate counting is off (no rate alerts). Each run ends the outage at another moment of the channels' "
        "back-off probes."
    )
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
