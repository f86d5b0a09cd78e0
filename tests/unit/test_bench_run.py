"""`bench/run` on a fresh checkout (no `bench` extra installed) says in one line how to get it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def test_bench_run_without_the_bench_extra_says_how_in_one_line(tmp_path: Path) -> None:
    # `-S`: no site-packages, so psutil cannot be imported, as on a fresh checkout.
    bare = tmp_path / "python-without-extras"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    result = subprocess.run(
        [str(ROOT / "bench" / "run"), "--quick"],
        env={**os.environ, "PYTHON": str(bare)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e '.[dev,bench]'" in lines[0], result.stderr
