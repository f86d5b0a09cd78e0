"""Benchmark 4: detection latency.

From the moment a session ends with HTTP_ERROR in the simulator to the moment the stand-in receives
the app's chat.postMessage about it. POLL_INTERVAL is 2 s, so the expected worst case is about one
interval (the failure lands just after a poll) plus one cycle and one post. Each sample fails a
different watched agent, watched in a channel of its own (a new incident, so the post is its parent,
never a batched reply, and no wait behind the 1 post/s spacing of an earlier sample's channel), and
the samples are spaced by a random pause so they fall at every phase of the poll schedule. Two kinds
alternate: a long session that was already running when the agent was watched (detected by the
active-set diff and a detail fetch) and a short one created and ended between two polls
(detected in the `status=all` list).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta

from bench.common import Result, Rig, add_app_facts, percentile, rig, run_main

NAME = "detect"
POLL_INTERVAL = 2.0
PIPECAT_LATENCY = 0.050
SAMPLES = 20
TARGET_P95 = POLL_INTERVAL + 2.0


def posts_about(r: Rig, session_id: str) -> list[float]:
    """Stand-in receive times (monotonic) of accepted chat.postMessage calls naming the session."""
    return [c.at for c in r.standin.calls_to("chat.postMessage") if c.ok and session_id in json.dumps(c.args)]


async def measure(args: argparse.Namespace) -> Result:
    samples = 6 if args.quick else SAMPLES
    rng = random.Random(4)
    result = Result(
        NAME,
        params={
            "poll_interval_s": POLL_INTERVAL,
            "pipecat_latency_s": PIPECAT_LATENCY,
            "samples": samples,
        },
    )
    agents = [f"det-{i:02d}" for i in range(samples)]
    channels = {agent: f"C0DET{i:04d}" for i, agent in enumerate(agents)}
    latencies: list[tuple[str, float]] = []
    missed: list[str] = []
    async with rig(poll_interval=POLL_INTERVAL, channels=list(channels.values())) as r:
        long_running: dict[str, str] = {}
        for i, agent in enumerate(agents):
            r.sim.add_agent(agent)
            if i % 2 == 0:  # running since well before the poll overlap: only the diff can see it end
                started = datetime.now(UTC) - timedelta(minutes=10)
                long_running[agent] = r.sim.start_session(agent, created_at=started)
        r.sim.latency = PIPECAT_LATENCY
        failures = 0
        for agent, channel in channels.items():
            failures += await r.watch_all([agent], channel_id=channel)
        await asyncio.sleep(POLL_INTERVAL * 1.5)  # every agent polled at least once
        for agent in agents:
            await asyncio.sleep(rng.uniform(0, POLL_INTERVAL))
            if agent in long_running:
                session_id, kind = long_running[agent], "long (active-set diff)"
                ended_at = time.monotonic()
                r.sim.end_session(agent, session_id, "HTTP_ERROR")
            else:
                kind = "short (status=all list)"
                ended_at = time.monotonic()
                session_id = r.sim.add_session(agent, "HTTP_ERROR", duration_seconds=1)

            def posted(sid: str = session_id) -> bool:
                return bool(posts_about(r, sid))

            try:
                await r.standin.wait_until(posted, within=TARGET_P95 * 5)
            except TimeoutError:
                missed.append(agent)
                continue
            latencies.append((kind, posts_about(r, session_id)[0] - ended_at))
        add_app_facts(result, r.app)
        result.metrics["watch_failures"] = failures
    values = [t for _, t in latencies]
    by_kind = {
        kind: round(percentile([t for k, t in latencies if k == kind], 95), 3) for kind in {k for k, _ in latencies}
    }
    p50, p95 = percentile(values, 50), percentile(values, 95)
    result.metrics.update(
        samples=len(values),
        missed=missed,
        p50_s=round(p50, 3),
        p95_s=round(p95, 3),
        max_s=round(max(values), 3),
        p95_by_kind_s=by_kind,
        latencies_s=[round(t, 3) for t in values],
    )
    result.row(
        "4 detection latency",
        f"p50 session end → alert post (poll every {POLL_INTERVAL:.0f} s)",
        "-",
        f"{p50:.2f} s",
        None,
    )
    result.row(
        "4 detection latency",
        f"p95 of the same ({len(values)} samples, {len(missed)} missed)",
        f"≤ {TARGET_P95:.0f} s (interval + 2 s)",
        f"{p95:.2f} s",
        p95 <= TARGET_P95 and not missed,
    )
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
