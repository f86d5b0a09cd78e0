"""Where the tests find what they read. Everything lives inside the repository (a clone with
nothing beside it must pass), so every path here is relative to the repository root."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures"
PIPECAT_FIXTURES = FIXTURES / "pipecat"
SLACK_FIXTURES = FIXTURES / "slack"
SNAPSHOTS = TESTS / "snapshots"
DOCS = ROOT / "docs"
