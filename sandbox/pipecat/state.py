"""State of the Pipecat Cloud simulator: the clock, agents, sessions, logs and their JSON shapes.

Plain objects, no HTTP here (that is `pipecat_sim.py`). Shapes follow the fixtures in
tests/fixtures/pipecat: list items lack `resourceMetrics`/`meetingIds`, active sessions report
nulls, times are ISO 8601 with milliseconds and `Z`.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.pipecat.agents import SimAgentStatus

#: Seconds between resource samples, as the real API reports them.
SAMPLE_INTERVAL_SECONDS = 5
#: Keys a list item drops from a detail payload (the real list omits them, see sessions-list-page.json).
DETAIL_ONLY_KEYS = ("resourceMetrics", "meetingIds", "events")
#: endState derived from completionStatus when the caller gives none.
DEFAULT_END_STATES = {"HTTP_COMPLETED": "completed", "HTTP_ERROR": "agent_error"}


def utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is refused because its zone would be a guess."""
    if value.tzinfo is None:
        raise ValueError("the simulator needs timezone-aware datetimes")
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """`2026-10-30T14:02:11.000Z`: what Pipecat Cloud sends."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_ns(value: datetime, seq: int = 0) -> str:
    """Nanosecond precision, as the logs endpoint sends it (`2026-10-30T14:03:07.881512003Z`); the
    last three digits come from the entry's sequence so equal microseconds still order."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}{seq % 1000:03d}Z"


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class SimClock:
    """A clock the test moves by hand; satisfies `bot.clock.Clock`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start is not None else datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, value: datetime) -> None:
        self._now = utc(value)


class WallClock(SimClock):
    """The simulator's clock kept in step with real time, for what reads the system clock (the demo,
    replicas in their own processes); `advance` / `set` shift it by an offset."""

    def __init__(self) -> None:
        super().__init__()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)

    def set(self, value: datetime) -> None:
        self._offset = utc(value) - datetime.now(UTC)


@dataclass
class SimSession:
    """One session; `raw` (when set) is served as-is and the other fields only index it."""

    session_id: str
    service_id: str
    organization_id: str
    deployment_id: str | None
    created_at: datetime
    seq: int  # tie-break for equal createdAt, so pages never reorder between calls
    updated_at: datetime
    ended_at: datetime | None = None
    cold_start: bool | None = None
    bot_start_seconds: float | None = None
    completion_status: str | None = None
    end_state: str | None = None
    events: list[dict[str, Any]] | None = None
    resource_metrics: dict[str, Any] | None = None
    raw: dict[str, Any] | None = None
    # Filters compare whole seconds (startTime/endTime are unix seconds, inclusive).
    created_second: int = field(init=False)

    def __post_init__(self) -> None:
        self.created_second = math.floor(self.created_at.timestamp())

    @property
    def active(self) -> bool:
        if self.raw is not None:
            return self.raw.get("endedAt") is None
        return self.ended_at is None

    def detail(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        body: dict[str, Any] = {
            "sessionId": self.session_id,
            "serviceId": self.service_id,
            "organizationId": self.organization_id,
            "deploymentId": self.deployment_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "endedAt": iso(self.ended_at) if self.ended_at else None,
            "botStartSeconds": self.bot_start_seconds,
            "coldStart": self.cold_start,
            "completionStatus": self.completion_status,
        }
        # Like the fixtures: endState/events only where a (newer) deployment reports them.
        if self.end_state is not None:
            body["endState"] = self.end_state
        if self.events is not None:
            body["events"] = self.events
        body["resourceMetrics"] = self.resource_metrics
        body["meetingIds"] = []
        return body

    def list_item(self) -> dict[str, Any]:
        return {k: v for k, v in self.detail().items() if k not in DETAIL_ONLY_KEYS}


@dataclass
class LogEntry:
    at: datetime
    seq: int
    session_id: str
    text: str
    deployment_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"log": self.text, "timestamp": iso_ns(self.at, self.seq), "deploymentId": self.deployment_id}


@dataclass
class SimAgent:
    name: str
    region: str
    ready: bool
    service_id: str
    deployment_id: str
    created_at: datetime
    sessions: dict[str, SimSession] = field(default_factory=dict)  # keyed by lower-case id
    logs: list[LogEntry] = field(default_factory=list)
    #: Deployments, revisions and health (sandbox/pipecat/agents.py), made on first use.
    status: SimAgentStatus | None = None
    #: The error part of a failed session's log (see `generated_logs`); None: a generic one.
    failure_log: tuple[str, ...] | None = None
    _newest_first: list[SimSession] | None = None  # cache, dropped on insert

    def add(self, session: SimSession) -> None:
        key = session.session_id.lower()
        if key in self.sessions:
            raise ValueError(f"session {session.session_id} already exists on {self.name}")
        self.sessions[key] = session
        self._newest_first = None

    def forget(self, ended_before: datetime) -> int:
        """Drop the sessions that ended before `ended_before`, and their logs; how many went."""
        gone = {
            k
            for k, s in self.sessions.items()
            if s.raw is None and s.ended_at is not None and s.ended_at < ended_before
        }
        if not gone:
            return 0
        for key in gone:
            del self.sessions[key]
        self.logs = [e for e in self.logs if e.session_id not in gone]
        self._newest_first = None
        return len(gone)

    def newest_first(self) -> list[SimSession]:
        if self._newest_first is None:
            ordered = sorted(self.sessions.values(), key=lambda s: (s.created_at, s.seq), reverse=True)
            self._newest_first = ordered
        return self._newest_first


def finish(session: SimSession, status: str, end_state: str | None, at: datetime, seed: int) -> None:
    """End `session` at `at`: fill start data, events and a deterministic metrics timeseries."""
    rng = random.Random(f"{seed}:{session.session_id}")  # same session id, same numbers
    duration = max((at - session.created_at).total_seconds(), 0.0)
    if session.cold_start is None:
        session.cold_start = rng.random() < 0.3
    if session.bot_start_seconds is None:
        # Whole seconds, like the fixtures; never longer than the session itself.
        session.bot_start_seconds = min(
            rng.randint(5, 12) if session.cold_start else rng.randint(1, 3), math.floor(duration)
        )
    session.ended_at = session.updated_at = at
    session.completion_status = status
    session.end_state = end_state if end_state is not None else DEFAULT_END_STATES.get(status)
    arrived = min(session.created_at + timedelta(seconds=session.bot_start_seconds), at)
    session.events = [
        {"eventCode": "SESSION_START_INITIATED", "eventTs": iso(session.created_at)},
        {"eventCode": "REQUEST_ARRIVED_AT_BOT", "eventTs": iso(arrived)},
        {"eventCode": "SESSION_COMPLETED", "eventTs": iso(at)},
    ]
    session.resource_metrics = _metrics(session, duration, rng)


def _metrics(session: SimSession, duration: float, rng: random.Random) -> dict[str, Any]:
    start = session.created_second
    cpu, mem = rng.randint(100, 200), rng.randint(200, 300) * 2**20
    series = []
    for i in range(int(duration // SAMPLE_INTERVAL_SECONDS) + 1):
        series.append({"t": start + i * SAMPLE_INTERVAL_SECONDS, "c": cpu, "m": mem})
        cpu = min(max(cpu + rng.randint(-120, 160), 50), 950)
        mem = min(max(mem + rng.randint(-16, 48) * 2**20, 128 * 2**20), 2**31)
    cpus = sorted(s["c"] for s in series)
    mems = sorted(s["m"] for s in series)
    end = session.ended_at or session.created_at
    return {
        "id": new_uuid(rng),
        "sessionId": session.session_id,
        "sampleCount": len(series),
        **{f"cpuMillicoresP{p}": _percentile(cpus, p) for p in (50, 90, 95, 99)},
        **{f"memoryBytesP{p}": _percentile(mems, p) for p in (50, 90, 95, 99)},
        "timeseries": series,
        "eventTs": iso(max(end - timedelta(seconds=1), session.created_at)),
        "createdAt": iso(min(session.created_at + timedelta(seconds=SAMPLE_INTERVAL_SECONDS), end)),
    }


def _percentile(ordered: list[int], p: int) -> int:
    """Nearest rank: always a value that occurred, so p99 never exceeds the series' max."""
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


