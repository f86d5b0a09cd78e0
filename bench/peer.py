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
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import APP_ENV_VARS, PIPECAT_KEY, REPO, RealTimeClock, Result, run_main
from bench.pcc import PCC_REQUIREMENT, ensure_pcc_python
from bot.sandbox.pipecat_sim import PipecatSimulator
from bot.sandbox.server import serve

NAME = "peer"
AGENT = "voice-bot"
ORG = "bench-org"
RUNS = 12
CLI_CODE = "from pipecatcloud.cli.entry_point import entrypoint_cli_typer as c; c()"


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str]
    times: list[float] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)
    failure_output: str | None = None
    found_session: bool = True


async def run_once(tool: Tool, sim: PipecatSimulator, session_id: str, *, record: bool) -> None:
    before = len(sim.requests)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *tool.argv, env=tool.env, cwd=tempfile.gettempdir(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    elapsed = time.perf_counter() - started
    code = process.returncode if process.returncode is not None else -1
    if not record:
        return
    tool.times.append(elapsed)
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
    result = Result(NAME, params={"runs_each": runs, "interleaved": True, "warmup_runs_each": 1,
                                  "pipecat_latency_s": 0.0, "cli": PCC_REQUIREMENT, "cli_python": str(pcc_python)})
    sim = PipecatSimulator(api_key=PIPECAT_KEY, org=ORG, clock=RealTimeClock())
    sim.add_agent(AGENT)
    session_id = sim.add_session(AGENT, "HTTP_ERROR")
    missing_config = Path(tempfile.mkdtemp(prefix="pcc-bench-")) / "does-not-exist.toml"
    async with serve(sim.app) as url:
        env = base_env()
        cli = Tool("pcc CLI", [str(pcc_python), "-c", CLI_CODE, "agent", "sessions", AGENT, "--id", session_id], {
            **env, "PIPECAT_TOKEN": PIPECAT_KEY, "PIPECAT_ORG": ORG, "PIPECAT_API_HOST": url,
            "PIPECAT_CONFIG_PATH": str(missing_config),
        })
        ours = Tool("python -m bot lookup", [sys.executable, "-m", "bot", "lookup", AGENT, session_id], {
            **env, "PIPECAT_API_KEY": PIPECAT_KEY, "PIPECAT_API_URL": f"{url}/v1",
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        })
        bare = Tool("python -c pass", [sys.executable, "-c", "pass"], env)
        for tool in (cli, ours, bare):
            await run_once(tool, sim, session_id, record=False)
        for _ in range(runs):
            for tool in (cli, ours, bare):
                await run_once(tool, sim, session_id, record=True)
    bare.found_session = True  # prints nothing by design
    cli_s, ours_s, bare_s = summary(cli), summary(ours), summary(bare)
    ratio = statistics.median(cli.times) / statistics.median(ours.times)
    cli_ok = cli.exit_codes.count(0) == len(cli.exit_codes) and cli.found_session
    ours_ok = ours.exit_codes.count(0) == len(ours.exit_codes) and ours.found_session
    result.metrics.update(cli=cli_s, ours=ours_s, interpreter=bare_s, ratio_cli_over_ours=round(ratio, 2))
    result.row("7 peer comparison", f"pcc agent sessions --id: median wall ({runs} runs)", "-",
               f"{cli_s['median_s']:.3f} s" + ("" if cli_ok else f" (exit {cli_s['exit_codes']})"), None)
    result.row("7 peer comparison", f"python -m bot lookup: median wall ({runs} runs)", "-",
               f"{ours_s['median_s']:.3f} s" + ("" if ours_ok else f" (exit {ours_s['exit_codes']})"), None)
    result.row("7 peer comparison", "wall-time ratio pcc / ours (medians)", "report side by side",
               f"{ratio:.2f}x", cli_ok and ours_ok)
    result.row("7 peer comparison", "python -c pass (interpreter start, in both)", "-",
               f"{bare_s['median_s']:.3f} s", None)
    if not cli_ok:
        result.notes.append(f"pcc CLI did not succeed every run: exit codes {cli_s['exit_codes']}, "
                            f"paths {cli_s['pipecat_requests']}")
    if not ours_ok:
        result.notes.append(f"python -m bot lookup did not succeed every run: exit codes {ours_s['exit_codes']}")
    result.notes.append(f"Pipecat paths requested: pcc {cli_s['pipecat_requests']}; "
                        f"ours {ours_s['pipecat_requests']}")
    return result


def main() -> None:
    run_main(NAME, measure, __doc__ or NAME)


if __name__ == "__main__":
    main()
