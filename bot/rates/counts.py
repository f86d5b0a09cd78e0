"""Per-minute counts of an agent's sessions, what they add up to over a window, and the tail
probabilities that tell a real change from chance.

A session is counted twice at most: as started (in the minute it was created) when a poll first
lists it, and as ended (in the minute it ended) when a poll first records it ended. Whether an
ended session failed is `is_failed`, the one definition every rate uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.pipecat.models import Session
from bot.rates.policy import BOT_START_EDGES

UNKNOWN_DEPLOYMENT = ""
UNKNOWN_STATUS = "UNKNOWN"


def is_failed(session: Session, statuses: Iterable[str]) -> bool:
    """Did this ended session fail, as the agent's watches define it (their statuses, matched on
    completionStatus or endState by `Session.matches`, the filter per-session alerts use too)? A
    rate alert then speaks of the failures its channel asked to hear of."""
    return session.matches(frozenset(s.upper() for s in statuses))


def failure_status(session: Session) -> str:
    """The status a failure is broken down by."""
    return (session.completion_status or session.end_state or UNKNOWN_STATUS).upper()


def minute_of(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def hour_of(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def bucket_of(seconds: float) -> int:
    for index, edge in enumerate(BOT_START_EDGES):
        if seconds <= edge:
            return index
    return len(BOT_START_EDGES)


@dataclass
class Counts:
    """What one minute (or a window of minutes) adds up to."""

    started: int = 0
    ended: int = 0
    failed: int = 0
    #: Ended sessions whose start says whether it was cold, and how many of them were.
    start_known: int = 0
    cold_starts: int = 0
    #: Ended sessions with a bot-start time, by bucket (BOT_START_EDGES).
    bot_starts: list[int] = field(default_factory=lambda: [0] * (len(BOT_START_EDGES) + 1))
    duration_seconds: float = 0.0
    failed_by_status: dict[str, int] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        self.started += other.started
        self.ended += other.ended
        self.failed += other.failed
        self.start_known += other.start_known
        self.cold_starts += other.cold_starts
        for index, n in enumerate(other.bot_starts[: len(self.bot_starts)]):
            self.bot_starts[index] += n
        self.duration_seconds += other.duration_seconds
        for status, n in other.failed_by_status.items():
            self.failed_by_status[status] = self.failed_by_status.get(status, 0) + n

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.ended if self.ended else None

    @property
    def cold_share(self) -> float | None:
        return self.cold_starts / self.start_known if self.start_known else None

    @property
    def bot_start_count(self) -> int:
        return sum(self.bot_starts)

    def bot_start_p95(self) -> float | None:
        return quantile(self.bot_starts, 0.95)

    def slower_than(self, seconds: float) -> int:
        """Bot starts in buckets wholly above `seconds`."""
        return sum(n for index, n in enumerate(self.bot_starts) if index > bucket_of(seconds))

    def to_row(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "ended": self.ended,
            "failed": self.failed,
            "start_known": self.start_known,
            "cold_starts": self.cold_starts,
            "bot_starts": list(self.bot_starts),
            "duration_seconds": self.duration_seconds,
            "failed_by_status": dict(self.failed_by_status),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Counts:
        buckets = [int(n) for n in (row.get("bot_starts") or [])]
        buckets += [0] * (len(BOT_START_EDGES) + 1 - len(buckets))
        return cls(
            started=int(row.get("started") or 0),
            ended=int(row.get("ended") or 0),
            failed=int(row.get("failed") or 0),
            start_known=int(row.get("start_known") or 0),
            cold_starts=int(row.get("cold_starts") or 0),
            bot_starts=buckets,
            duration_seconds=float(row.get("duration_seconds") or 0.0),
            failed_by_status={str(k): int(v) for k, v in dict(row.get("failed_by_status") or {}).items()},
        )


def quantile(buckets: Sequence[int], q: float) -> float | None:
    """The upper edge of the bucket holding the q-quantile (inf above the last edge); None if empty."""
    total = sum(buckets)
    if not total:
        return None
    need = math.ceil(q * total)
    running = 0
    for index, n in enumerate(buckets):
        running += n
        if running >= need:
            return BOT_START_EDGES[index] if index < len(BOT_START_EDGES) else math.inf
    return math.inf


Key = tuple[datetime, str]


def tally(started: Iterable[Session], ended: Iterable[Session], statuses: Iterable[str]) -> dict[Key, Counts]:
    """Counts by (minute, deployment): `started` in the minute each was created, `ended` in the
    minute each ended (failed by `is_failed` against `statuses`)."""
    wanted = frozenset(s.upper() for s in statuses)
    found: dict[Key, Counts] = {}

    def at(when: datetime, session: Session) -> Counts:
        return found.setdefault((minute_of(when), session.deployment_id or UNKNOWN_DEPLOYMENT), Counts())

    for session in started:
        if session.created_at is not None:  # the spec leaves it optional: no minute to count it in
            at(session.created_at, session).started += 1
    for session in ended:
        when = session.ended_at or session.created_at
        if when is None:
            continue
        counts = at(when, session)
        counts.ended += 1
        if is_failed(session, wanted):
            counts.failed += 1
            status = failure_status(session)
            counts.failed_by_status[status] = counts.failed_by_status.get(status, 0) + 1
        if session.cold_start is not None:
            counts.start_known += 1
            counts.cold_starts += int(session.cold_start)
        if session.bot_start_seconds is not None and session.bot_start_seconds >= 0:
            counts.bot_starts[bucket_of(session.bot_start_seconds)] += 1
        duration = session.duration
        if duration is not None:
            counts.duration_seconds += duration.total_seconds()
    return found


@dataclass(frozen=True)
class Minute:
    """One minute's counts of an agent (all deployments, or one)."""

    minute: datetime
    counts: Counts
    deployment: str = UNKNOWN_DEPLOYMENT


def total(minutes: Iterable[Minute], start: datetime, end: datetime) -> Counts:
    """The minutes starting in [start, end) added up."""
    found = Counts()
    for m in minutes:
        if start <= m.minute < end:
            found.add(m.counts)
    return found


def window_start(now: datetime, length: timedelta) -> datetime:
    """A window of `length` ending now, in whole minutes: it includes the minute now is in."""
    return minute_of(now) + timedelta(minutes=1) - length


# -- tail probabilities --------------------------------------------------------------------------


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    p = min(max(p, 1e-12), 1 - 1e-12)
    logs = [_log_binom_pmf(i, n, p) for i in range(k, n + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def poisson_lower_tail(k: int, mean: float) -> float:
    """P(X ≤ k) for X ~ Poisson(mean)."""
    if mean <= 0:
        return 1.0
    logs = [i * math.log(mean) - mean - math.lgamma(i + 1) for i in range(0, k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))
