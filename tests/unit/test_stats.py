"""Table tests for nearest-rank percentiles and compute_stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.pipecat.models import Session
from bot.stats import compute_stats, percentile

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def make(n: int, *, seconds: float | None = 60, status: str | None = "HTTP_COMPLETED", **extra: Any) -> Session:
    """A session created at T0+n minutes lasting `seconds` (None: still running)."""
    created = T0 + timedelta(minutes=n)
    ended = None if seconds is None else created + timedelta(seconds=seconds)
    return Session.model_validate(
        {
            "sessionId": f"00000000-0000-4000-8000-{n:012d}",
            "createdAt": created.isoformat(),
            "endedAt": ended.isoformat() if ended else None,
            "completionStatus": status,
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7], 50, 7),
        ([7], 95, 7),
        ([1, 2], 50, 1),  # rank ceil(1.0) = 1
        ([2, 1], 95, 2),  # order of input does not matter
        ([1, 2, 3, 4], 50, 2),
        ([1, 2, 3, 4, 5], 50, 3),
        (list(range(1, 21)), 95, 19),  # ceil(19.0) = 19
        (list(range(1, 22)), 95, 20),  # ceil(19.95) = 20
        (list(range(1, 101)), 95, 95),
        (list(range(1, 101)), 100, 100),
        ([5, 5, 5], 50, 5),
        ([0.5, 1.5, 2.5], 50, 1.5),
    ],
)
def test_percentile_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert percentile(values, p) == expected


@pytest.mark.parametrize("p", [0, -1, 101])
def test_percentile_rejects_out_of_range(p: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], p)


def test_empty() -> None:
    stats = compute_stats([], window=DAY, capped=False)
    assert stats.count == 0 and stats.by_status == {}
    assert stats.error_rate is None and stats.cold_start_share is None
    assert stats.duration_p50 is None and stats.bot_start_p95 is None and stats.peak_memory_p95 is None


@pytest.mark.parametrize(
    ("sessions", "expected"),
    [
        # counts by status: active for running sessions, unknown for a missing status
        (
            [make(1), make(2, status="HTTP_ERROR"), make(3, seconds=None, status=None), make(4, status=None)],
            {
                "count": 4,
                "active": 1,
                "ended": 3,
                "errors": 1,
                "by_status": {"HTTP_COMPLETED": 1, "HTTP_ERROR": 1, "active": 1, "unknown": 1},
            },
        ),
        # open statuses count under their own name; "500" and BOT_CONNECTION_TIMEOUT failed (as their
        # badges say), an unknown status with no failing endState did not
        (
            [make(1, status="500"), make(2, status="BOT_CONNECTION_TIMEOUT"), make(3, status="WS_CONNECTION_CLOSED")],
            {"errors": 2, "by_status": {"500": 1, "BOT_CONNECTION_TIMEOUT": 1, "WS_CONNECTION_CLOSED": 1}},
        ),
        # cold-start share only over sessions that report it
        (
            [make(1, coldStart=True), make(2, coldStart=False), make(3, coldStart=None), make(4, coldStart=True)],
            {"cold_starts": 2, "cold_start_reported": 3},
        ),
    ],
)
def test_compute_stats_counts(sessions: list[Session], expected: dict[str, Any]) -> None:
    stats = compute_stats(sessions, window=DAY, capped=False)
    for key, value in expected.items():
        assert getattr(stats, key) == value, key


def test_error_rate_is_over_ended_sessions() -> None:
    sessions = [make(1), make(2, status="HTTP_ERROR"), make(3, seconds=None, status=None), make(4)]
    stats = compute_stats(sessions, window=DAY, capped=True)
    assert stats.error_rate == pytest.approx(1 / 3)
    assert stats.capped and stats.window == DAY


def test_cold_start_share() -> None:
    sessions = [make(1, coldStart=True), make(2, coldStart=False), make(3), make(4, coldStart="true")]
    assert compute_stats(sessions, window=DAY, capped=False).cold_start_share == pytest.approx(2 / 3)


def test_duration_and_bot_start_percentiles() -> None:
    sessions = [make(i, seconds=10 * i, botStartSeconds=i) for i in range(1, 21)]
    sessions.append(make(30, seconds=None, status=None, botStartSeconds="40"))  # running: no duration
    stats = compute_stats(sessions, window=DAY, capped=False)
    assert stats.duration_p50 == timedelta(seconds=100)
    assert stats.duration_p95 == timedelta(seconds=190)
    assert stats.bot_start_p50 == 11  # 21 values: rank ceil(10.5) = 11
    assert stats.bot_start_p95 == 20


def test_peak_memory_only_over_reporting_sessions() -> None:
    metrics = [{"memoryBytesP99": 100 * i, "timeseries": [{"t": 1, "c": 1, "m": 50}]} for i in range(1, 5)]
    sessions = [make(i, resourceMetrics=m) for i, m in enumerate(metrics)] + [make(9), make(10)]
    stats = compute_stats(sessions, window=DAY, capped=False)
    assert stats.peak_memory_p95 == 400
    assert stats.peak_memory_reported == 4
    # List items have no resourceMetrics at all: p95 is absent, not 0.
    assert compute_stats([make(1), make(2)], window=DAY, capped=False).peak_memory_p95 is None


def test_accepts_any_iterable() -> None:
    stats = compute_stats((make(i) for i in range(3)), window=DAY, capped=False)
    assert stats.count == 3
