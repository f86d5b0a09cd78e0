"""Benchmark 7: peer comparison with the official Pipecat Cloud CLI.

One session's detail, each tool as a whole process against the simulator (no latency), runs
interleaved so drift hits both alike, after one untimed warm-up run each (bytecode caches):
- `pcc agent sessions <agent> --id <id>`, the `pipecatcloud` package's CLI run directly as
  `python -c "from pipecatcloud.cli.entry_point import entrypoint_cli_typer as c; c()" ...`
  with PIPECAT_TOKEN, PIPECAT_ORG, PIPECAT_API_HOST and a PIPECAT_CONFIG_PATH that does not exist,
  from its own venv (bench/pcc.py says why);
- `python -m bot lookup <agent> <id>` with PIPECAT_API_KEY and PIPECAT_API_URL.
Exit codes, the Pipecat paths each requested and the tail of a failing run's output are recorded,
so a CLI that breaks (a path the simulator lacks) shows up as such instead of as a fast run. A bare
`python -c pass` gives the interpreter's own start-up, common to both.

Target (issue 15): ours at most 0.3x the CLI's wall time, medians of the interleaved runs. Where
the time goes is split with two more processes in the same rotation, each only importing what its
tool's run imports: import time = imports-only median - `python -c pass` median; the rest of a run
(settings, the request, reading and printing the answer) = run median - imports-only median, both
in CPU seconds (the kernel's accounting of each reaped child: on a loaded machine differences of
wall medians are noise) and, for reference, in wall seconds. One
`python -X importtime -m bot lookup` run lists the heavy libraries the lookup still loads (none is
the point: pydantic, httpx, asyncio, slack_sdk, tenacity each cost it tens of ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import APP_ENV_VARS, PIPECAT_KEY, REPO, RealTimeClock, Result, run_main
from bench.pcc import PCC_REQUIREMENT, ensure_pcc_python
from bot.pipecat.oneshot import get_session_payload
from bot.pipecat.plain import read_session
from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.server import serve

NAME = "peer"
AGENT = "voice-bot"
ORG = "bench-org"
RUNS = 12
CLI_CODE = "from pipecatcloud.cli.entry_point import entrypoint_cli_typer as c; c()"
CLI_IMPORTS = "from pipecatcloud.cli.entry_point import entrypoint_cli_typer"
#: What `python -m bot lookup` imports on its plain path (bot/__main__.py's run_lookup).
LOOKUP_IMPORTS = (
    "import bot.__main__, bot.config_plain, bot.pipecat.errors, bot.pipecat.facts, bot.pipecat.oneshot, "
    "bot.pipecat.plain, bot.terminal"
)
HEAVY = ("pydantic", "pydantic_settings", "httpx", "httpcore", "anyio", "asyncio", "slack_sdk", "tenacity")
TARGET_RATIO = 0.3


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str]
    times: list[float] = field(default_factory=list)
    #: CPU seconds (user + sys) of each run, from the kernel's accounting of the reaped child.
    cpu: list[float] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)
    failure_output: str | None = None
    found_session: bool = True


async def run_once(tool: Tool, sim: PipecatSimulator, session_id: str, *, record: bool) -> None:
    before = len(sim.requests)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *tool.argv,
        env=tool.env,
        cwd=tempfile.gettempdir(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    await process.wait()
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = process.returncode if process.returncode is not None else -1
    if not record:
        return
    tool.times.append(elapsed)
    tool.cpu.append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)
    tool.exit_codes.append(code)
    tool.paths |= {f"{q.method} {q.path}" for q in sim.requests[before:]}
    text = output.decode(errors="replace")
    if session_id not in text:
        tool.found_session = False
    if code != 0 and tool.failure_output is None:
        tool.failure_output = text[-2000:]


def base_env() -> dict[str, str]:
    strip = set(APP_ENV_VARS) | {"PIPECAT_TOKEN", "PIPECAT_ORG", "PIPECAT_API_HOST", "PIPECAT_CONFIG_PATH"}
    return {k: v for k, v in os.environ.items() if k not in strip}


async def request_times(api_url: str, session_id: str, count: int) -> list[float]:
    """The lookup's request alone, in this process (a thread, as the simulator serves on this
    loop): connect, GET, read, decode and the plain reading, as `python -m bot lookup` makes it."""

    def one() -> float:
        started = time.perf_counter()
        read_session(get_session_payload(api_url, PIPECAT_KEY, AGENT, session_id))
        return time.perf_counter() - started

    return [await asyncio.to_thread(one) for _ in range(count)]


async def heavy_modules(argv: list[str], env: dict[str, str]) -> list[str]:
    """The HEAVY top-level packages one `-X importtime` run of the lookup imports."""
    process = await asyncio.create_subprocess_exec(
        argv[0],
        "-X",
        "importtime",
        *argv[1:],
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in err.decode().splitlines() if "|" in line}
    return sorted(loaded & set(HEAVY))


def summary(tool: Tool) -> dict[str, object]:
    return {
        "runs": len(tool.times),
        "median_s": round(statistics.median(tool.times), 3),
        "mean_s": round(statistics.fmean(tool.times), 3),
        "min_s": round(min(tool.times), 3),
        "max_s": round(max(tool.times), 3),
        "exit_codes": sorted(set(tool.exit_codes)),
        "found_session_in_output": tool.found_session,
        "pipecat_requests": sorted(tool.paths),
        "failure_output": tool.failure_output,
    }


async def measure(args: argparse.Namespace) -> Result:
    runs = 3 if args.quick else RUNS
    pcc_python = ensure_pcc_python()
    result = Result(
        NAME,
        params={
            "runs_each": runs,
            "interleaved": True,
            "warmup_runs_each": 1,
            "pipecat_latency_s": 0.0,
            "cli": PCC_REQUIREMENT,
            "cli_python": str(pcc_python),
        },
    )
    sim = PipecatSimulator(api_key=PIPECAT_KEY, org=ORG, clock=RealTimeClock())
    sim.add_agent(AGENT)
    session_id = sim.add_session(AGENT, "HTTP_ERROR")
    missing_config = Path(tempfile.mkdtemp(prefix="pcc-bench-")) / "does-not-exist.toml"
    async with serve(sim.app) as url:
        env = base_env()
        cli = Tool(
            "pcc CLI",
            [str(pcc_python), "-c", CLI_CODE, "agent", "sessions", AGENT, "--id", session_id],
            {
                **env,
                "PIPECAT_TOKEN": PIPECAT_KEY,
                "PIPECAT_ORG": ORG,
                "PIPECAT_API_HOST": url,
                "PIPECAT_CONFIG_PATH": str(missing_config),
            },
        )
        ours = Tool(
            "python -m bot lookup",
            [sys.executable, "-m", "bot", "lookup", AGENT, session_id],
            {
                **env,
                "PIPECAT_API_KEY": PIPECAT_KEY,
                "PIPECAT_API_URL": f"{url}/v1",
                "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
            },
        )
        bare = Tool("python -c pass", [sys.executable, "-c", "pass"], env)
        ours_imports = Tool("lookup imports only", [sys.executable, "-c", LOOKUP_IMPORTS], ours.env)
        cli_imports = Tool("pcc imports only", [str(pcc_python), "-c", CLI_IMPORTS], cli.env)
        rotation = (cli, ours, bare, ours_imports, cli_imports)
        for tool in rotation:
            await run_once(tool, sim, session_id, record=False)
        for _ in range(runs):
            for tool in rotation:
                await run_once(tool, sim, session_id, record=True)
        heavy = await heavy_modules(ours.argv, ours.env)
        request_s = await request_times(f"{url}/v1", session_id, runs * 2)
    for silent in (bare, ours_imports, cli_imports):
        silent.found_session = True  # prints nothing by design
    cli_s, ours_s, bare_s = summary(cli), summary(ours), summary(bare)
    med = {tool.name: statistics.median(tool.times) for tool in rotation}
    cpu = {tool.name: statistics.median(tool.cpu) for tool in rotation}
    ratio, cpu_ratio = med[ours.name] / med[cli.name], cpu[ours.name] / cpu[cli.name]
    ours_import, ours_rest = cpu[ours_imports.name] - cpu[bare.name], cpu[ours.name] - cpu[ours_imports.name]
    cli_import, cli_rest = cpu[cli_imports.name] - cpu[bare.name], cpu[cli.name] - cpu[cli_imports.name]
    wall_split = {
        "ours_import_s": round(med[ours_imports.name] - med[bare.name], 3),
        "ours_rest_s": round(med[ours.name] - med[ours_imports.name], 3),
        "cli_import_s": round(med[cli_imports.name] - med[bare.name], 3),
        "cli_rest_s": round(med[cli.name] - med[cli_imports.name], 3),
    }
    cli_ok = cli.exit_codes.count(0) == len(cli.exit_codes) and cli.found_session
    ours_ok = ours.exit_codes.count(0) == len(ours.exit_codes) and ours.found_session
    imports_ok = all(set(t.exit_codes) == {0} for t in (ours_imports, cli_imports))
    result.metrics.update(
        cli=cli_s,
        ours=ours_s,
        interpreter=bare_s,
        ours_imports_only=summary(ours_imports),
        cli_imports_only=summary(cli_imports),
        ratio_ours_over_cli=round(ratio, 3),
        cpu_ratio_ours_over_cli=round(cpu_ratio, 3),
        cpu_median_s={k: round(v, 4) for k, v in cpu.items()},
        ours_import_cpu_s=round(ours_import, 4),
        ours_rest_cpu_s=round(ours_rest, 4),
        cli_import_cpu_s=round(cli_import, 4),
        cli_rest_cpu_s=round(cli_rest, 4),
        wall_split=wall_split,
        heavy_modules_in_lookup=heavy,
        request_in_process_median_s=round(statistics.median(request_s), 4),
    )
    result.row(
        "7 peer comparison",
        f"pcc agent sessions --id: median wall ({runs} runs)",
        "-",
        f"{cli_s['median_s']:.3f} s" + ("" if cli_ok else f" (exit {cli_s['exit_codes']})"),
        None,
    )
    result.row(
        "7 peer comparison",
        f"python -m bot lookup: median wall ({runs} runs)",
        "-",
        f"{ours_s['median_s']:.3f} s" + ("" if ours_ok else f" (exit {ours_s['exit_codes']})"),
        None,
    )
    result.row(
        "7 peer comparison",
        "wall-time ratio ours / pcc (medians)",
        f"≤ {TARGET_RATIO}x",
        f"{ratio:.2f}x",
        cli_ok and ours_ok and ratio <= TARGET_RATIO,
    )
    result.row("7 peer comparison", "CPU ratio ours / pcc (medians)", "-", f"{cpu_ratio:.2f}x", None)
    result.row(
        "7 peer comparison",
        "lookup CPU: imports / the rest (settings, request, print)",
        "-",
        f"{ours_import * 1000:.0f} ms / {ours_rest * 1000:.0f} ms",
        None,
    )
    result.row(
        "7 peer comparison",
        f"lookup request alone, in-process median ({len(request_s)})",
        "-",
        f"{statistics.median(request_s) * 1000:.1f} ms",
        None,
    )
    result.row(
        "7 peer comparison",
        "pcc CPU: imports / the rest",
        "-",
        f"{cli_import * 1000:.0f} ms / {cli_rest * 1000:.0f} ms",
        None,
    )
    result.row(
        "7 peer comparison",
        "heavy libraries the lookup loads (pydantic, httpx, asyncio, slack_sdk…)",
        "none",
        ", ".join(heavy) or "none",
        not heavy,
    )
    result.row(
        "7 peer comparison", "python -c pass (interpreter start, in both)", "-", f"{bare_s['median_s']:.3f} s", None
    )
    if not imports_ok:
        result.notes.append("an imports-only run failed: the import/rest split is not meaningful")
    if not cli_ok:
        result.notes.append(
            f"pcc CLI did not succeed every run: exit codes {cli_s['exit_codes']}, paths {cli_s['pipecat_requests']}"
        )
    if not ours_ok:
        result.notes.append(f"python -m bot lookup did not succeed every run: exit codes {ours_s['exit_codes']}")
    result.notes.append(f"Pipecat paths requested: pcc {cli_s['pipecat_requests']}; ours {ours_s['pipecat_requests']}")
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
