"""The official Pipecat Cloud CLI (`pipecatcloud`), installed in a venv of its own for benchmark 7.

Not in the app's venv on purpose: the CLI brings `rich`, and httpx imports `rich` eagerly when it
is importable (httpx/__init__.py → httpx/_main.py), which would add ~60–100 ms and ~4 MB to every
`python -m bot` start and so skew the very numbers the benchmarks measure. The venv is created
once and reused (`BENCH_PCC_PYTHON` names another interpreter that has the package instead).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The CLI release benchmarked (the newest on PyPI when the benchmark was written).
PCC_REQUIREMENT = "pipecatcloud==1.4.0"


def venv_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pipecat-ops-bench" / "pcc-venv"


def has_cli(python: Path) -> bool:
    check = [str(python), "-c", "import pipecatcloud.cli.entry_point"]
    return python.exists() and subprocess.run(check, capture_output=True).returncode == 0


def ensure_pcc_python() -> Path:
    """An interpreter that can run the CLI, creating the cached venv on first use."""
    override = os.environ.get("BENCH_PCC_PYTHON")
    if override:
        return Path(override)
    root = venv_dir()
    python = root / "bin" / "python"
    if has_cli(python):
        return python
    print(f"  installing {PCC_REQUIREMENT} into {root} (once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", PCC_REQUIREMENT], check=True)
    return python


if __name__ == "__main__":
    print(ensure_pcc_python())
