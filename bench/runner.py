"""`bench/run`: every benchmark in its own process, one after the other, then one table."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import REPO, RESULTS, machine

#: Run order. poll runs before memory so the memory row can quote poll's "RSS after".
BENCHMARKS = [
    "ack",
    "lookup",
    "poll",
    "detect",
    "storm",
    "memory",
    "peer",
    "scale",
    "rates",
    "busy",
    "webhooks",
    "outage",
]
#: A benchmark still running after this long is stopped and reported as failed.
TIMEOUT_SECONDS = 240
#: ...except these: scale runs several phases of whole 15 s poll intervals; busy runs two simulated
#: hours of a busy agent (SQLite and PostgreSQL) and three shorter phases.
TIMEOUTS = {"scale": 600, "busy": 900}
LAST_RUN = REPO / "bench" / "LAST_RUN.md"
TABLE_START, TABLE_END = "<!-- table:start -->", "<!-- table:end -->"


def run_one(name: str, quick: bool) -> tuple[list[dict[str, Any]], float]:
    path = RESULTS / f"{name}.json"
    path.unlink(missing_ok=True)  # never report a stale result
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    started = time.perf_counter()
    try:
        code = subprocess.run(command, cwd=REPO, timeout=TIMEOUTS.get(name, TIMEOUT_SECONDS)).returncode
    except subprocess.TimeoutExpired:
        code = -1
    took = time.perf_counter() - started
    if code != 0 or not path.exists():
        why = "timed out" if code == -1 else f"exit {code}"
        return [{"benchmark": name, "metric": "(benchmark failed)", "target": "-", "measured": why, "met": False}], took
    rows: list[dict[str, Any]] = json.loads(path.read_text())["rows"]
    return rows, took


def memory_after_poll() -> dict[str, Any] | None:
    path = RESULTS / "poll.json"
    if not path.exists():
        return None
    rss = json.loads(path.read_text())["metrics"].get("rss_mb_after")
    if rss is None:
        return None
    return {
        "benchmark": "6 memory",
        "metric": "RSS after benchmark 3 (200 agents watched, polled)",
        "target": "-",
        "measured": f"{rss:.1f} MB",
        "met": None,
    }


def table(rows: list[dict[str, Any]]) -> str:
    def met(value: bool | None) -> str:
        return "–" if value is None else ("yes" if value else "**no**")

    lines = ["| benchmark | metric | target | measured | met? |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['benchmark']} | {r['metric']} | {r['target']} | {r['measured']} | {met(r['met'])} |")
    return "\n".join(lines)


def update_last_run(markdown: str, header: str) -> None:
    text = LAST_RUN.read_text() if LAST_RUN.exists() else f"# Last benchmark run\n\n{TABLE_START}\n{TABLE_END}\n"
    if TABLE_START not in text or TABLE_END not in text:
        text += f"\n{TABLE_START}\n{TABLE_END}\n"
    before, rest = text.split(TABLE_START, 1)
    _, after = rest.split(TABLE_END, 1)
    LAST_RUN.write_text(f"{before}{TABLE_START}\n{header}\n\n{markdown}\n{TABLE_END}{after}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples: a smoke run")
    parser.add_argument("--update-last-run", action="store_true", help="rewrite the table in bench/LAST_RUN.md")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if n in args.names] if args.names else BENCHMARKS
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    durations: dict[str, float] = {}
    for name in names:
        print(f"\n### bench.{name}", flush=True)
        got, took = run_one(name, args.quick)
        durations[name] = round(took, 1)
        rows += got
        if name == "memory" and (extra := memory_after_poll()):
            rows.append(extra)
    total = time.perf_counter() - started
    markdown = table(rows)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = machine()
    header = (
        f"Run {when}{' (--quick)' if args.quick else ''}: {len(names)} benchmark(s) in {total:.0f} s on "
        f"{facts['cpus']} CPUs, Python {facts['python']}, load average {os.getloadavg()[0]:.2f} at the end."
    )
    print(f"\n{header}\n\n{markdown}")
    summary = {
        "finished_at": when,
        "quick": args.quick,
        "seconds": round(total, 1),
        "durations_s": durations,
        "machine": facts,
        "rows": rows,
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.update_last_run:
        update_last_run(markdown, header)
        print(f"\nupdated {LAST_RUN.relative_to(REPO)}")
    # Missed targets are reported, not failed on; only a benchmark that could not run is an error.
    return 1 if any(r["metric"] == "(benchmark failed)" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
