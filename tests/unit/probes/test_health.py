"""The /healthz decision (bot.probes.health.assess) as a table: what makes the app unhealthy, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.contracts.views import AgentPoll
from bot.probes.health import assess
from bot.store.ops import OpsSnapshot

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
INTERVAL = 60.0


def snapshot(watches: int, *ages: float | None) -> OpsSnapshot:
    polls = tuple(
        AgentPoll(f"agent-{i}", None if age is None else NOW - timedelta(seconds=age), 0, None)
        for i, age in enumerate(ages)
    )
    return OpsSnapshot(watch_count=watches, outbox_depth=0, oldest_pending_at=None, open_incidents=0, polls=polls)


@pytest.mark.parametrize(
    ("db_problem", "snap", "socket", "ok", "reason_part"),
    [
        (None, snapshot(0), None, True, None),  # nothing watched: polling does not matter
        (None, snapshot(2, 30), None, True, None),
        (None, snapshot(2, 180), None, True, None),  # exactly 3 intervals: still fine
        (None, snapshot(2, 181), None, False, "no successful poll for 3 intervals"),
        (None, snapshot(2, 500, 20), None, True, None),  # the newest success counts
        (None, snapshot(1, None), None, False, "no successful poll"),  # watched, never polled
        ("OperationalError: connection refused", None, None, False, "database unreachable"),
        (None, snapshot(0), True, True, None),
        (None, snapshot(0), False, False, "Socket Mode is not connected"),
    ],
)
def test_assess(
    db_problem: str | None, snap: OpsSnapshot | None, socket: bool | None, ok: bool, reason_part: str | None
) -> None:
    report = assess(db_problem=db_problem, snapshot=snap, now=NOW, poll_interval=INTERVAL, socket_connected=socket)
    assert report.ok is ok
    body = report.to_json()
    assert body["ok"] is ok
    assert body["database"] == ("ok" if db_problem is None else db_problem)
    if reason_part is None:
        assert body["reasons"] == []
    else:
        assert any(reason_part in r for r in body["reasons"]), body["reasons"]
    assert ("socket_mode" in body) is (socket is not None)


def test_last_poll_age_is_the_newest_success() -> None:
    report = assess(db_problem=None, snapshot=snapshot(2, 500, 20), now=NOW, poll_interval=INTERVAL)
    assert report.last_poll_age_seconds == 20
    assert assess(db_problem=None, snapshot=snapshot(0), now=NOW, poll_interval=INTERVAL).last_poll_age_seconds is None
