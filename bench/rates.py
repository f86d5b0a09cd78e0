"""Benchmark 9: rate alerts.

The detectors judge whole minutes, so this one runs in process on the simulator's clock (real time
would take many minutes per sample): the real alert pipeline (bot/wiring.py: poller, counts, detectors, outbox)
against the Pipecat simulator and the Slack stand-in served on loopback, an SQLite file, and the
simulator's traffic model (sandbox/pipecat/traffic.py). At 5 and 20 sessions a second:
  - the simulated time from a regression (2 % → 30 % failing) to the rate alert's post;
  - the simulated time from calls stopping to the silence alert's post;
  - the Pipecat requests per poll cycle, with the detectors and without them (counting and
    evaluation switched off: AlertSettings.count_rates): counting reads nothing more;
  - the CPU time (this process: app + stand-ins) of a poll cycle with and without counting and
    detectors, and their difference.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bench.common import Result, pipeline_settings, run_main
from bot.ops.events import NO_EVENTS
from bot.pipecat.client import PipecatClient, build_http_client
from bot.store import Store
from bot.wiring import build_alerts
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.pipecat.traffic import Traffic
from sandbox.server import serve
from sandbox.slack.standin import SlackStandIn

NAME = "rates"
AGENT = "call-center"
CHANNEL = "C0RATES01"
TOKEN = "xoxb-rates-bench"
RATES_PER_SECOND = (5, 20)
HISTORY_MINUTES = 10
MAX_MINUTES = 8
TARGET_REGRESSION = timedelta(minutes=2)
TARGET_SILENCE = timedelta(minutes=5)


class Bench:
    def __init__(self, per_second: int, workdir: Path, *, detectors: bool, found: dict[str, Any]) -> None:
        self.found = found
        self.clock = SimClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        self.sim = PipecatSimulator(clock=self.clock)
        self.sim.add_agent(AGENT)
        self.standin = SlackStandIn(bot_token=TOKEN)
        self.standin.add_channel(CHANNEL, "rates")
        self.traffic = Traffic(self.sim, AGENT, per_minute=per_second * 60, fail_share=0.02)
        self.db = f"sqlite:///{workdir / f'rates-{per_second}-{detectors}.db'}"
        self.detectors = detectors
        self.cycle_requests: list[int] = []
        self.cycle_cpu: list[float] = []

    async def run(self, body: Callable[[Bench], Awaitable[None]]) -> None:
        async with serve(self.sim.app) as sim_url, serve(self.standin.app) as slack_url:
            self.standin.base_url = slack_url
            http = build_http_client(f"{sim_url}/v1", "sim-key", timeout=httpx.Timeout(30.0))
            store = Store.from_url(self.db)
            await store.migrate()
            slack = AsyncWebClient(token=TOKEN, base_url=f"{slack_url}/api/")
            pipecat = PipecatClient(http, rng=random.Random(0), clock=self.clock)
            self.service = build_alerts(
                pipeline_settings(
                    poll_interval=60.0,
                    post_spacing=timedelta(0),
                    status_interval=0.0,
                    explain=False,
                    cause_wait_seconds=0.0,
                    count_rates=self.detectors,
                ),
                store=store,
                pipecat=pipecat,
                slack=slack,
                clock=self.clock,
                pagerduty=None,
                events=NO_EVENTS,
            )
            try:
                await self.service.commands.watch(CHANNEL, AGENT, None, None, "U1")
                await body(self)
            finally:
                await store.dispose()
                await http.aclose()

    async def minute(self) -> None:
        self.clock.advance(60)
        self.traffic.minute()
        before = len(self.sim.requests)
        cpu = time.process_time()
        await self.service.jobs.poll_once()
        self.cycle_cpu.append(time.process_time() - cpu)
        self.cycle_requests.append(len(self.sim.requests) - before)
        await self.service.jobs.deliver_once()

    def alerted(self, needle: str) -> bool:
        return any(needle in m.text for m in self.standin.messages_in(CHANNEL))

    async def time_to(self, needle: str) -> timedelta | None:
        start = self.clock.now()
        for _ in range(MAX_MINUTES):
            await self.minute()
            if self.alerted(needle):
                return self.clock.now() - start
        return None


async def regression(b: Bench) -> None:
    """History at 2 %, then 30 % until the rate alert, then a stop until the silence alert."""
    for _ in range(HISTORY_MINUTES):
        await b.minute()
    b.found["requests_with"] = sum(b.cycle_requests) / len(b.cycle_requests)
    b.found["cpu_with"] = sum(b.cycle_cpu) / len(b.cycle_cpu)
    b.traffic.fail_share = 0.30
    b.found["regression"] = await b.time_to("of calls failing")
    b.traffic.fail_share = 0.02
    b.traffic.per_minute = 0
    b.found["silence"] = await b.time_to("no calls started")


async def baseline(b: Bench) -> None:
    """The same history without counting or detectors."""
    for _ in range(HISTORY_MINUTES):
        await b.minute()
    b.found["requests_without"] = sum(b.cycle_requests) / len(b.cycle_requests)
    b.found["cpu_without"] = sum(b.cycle_cpu) / len(b.cycle_cpu)


async def measure(args: argparse.Namespace) -> Result:
    result = Result(NAME, params={"rates_per_second": RATES_PER_SECOND, "history_minutes": HISTORY_MINUTES})
    workdir = Path(tempfile.mkdtemp(prefix="pipecat-ops-rates-"))
    rates = RATES_PER_SECOND[:1] if args.quick else RATES_PER_SECOND
    for per_second in rates:
        found: dict[str, Any] = {}
        await Bench(per_second, workdir, detectors=True, found=found).run(regression)
        await Bench(per_second, workdir, detectors=False, found=found).run(baseline)
        label = f"{per_second}/s"
        for key, target in (("regression", TARGET_REGRESSION), ("silence", TARGET_SILENCE)):
            took = found[key]
            measured = "not told" if took is None else f"{took.total_seconds() / 60:.0f} min"
            what = "2% → 30% failing to the rate alert" if key == "regression" else "calls stop to the silence alert"
            result.row(
                f"9 rates {label}",
                what,
                f"≤ {target.total_seconds() / 60:.0f} min",
                measured,
                took is not None and took <= target,
            )
            result.metrics[f"{key}_seconds_{per_second}"] = None if took is None else took.total_seconds()
        result.row(
            f"9 rates {label}",
            "Pipecat requests per poll cycle, with / without detectors",
            "no more",
            f"{found['requests_with']:.1f} / {found['requests_without']:.1f}",
            found["requests_with"] <= found["requests_without"],
        )
        added = (found["cpu_with"] - found["cpu_without"]) * 1000
        result.row(
            f"9 rates {label}",
            "CPU per poll cycle, with / without (counting + detectors)",
            "-",
            f"{found['cpu_with'] * 1000:.0f} / {found['cpu_without'] * 1000:.0f} ms ({added:+.0f} ms)",
            None,
        )
        result.metrics[f"cpu_ms_with_{per_second}"] = round(found["cpu_with"] * 1000, 1)
        result.metrics[f"cpu_ms_without_{per_second}"] = round(found["cpu_without"] * 1000, 1)
    result.notes.append(
        "In process on the simulator's clock (times are simulated minutes, polls every 60 s); CPU is this "
        "process's (app, simulator and stand-in together), so the difference is what counting and detectors add."
    )
    return result


if __name__ == "__main__":
    run_main(NAME, measure, __doc__ or NAME)
