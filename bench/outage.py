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
every POLL_INTERVAL, a delivery pass every DELIVERY_TICK unless one is running, and the passes the
enqueue wake starts), lets everything run until it rests (nothing new for a few milliseconds), then
moves the clock to the next due job or the end of the earliest inline wait (the spacing between two
posts). Rate counting is off (AlertSettings.count_rates): a run of only failures would open rate
alerts, top-level posts of their own that bench/rates.py measures.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import event

from bench.common import Result, run_main
from bot.alerts import policy
from bot.explain.explainer import CAUSE_WAIT_SECONDS
from bot.ops.events import NO_EVENTS
from bot.pipecat.client import PipecatClient, build_http_client
from bot.sandbox.pipecat_sim import PipecatSimulator, SimClock
from bot.sandbox.server import serve
from bot.sandbox.slack_standin import SlackStandIn, StoredMessage
from bot.store import Store
from bot.wiring import Alerts, AlertSettings, build_alerts

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

    async def run_until(
        self,
        end: datetime,
        alerts: Alerts,
        next_poll: datetime,
        next_tick: datetime,
        before_poll: Any,
        done: Any = None,
    ) -> tuple[datetime, datetime]:
        """Run the jobs until `end` (or `done()` once nothing runs); returns the next poll and tick."""
        jobs = alerts.jobs
        while self.clock.now() < end:
            now = self.clock.now()
            if now >= next_poll:
                before_poll(now)
                if self.poll is None or self.poll.done():
                    self.poll = asyncio.ensure_future(jobs.run_poll())
                next_poll += POLL_INTERVAL
            if now >= next_tick:
                if self.delivery is None or self.delivery.done():  # max_instances=1, coalesced
                    self.delivery = asyncio.ensure_future(jobs.run_delivery())
                next_tick += policy.DELIVERY_TICK
            await self.rest()
            woke = False
            while self._sleepers and self._sleepers[0][0] <= self.clock.now():
                _, _, future = heapq.heappop(self._sleepers)
                future.set_result(None)
                woke = True
            if woke:
                continue  # let them run at this time
            if done is not None and not self.busy() and done():
                break
            following = min(next_poll, next_tick, *(s[0] for s in self._sleepers[:1]))
            self.clock.set(min(following, end))
        return next_poll, next_tick


def settings() -> AlertSettings:
    return AlertSettings(
        default_statuses=frozenset({"HTTP_ERROR"}),
        incident_window=policy.DEFAULT_INCIDENT_WINDOW,
        poll_interval=POLL_INTERVAL.total_seconds(),
        post_spacing=policy.SLACK_POST_SPACING,
        give_up_after=policy.OUTBOX_GIVE_UP,
        status_interval=0.0,
        capacity_warn_percent=80.0,
        explain=True,
        cause_wait_seconds=CAUSE_WAIT_SECONDS,
        dashboard_url=None,
        count_rates=False,
    )


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


