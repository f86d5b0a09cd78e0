"""Where the shared fixtures live: ../shared/fixtures beside the checkout (CI lays it there)."""

from __future__ import annotations

import os
from pathlib import Path


def fixture_dir() -> Path:
    override = os.environ.get("PIPECAT_OPS_FIXTURES")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "fixtures"
