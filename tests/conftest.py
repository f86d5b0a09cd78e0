"""Shared fixtures; each area keeps its own in a plugin module."""

from __future__ import annotations

import pytest

from tests.outside_reads import OutsideReads
from tests.paths import ROOT

pytest_plugins = [
    "tests.fixtures_pipecat",
    "tests.fixtures_slack",
    "tests.fixtures_app",
    "tests.fixtures_store",
    "tests.fixtures_pagerduty",
]

#: Every open() of the run is checked: nothing beside the checkout may be read (tests/outside_reads.py).
OUTSIDE_READS = OutsideReads(ROOT)
OUTSIDE_READS.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OUTSIDE_READS.found:
        listed = "\n  ".join(sorted(OUTSIDE_READS.found))
        print(f"\nthe suite read files outside the repository (copy them into tests/):\n  {listed}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