async def measure(args: argparse.Namespace) -> Result:
    logging.getLogger("bot").setLevel(logging.ERROR)  # the outage's warnings are expected, and many
    outage = timedelta(minutes=3) if args.quick else OUTAGE
    failures = FAILURES * 3 // 10 if args.quick else FAILURES
    result = Result(
        NAME,
        params={
            "channels": len(CHANNELS),
            "agents_per_channel": AGENTS_PER_CHANNEL,
            "failures": failures,
            "outage_s": outage.total_seconds(),
            "status": 503,
            "post_spacing_s": policy.SLACK_POST_SPACING.total_seconds(),
            "retry_base_s": policy.RETRY_BASE.total_seconds(),
            "retry_cap_s": policy.RETRY_CAP.total_seconds(),
            "delivery_tick_s": policy.DELIVERY_TICK.total_seconds(),
            "poll_interval_s": POLL_INTERVAL.total_seconds(),
        },
    )
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
    agents = sorted(owner)
    ticks = int(outage / POLL_INTERVAL)
    per_tick = failures / ticks
    owed = 0.0
    first = clock.now() + POLL_INTERVAL
    start_at = first + BEFORE * POLL_INTERVAL  # on a poll's time
    back_at = start_at + outage
    turn = itertools.cycle(agents)

    def before_poll(now: datetime) -> None:
        """At each poll during the outage: the sessions that just failed."""
        nonlocal owed
        if not start_at <= now < back_at:
            return
        if now == start_at:
            standin.start_outage(frozenset(WRITES), status=503, until=back_at)
        owed += per_tick
        while owed >= 1:
            owed -= 1
            agent = next(turn)
            failed[agent].append(sim.add_session(agent, "HTTP_ERROR", duration_seconds=30).lower())

    def drained() -> bool:
        return all(len(replies_by_agent(standin, c).get(a, [])) >= len(failed[a]) for a, c in owner.items())

    async with serve(sim.app) as sim_url, serve(standin.app) as slack_url:
        standin.base_url = slack_url
        http = build_http_client(f"{sim_url}/v1", "sim-key", timeout=httpx.Timeout(30.0))
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
            for agent, channel in owner.items():
                await alerts.commands.watch(channel, agent, None, None, "U0OUTAGE1")
            nxt = await driver.run_until(back_at, alerts, first, first, before_poll)
            await driver.run_until(back_at + DRAIN_LIMIT, alerts, *nxt, before_poll, done=drained)
            await driver.rest()
            for task in (driver.delivery, driver.poll):
                if task is not None and not task.done():
                    task.cancel()
        finally:
            await store.dispose()
            await http.aclose()

    calls = list(zip(standin.calls, driver.stamps, strict=False))
    total = sum(len(v) for v in failed.values())
    writes_per_30s: list[float] = []
    ramp_writes: list[int] = []
    worst_window: list[int] = []
    first_post: list[float] = []
    posts_max_1s: list[int] = []
    drain_rate: list[float] = []
    for channel in CHANNELS:
        mine = [(c, at) for c, at in calls if c.method in WRITES and c.args.get("channel") == channel]
        during = [(at - start_at).total_seconds() for c, at in mine if start_at <= at < back_at]
        # After the back-off's ramp (from the channel's first failed attempt): 30 s over the mean
        # time between two attempts.
        ramp_end = min(during, default=0.0) + RAMP.total_seconds()
        gaps = [b - a for a, b in itertools.pairwise(sorted(during)) if a >= ramp_end]
        if gaps:
            writes_per_30s.append(30 / statistics.mean(gaps))
        ramp_writes.append(sum(1 for t in during if t < ramp_end))
        worst_window.append(most_in_window(during, 30.0))
        posted = sorted(
            (at - back_at).total_seconds()
            for c, at in mine
            if c.method == "chat.postMessage" and c.ok and at >= back_at
        )
        first_post.append(posted[0] if posted else float("inf"))
        posts_max_1s.append(most_in_window(posted, 1.0))
        if len(posted) > 1:
            drain_rate.append((len(posted) - 1) / (posted[-1] - posted[0]))
    lost = doubled = disordered = 0
    for agent, channel in owner.items():
        got = replies_by_agent(standin, channel).get(agent, [])
        lost += len(set(failed[agent]) - set(got))
        disordered += [s for s in got if s in set(failed[agent])] != failed[agent][: len(got)]
    for channel in CHANNELS:
        keys = Counter(str(m.event_payload.get("dedup_key", "")) for m in all_messages(standin, channel))
        doubled += sum(n - 1 for k, n in keys.items() if k and n > 1)
    result.metrics.update(
        failures=total,
        per_channel_writes_per_30s=[round(w, 2) for w in writes_per_30s],
        per_channel_ramp_writes=ramp_writes,
        per_channel_most_writes_in_30s=worst_window,
        per_channel_first_post_s=[round(f, 1) for f in first_post],
        per_channel_most_posts_in_1s=posts_max_1s,
        per_channel_drain_posts_per_s=[round(r, 2) for r in drain_rate],
        lost=lost,
        doubled=doubled,
        threads_out_of_order=disordered,
        simulated_s=round((clock.now() - START).total_seconds(), 1),
        posts=sum(1 for c, _ in calls if c.method == "chat.postMessage" and c.ok),
    )
    what = f"{total} alerts, {len(CHANNELS)} channels, {outage.total_seconds() / 60:.0f} min of 503s"
    result.row(
        PREFIX,
        f"write attempts per channel per 30 s during the outage ({what})",
        f"≤ ~1 (≤ {TARGET_WRITES_PER_30S:.1f}: one per RETRY_CAP {policy.RETRY_CAP.total_seconds():.0f} s, "
        f"after the first {RAMP.total_seconds():.0f} s)",
        f"{max(writes_per_30s, default=float('nan')):.2f} (30 s / mean gap, worst of {len(writes_per_30s)} "
        f"channels); most in any 30 s {max(worst_window)}; "
        f"{max(ramp_writes)} in the first {RAMP.total_seconds():.0f} s of a channel's trouble",
        len(writes_per_30s) == len(CHANNELS) and max(writes_per_30s) <= TARGET_WRITES_PER_30S,
    )
    worst = max(first_post)
    result.row(
        PREFIX,
        "Slack answering again → each channel's first held post",
        f"≤ {TARGET_FIRST_POST.seconds} s",
        f"{worst:.1f} s worst, {statistics.median(first_post):.1f} s median",
        worst <= TARGET_FIRST_POST.total_seconds(),
    )
    result.row(
        PREFIX,
        "posts per channel after that (most in any 1 s; mean over the drain)",
        f"≤ {TARGET_POSTS_PER_SECOND:.0f} post/s per channel",
        f"{max(posts_max_1s)} in 1 s; {max(drain_rate, default=0):.2f}/s mean",
        max(posts_max_1s) <= TARGET_POSTS_PER_SECOND and bool(drain_rate),
    )
    result.row(
        PREFIX,
        "lost / doubled / threads out of order",
        "0 / 0 / 0",
        f"{lost} / {doubled} / {disordered}",
        lost == 0 and doubled == 0 and disordered == 0 and total == failures,
    )
    result.notes.append(
        "On the simulator's clock (seconds are simulated); write attempts are chat.postMessage and chat.update. "
        "Rate counting is off (no rate alerts)."
    )
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
