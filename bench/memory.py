"""Benchmark 6: memory.

RSS (and USS, the memory only this process holds) of `python -m bot` in HTTP mode, idle: started,
answering /healthz, its first (empty) alert cycle done, nothing else asked of it. Also which heavy
libraries it has loaded by then (their compiled modules in /proc/<pid>/maps), since anything
imported at start is paid by every replica. The "after benchmark 3" figure comes from
bench/results/poll.json (the poll benchmark measures its own app at the end).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bench.common import Result, add_app_facts, rig, run_main

NAME = "memory"
TARGET_IDLE_MB = 120.0
SETTLE_SECONDS = 5.0
#: Libraries with compiled modules, worth knowing about when loaded at idle (pure-Python ones do not
#: show in the maps file).
HEAVY = (
    "numpy",
    "matplotlib",
    "PIL",
    "kiwisolver",
    "psycopg_binary",
    "pydantic_core",
    "aiohttp",
    "sqlalchemy",
    "greenlet",
    "yaml",
    "_sqlite3",
)


def loaded_libraries(pid: int) -> list[str]:
    """Names from HEAVY whose files the process has mapped (compiled extensions show up there)."""
    maps = Path(f"/proc/{pid}/maps").read_text(errors="replace")
    return sorted(name for name in HEAVY if f"/{name}/" in maps or f"/{name}." in maps or f"/{name}-" in maps)


async def measure(args: argparse.Namespace) -> Result:
    result = Result(NAME, params={"settle_seconds": SETTLE_SECONDS, "poll_interval_s": 60})
    async with rig(poll_interval=60) as r:
        await asyncio.sleep(SETTLE_SECONDS)
        info = r.app.ps.memory_full_info()
        rss, uss = info.rss / 2**20, info.uss / 2**20
        libraries = loaded_libraries(r.app.ps.pid)
        add_app_facts(result, r.app)
    result.metrics.update(idle_rss_mb=round(rss, 1), idle_uss_mb=round(uss, 1), idle_loaded=libraries)
    result.row("6 memory", "RSS idle after start", "< 120 MB", f"{rss:.1f} MB", rss < TARGET_IDLE_MB)
    eager = [name for name in ("numpy", "matplotlib", "PIL") if name in libraries]
    result.row(
        "6 memory",
        "chart libraries loaded at idle (matplotlib, numpy, PIL)",
        "none",
        ", ".join(eager) or "none",
        not eager,
    )
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
