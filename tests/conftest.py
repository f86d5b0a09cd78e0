"""Shared fixtures; each area keeps its own in a plugin module."""

pytest_plugins = [
    "tests.fixtures_pipecat",
    "tests.fixtures_slack",
    "tests.fixtures_app",
    "tests.fixtures_store",
]
