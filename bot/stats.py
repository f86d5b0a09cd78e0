"""Aggregate numbers over a window of sessions for `/session stats` (pure; no Slack, no I/O).

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value at
1-based rank ceil(p/100 · n). It always returns an observed value (a real session's duration,
never an interpolated one), is exact for small samples and needs no tuning.

An error is a failed session as bot.contracts.outcomes defines it (the badges' definition).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.pipecat.models import Session

UNKNOWN_STATUS = "unknown"
ACTIVE_STATUS = "active"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (0 < p ≤ 100); None for no values."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class SessionStats:
    window: timedelta
    capped: bool
    count: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    active: int = 0
    ended: int = 0
    errors: int = 0
    duration_p50: timedelta | None = None
    duration_p95: timedelta | None = None
    bot_start_p50: float | None = None
    bot_start_p95: float | None = None
    cold_starts: int = 0
    cold_start_reported: int = 0
    peak_memory_p95: int | None = None
    peak_memory_reported: int = 0

    @property
    def error_rate(self) -> float | None:
        """Errors over *ended* sessions: running ones have no outcome yet."""
        return self.errors / self.ended if self.ended else None

    @property
    def cold_start_share(self) -> float | None:
        """Over sessions that report coldStart; absent is not the same as warm."""
        return self.cold_starts / self.cold_start_reported if self.cold_start_reported else None


def _seconds(p: float, values: Sequence[float]) -> timedelta | None:
    value = percentile(values, p)
    return None if value is None else timedelta(seconds=value)


def compute_stats(sessions: Iterable[Session], *, window: timedelta, capped: bool) -> SessionStats:
    statuses: Counter[str] = Counter()
    durations: list[float] = []
    bot_starts: list[float] = []
    peaks: list[float] = []
    count = active = errors = cold = cold_reported = 0
    for session in sessions:
        count += 1
        if session.is_active:
            active += 1
            statuses[ACTIVE_STATUS] += 1
        else:
            statuses[session.completion_status or UNKNOWN_STATUS] += 1
            errors += session.failed
            if session.duration is not None:
                durations.append(session.duration.total_seconds())
        if session.bot_start_seconds is not None:
            bot_starts.append(session.bot_start_seconds)
        if session.cold_start is not None:
            cold_reported += 1
            cold += session.cold_start
        if session.peak_memory_bytes is not None:
            peaks.append(session.peak_memory_bytes)
    peak_p95 = percentile(peaks, 95)
    return SessionStats(
        window=window,
        capped=capped,
        count=count,
        by_status=dict(statuses.most_common()),
        active=active,
        ended=count - active,
        errors=errors,
        duration_p50=_seconds(50, durations),
        duration_p95=_seconds(95, durations),
        bot_start_p50=percentile(bot_starts, 50),
        bot_start_p95=percentile(bot_starts, 95),
        cold_starts=cold,
        cold_start_reported=cold_reported,
        peak_memory_p95=None if peak_p95 is None else int(peak_p95),
        peak_memory_reported=len(peaks),
    )