#: Log of a failed session when nothing else is set: a Pipecat pipeline error and its traceback,
#: logged the way loguru formats it (one entry a line, the traceback right after the ERROR line).
DEFAULT_FAILURE_LOG = (
    "ERROR    | pipecat.pipeline.task:_handle_error:520 - Pipeline error in session {session_id}: {status}",
    "Traceback (most recent call last):",
    '  File "/app/bot.py", line {line}, in run_bot',
    "    await runner.run(task)",
    "RuntimeError: pipeline stopped after {seconds}s ({end_state})",
)


def loguru(at: datetime, level: str, where: str, message: str) -> str:
    """`2026-10-30 14:03:07.880 | ERROR    | module:function:line - message`: loguru's default format."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}"
    return f"{stamp} | {level:<8} | {where} - {message}"


def _template_line(at: datetime, template: str, values: dict[str, Any]) -> str:
    """A template line that starts with a level (`ERROR    | where - msg`) becomes a loguru line;
    anything else (traceback lines) is logged as is."""
    text = template.format(**values)
    level, sep, rest = text.partition(" | ")
    if sep and level.strip().isupper() and level.strip().isalpha():
        where, _, message = rest.partition(" - ")
        return loguru(at, level.strip(), where.strip(), message)
    return text


def generated_logs(session: SimSession, failure_log: tuple[str, ...] | None = None) -> list[tuple[datetime, str]]:
    """A plausible loguru log for an ended session: start, pipeline, and the end or the error
    (with its traceback, one entry a line). `failure_log` overrides the error part; its lines
    may use {session_id}, {status}, {end_state}, {seconds}, {line} and {n} (a per-session number)."""
    assert session.ended_at is not None and session.bot_start_seconds is not None
    ready = min(session.created_at + timedelta(seconds=session.bot_start_seconds), session.ended_at)
    kind = "cold" if session.cold_start else "warm"
    start = f"Starting bot for session {session.session_id} ({kind} start)"
    started = f"Pipeline task started after {session.bot_start_seconds:g}s"
    lines = [
        (session.created_at, loguru(session.created_at, "INFO", "bot:main:88", start)),
        (ready, loguru(ready, "DEBUG", "pipecat.pipeline.task:run:351", started)),
    ]
    if session.completion_status == "HTTP_COMPLETED":
        lines.append((session.ended_at, loguru(session.ended_at, "INFO", "bot:main:120", "Bot finished")))
        return lines
    rng = random.Random(session.session_id)
    values = {
        "session_id": session.session_id,
        "status": session.completion_status,
        "end_state": session.end_state,
        "seconds": round((session.ended_at - session.created_at).total_seconds(), 1),
        "line": rng.randint(100, 400),
        "n": rng.randint(1000, 9999),
    }
    for i, template in enumerate(failure_log if failure_log is not None else DEFAULT_FAILURE_LOG):
        # Microseconds apart, in order, like the real API's nanosecond stamps.
        at = session.ended_at - timedelta(milliseconds=50) + timedelta(microseconds=i * 50)
        lines.append((at, _template_line(at, template, values)))
    lines.append((session.ended_at, loguru(session.ended_at, "INFO", "bot:main:120", "Bot finished")))
    return lines
