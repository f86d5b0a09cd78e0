"""Benchmark 1: ack latency under load.

Bursts of 50 concurrent signed `/session voice-bot <id>` commands while every Pipecat answer takes
2 s: the time from sending each request to its HTTP 200 (what Slack's 3 s limit applies to). All
the answers (response_url posts) of a burst are awaited before the next burst, so bursts do not
overlap; their completion time is reported too (bounded by the 2 s latency and the app's Pipecat
connection pool). The same bursts against a trivial uvicorn app in a subprocess give the rig's
floor (connection set-up, the load generator, uvicorn itself).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

from bench.common import (
    Result,
    Rig,
    add_app_facts,
    free_port,
    ms,
    percentile,
    raw_post,
    rig,
    run_main,
)
from sandbox.signing import slash_command_body

NAME = "ack"
AGENT = "voice-bot"
CONCURRENCY = 50
PIPECAT_LATENCY = 2.0
TARGET_P99 = 0.100
#: Issue 24: the app's ack p99 within this multiple of a trivial app's on the same rig, and its CPU per command.
MAX_FLOOR_MULTIPLE = 2.0
TARGET_CPU_PER_COMMAND = 0.003
TRIVIAL_APP = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


async def timed_burst(url: str, requests: list[tuple[str, dict[str, str]]]) -> tuple[list[float], list[int]]:
    async def one(body: str, headers: dict[str, str]) -> tuple[float, int]:
        started = time.perf_counter()
        status, _ = await raw_post(url, "/slack/events", body, headers)
        return time.perf_counter() - started, status

    outcomes = await asyncio.gather(*(one(body, headers) for body, headers in requests))
    return [t for t, _ in outcomes], [s for _, s in outcomes]


async def burst(r: Rig, session_id: str) -> tuple[list[float], list[int], float]:
    """One burst: ack times, statuses, and seconds until every response_url post arrived."""
    prepared = [r.command_body(f"{AGENT} {session_id}") for _ in range(CONCURRENCY)]
    requests = [(body, r.signed_headers(body)) for body, _ in prepared]
    started = time.perf_counter()
    times, statuses = await timed_burst(r.app.url, requests)
    keys = [key for _, key in prepared]
    await r.standin.wait_until(lambda: all(r.standin.posts_to_response(k) for k in keys), within=60)
    return times, statuses, time.perf_counter() - started


async def rig_floor(bursts: int) -> list[float]:
    """The same bursts against an ASGI app that only answers 200 (uvicorn, own process)."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", TRIVIAL_APP, str(port))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                await raw_post(url, "/", "", {})
                break
            await asyncio.sleep(0.05)
        times: list[float] = []
        for _ in range(bursts):
            body = slash_command_body("voice-bot x", response_url="http://127.0.0.1:9/r")
            burst_times, _ = await timed_burst(url, [(body, {"X-A": "b"})] * CONCURRENCY)
            times += burst_times
            await asyncio.sleep(0.2)
        return times
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)


async def measure(args: argparse.Namespace) -> Result:
    bursts = 1 if args.quick else 20
    result = Result(
        NAME,
        params={
            "concurrency": CONCURRENCY,
            "bursts": bursts,
            "pipecat_latency_s": PIPECAT_LATENCY,
            "client": "minimal HTTP/1.1 client, a new connection per request (bench.common.raw_post)",
        },
    )
    async with rig() as r:
        r.sim.add_agent(AGENT)
        session_id = r.sim.add_session(AGENT, "HTTP_ERROR")
        # Warm-up: the first command imports the lazily loaded parts (reported, not counted).
        started = time.perf_counter()
        key, _ = await r.command(f"{AGENT} {session_id}")
        result.metrics["first_command_ack_ms"] = round((time.perf_counter() - started) * 1000, 1)
        await r.responses(key)
        r.sim.latency = PIPECAT_LATENCY
        acks: list[float] = []
        statuses: list[int] = []
        completions: list[float] = []
        per_burst: list[float] = []
        cpu_before = r.app.cpu_seconds()
        for _ in range(bursts):
            times, codes, done = await burst(r, session_id)
            acks += times
            statuses += codes
            per_burst.append(round(percentile(times, 99) * 1000, 1))
            completions.append(done)
        cpu = r.app.cpu_seconds() - cpu_before
        add_app_facts(result, r.app)
        result.metrics["app_rss_mb_after"] = round(r.app.rss_mb(), 1)
    floor = await rig_floor(bursts)
    p50, p99 = percentile(acks, 50), percentile(acks, 99)
    non_200 = sum(s != 200 for s in statuses)
    result.metrics.update(
        samples=len(acks),
        ack_p50_ms=round(p50 * 1000, 2),
        ack_p99_ms=round(p99 * 1000, 2),
        ack_max_ms=round(max(acks) * 1000, 2),
        non_200=non_200,
        app_cpu_ms_per_command=round(cpu / len(acks) * 1000, 2),
        burst_p99_ms=per_burst,
        burst_all_answered_s=[round(c, 2) for c in completions],
        floor_p50_ms=round(percentile(floor, 50) * 1000, 2),
        floor_p99_ms=round(percentile(floor, 99) * 1000, 2),
    )
    result.row("1 ack latency", f"p50 time to HTTP 200 ({CONCURRENCY} concurrent, Pipecat 2 s)", "-", ms(p50), None)
    result.row(
        "1 ack latency",
        f"p99 time to HTTP 200 ({len(acks)} samples)",
        "< 100 ms",
        ms(p99),
        p99 < TARGET_P99 and non_200 == 0,
    )
    floor_p99 = percentile(floor, 99)
    result.row("1 ack latency", "rig floor: p99 of the same bursts to a trivial app", "-", ms(floor_p99), None)
    result.row(
        "1 ack latency",
        "p99 time to HTTP 200 against the rig floor",
        f"≤ {MAX_FLOOR_MULTIPLE:g}x the floor",
        f"{p99 / floor_p99:.1f}x",
        p99 <= MAX_FLOOR_MULTIPLE * floor_p99,
    )
    per_command = cpu / len(acks)
    result.row(
        "1 ack latency",
        "app CPU per command (ack + lookup + reply)",
        f"≤ {TARGET_CPU_PER_COMMAND * 1000:g} ms",
        f"{per_command * 1000:.2f} ms",
        per_command <= TARGET_CPU_PER_COMMAND,
    )
    result.row(
        "1 ack latency",
        "burst fully answered (all response_url posts)",
        "-",
        f"{max(completions):.2f} s (worst of {bursts})",
        None,
    )
    if non_200:
        result.notes.append(f"{non_200} command(s) were not answered with HTTP 200")
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
