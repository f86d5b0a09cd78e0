"""Benchmark 11: Pipecat Cloud webhooks under load.

`python -m bot` (HTTP mode, PIPECAT_WEBHOOK_SECRET set) receives RATE signed deliveries a second
for SECONDS seconds: build and deployment events of a few agents (none watched: each is stored,
put on the timeline and dated, nothing is posted), signed the Standard Webhooks way by the
simulator's sender (sandbox/pipecat/webhooks.py). DUPLICATE_SHARE of them are delivered a
second time DUPLICATE_AFTER seconds later with the same webhook-id (a fresh timestamp and
signature, as a retry after a lost answer), on top of the RATE. Deliveries are sent on a fixed
schedule whatever the answers (an open loop), each over a fresh connection with bench.common's
minimal client. Measured:
  - the time from sending each delivery to its answer (p50, p99, max);
  - durable before the answer: right after the answer of every tenth first delivery, another
    connection to the app's SQLite database already finds the event;
  - none lost: every answered event is stored once; duplicates answered `duplicate` and not
    stored again (one row per webhook-id).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import time
from collections import Counter
from pathlib import Path

from bench.common import Result, add_app_facts, ms, percentile, raw_post, rig, run_main
from bot.webhooks.receive import ROUTE
from sandbox.pipecat.webhooks import Sent, SimWebhooks

NAME = "webhooks"
PREFIX = "11 webhooks"
RATE = 100
SECONDS = 10.0
DUPLICATE_SHARE = 0.10
DUPLICATE_AFTER = 1.0
#: Every n-th first delivery is looked up in the database right after its answer.
CHECK_EVERY = 10
AGENTS = [f"hook-agent-{i}" for i in range(5)]
TARGET_P99 = 0.050


def events(hooks: SimWebhooks, count: int, rng: random.Random) -> list[Sent]:
    """`count` messages: builds and the deployments they became, of AGENTS, in turn."""
    found = []
    for i in range(count):
        agent = AGENTS[i % len(AGENTS)]
        build = f"{rng.getrandbits(64):016x}"
        if i % 2 == 0:
            data = {
                "build_id": build,
                "region": "us-west-2",
                "status": "success",
                "repo_full_name": f"acme/{agent}",
                "commit_sha": f"{rng.getrandbits(160):040x}",
                "triggered_by": "github",
            }
            found.append(hooks.message("build.succeeded", data))
        else:
            data = {
                "deployment_id": f"dep-{build}",
                "service_id": f"svc-{agent}",
                "service_name": agent,
                "region": "us-west-2",
                "build_id": build,
            }
            found.append(hooks.message("deployment.updated", data))
    return found


def stored(db: Path, webhook_ids: list[str] | None = None) -> Counter[str]:
    """Rows per webhook-id in the app's database (a connection of our own)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        if webhook_ids is None:
            rows = conn.execute("SELECT webhook_id FROM webhook_events").fetchall()
        else:
            marks = ",".join("?" * len(webhook_ids))
            rows = conn.execute(
                f"SELECT webhook_id FROM webhook_events WHERE webhook_id IN ({marks})", webhook_ids
            ).fetchall()
    return Counter(r[0] for r in rows)


