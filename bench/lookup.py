"""Benchmark 2: lookup overhead.

200 signed `/session voice-bot <id>` commands, one at a time, each timed from sending the request to
the moment the stand-in receives the answer on the command's response_url; the simulator's
latency (added once per Pipecat request, and a lookup makes exactly one) is subtracted. What is
left is the app's own work: ack, parse, the Pipecat call's client side, render, and the
response_url post (a new connection each time, as slack_sdk's webhook client makes one per call).
"""

from __future__ import annotations

import argparse
import time

from bench.common import Result, add_app_facts, ms, percentile, rig, run_main

NAME = "lookup"
AGENT = "voice-bot"
LOOKUPS = 200
PIPECAT_LATENCY = 0.050
TARGET_P50 = 0.030


async def measure(args: argparse.Namespace) -> Result:
    lookups = 40 if args.quick else LOOKUPS
    result = Result(NAME, params={"lookups": lookups, "pipecat_latency_s": PIPECAT_LATENCY, "sequential": True})
    overheads: list[float] = []
    pipecat_calls: list[int] = []
    async with rig() as r:
        r.sim.add_agent(AGENT)
        session_ids = [r.sim.add_session(AGENT, "HTTP_ERROR") for _ in range(10)]
        key, _ = await r.command(f"{AGENT} {session_ids[0]}")  # warm-up, not counted
        await r.responses(key)
        r.sim.latency = PIPECAT_LATENCY
        cpu_before = r.app.cpu_seconds()
        for i in range(lookups):
            body, key = r.command_body(f"{AGENT} {session_ids[i % len(session_ids)]}")
            requests_before = len(r.sim.requests)
            started = time.monotonic()  # the stand-in stamps posts with time.monotonic()
            response = await r.post_signed(body)
            if response.status_code != 200:
                result.notes.append(f"lookup {i}: HTTP {response.status_code}")
                continue
            await r.responses(key)
            post = r.standin.posts_to_response(key)[0]
            calls = len(r.sim.requests) - requests_before
            pipecat_calls.append(calls)
            overheads.append(post.at - started - calls * PIPECAT_LATENCY)
        cpu = r.app.cpu_seconds() - cpu_before
        add_app_facts(result, r.app)
    p50, p99 = percentile(overheads, 50), percentile(overheads, 99)
    result.metrics.update(
        samples=len(overheads),
        overhead_p50_ms=round(p50 * 1000, 2),
        overhead_p99_ms=round(p99 * 1000, 2),
        overhead_max_ms=round(max(overheads) * 1000, 2),
        pipecat_requests_per_lookup=sorted(set(pipecat_calls)),
        app_cpu_ms_per_lookup=round(cpu / max(1, len(overheads)) * 1000, 2),
    )
    result.row(
        "2 lookup overhead",
        f"p50 command → response_url post − Pipecat latency ({len(overheads)})",
        "< 30 ms",
        ms(p50),
        p50 < TARGET_P50,
    )
    result.row("2 lookup overhead", "p99 of the same", "-", ms(p99), None)
    result.row("2 lookup overhead", "app CPU per lookup", "-", f"{cpu / max(1, len(overheads)) * 1000:.2f} ms", None)
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