async def measure(args: argparse.Namespace) -> Result:
    seconds = 3.0 if args.quick else SECONDS
    count = int(RATE * seconds)
    result = Result(
        NAME,
        params={
            "rate_per_s": RATE,
            "seconds": seconds,
            "duplicate_share": DUPLICATE_SHARE,
            "duplicate_after_s": DUPLICATE_AFTER,
            "client": "bench.common.raw_post",
        },
    )
    rng = random.Random(0)
    hooks = SimWebhooks(org="bench-org", rng=rng)
    messages = events(hooks, count, rng)
    every = round(1 / DUPLICATE_SHARE)
    # (send at, which message, is a redelivery)
    plan = [(i / RATE, i, False) for i in range(count)]
    plan += [(i / RATE + DUPLICATE_AFTER, i, True) for i in range(0, count, every)]
    plan.sort()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    duplicates_answered = 0
    durable_checks: list[bool] = []
    first_acked: set[str] = set()

    async with rig(env_extra={"PIPECAT_WEBHOOK_SECRET": hooks.secret}) as r:
        db = r.workdir / "app.db"

        async def deliver(message: Sent, again: bool, check: bool) -> None:
            nonlocal duplicates_answered
            headers = hooks.headers(message)  # signed now: a retry is signed afresh
            started = time.perf_counter()
            status, answer = await raw_post(r.app.url, ROUTE, message.body.decode(), headers)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            body = answer.split(b"\r\n\r\n", 1)[-1]
            said_duplicate = status == 200 and json.loads(body or b"{}").get("duplicate") is True
            if again:
                duplicates_answered += said_duplicate
            elif status == 200:
                first_acked.add(message.webhook_id)
            if check and status == 200:
                found = await asyncio.to_thread(stored, db, [message.webhook_id])
                durable_checks.append(found[message.webhook_id] == 1)

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        cpu = r.app.cpu_seconds()
        tasks = []
        lag = 0.0  # how far the sender fell behind its schedule
        for at, i, again in plan:
            delay = start + at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = max(lag, -delay)
            check = not again and i % CHECK_EVERY == 0
            tasks.append(asyncio.ensure_future(deliver(messages[i], again, check)))
        await asyncio.gather(*tasks)
        took = loop.time() - start
        await asyncio.sleep(1.0)  # the effects after the answers
        cpu = r.app.cpu_seconds() - cpu
        rows = await asyncio.to_thread(stored, db)
        add_app_facts(result, r.app)

    sent_ids = {m.webhook_id for m in messages}
    lost = sorted(first_acked - set(rows))
    twice = sorted(k for k, n in rows.items() if n > 1)
    redelivered = len(plan) - len(messages)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    result.metrics.update(
        deliveries=len(plan),
        sent_seconds=round(took, 2),
        statuses={str(k): v for k, v in statuses.items()},
        p50_ms=round(p50 * 1000, 2),
        p99_ms=round(p99 * 1000, 2),
        max_ms=round(max(latencies) * 1000, 2),
        stored=len(rows),
        unknown_stored=len(set(rows) - sent_ids),
        lost=len(lost),
        stored_twice=len(twice),
        duplicates_answered=duplicates_answered,
        durable_checks=len(durable_checks),
        sender_max_lag_ms=round(lag * 1000, 1),
        app_cpu_s=round(cpu, 2),
    )
    what = f"{RATE}/s for {seconds:.0f} s + {DUPLICATE_SHARE:.0%} redelivered"
    result.row(
        PREFIX,
        f"p99 time to the answer ({what}; {len(plan)} deliveries)",
        f"< {TARGET_P99 * 1000:.0f} ms",
        f"{ms(p99)} (p50 {ms(p50)}, max {ms(max(latencies))})",
        p99 < TARGET_P99,
    )
    result.row(
        PREFIX, "answered 200", f"all {len(plan)}", f"{statuses[200]} ({dict(statuses)})", statuses[200] == len(plan)
    )
    result.row(
        PREFIX,
        "stored before the answer (every 10th looked up right after it)",
        "all",
        f"{sum(durable_checks)} of {len(durable_checks)}",
        bool(durable_checks) and all(durable_checks),
    )
    result.row(
        PREFIX,
        "events lost (answered 200, not stored)",
        "0",
        f"{len(lost)} of {len(first_acked)}",
        not lost and len(first_acked) == len(messages),
    )
    result.row(
        PREFIX,
        "redeliveries: answered `duplicate` / stored twice",
        f"{redelivered} / 0",
        f"{duplicates_answered} / {len(twice)}",
        duplicates_answered == redelivered and not twice,
    )
    result.row(
        PREFIX,
        "app CPU per delivery (answer + effects); the sender's worst lag behind its schedule",
        "-",
        f"{cpu / len(plan) * 1000:.2f} ms; {lag * 1000:.0f} ms",
        None,
    )
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
