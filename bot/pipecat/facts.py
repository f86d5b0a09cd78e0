"""What a session says, as read-only protocols and the facts derived from its fields, without
pydantic: the validated model (bot.pipecat.models.Session) and the plain reading of the terminal
lookup (bot.pipecat.plain) both satisfy these, and both derive through the functions here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class SampleFacts(Protocol):
    @property
    def c(self) -> float | None: ...
    @property
    def m(self) -> int | None: ...


class MetricsFacts(Protocol):
    @property
    def sample_count(self) -> int | None: ...
    @property
    def cpu_millicores_p50(self) -> float | None: ...
    @property
    def cpu_millicores_p99(self) -> float | None: ...
    @property
    def memory_bytes_p50(self) -> int | None: ...
    @property
    def memory_bytes_p99(self) -> int | None: ...
    @property
    def timeseries(self) -> Sequence[SampleFacts]: ...


class EventFacts(Protocol):
    @property
    def event_code(self) -> str: ...
    @property
    def event_ts(self) -> datetime | None: ...


class SessionFacts(Protocol):
    @property
    def session_id(self) -> str: ...
    @property
    def deployment_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def bot_start_seconds(self) -> float | None: ...
    @property
    def cold_start(self) -> bool | None: ...
    @property
    def completion_status(self) -> str | None: ...
    @property
    def end_state(self) -> str | None: ...
    @property
    def events(self) -> Sequence[EventFacts]: ...
    @property
    def resource_metrics(self) -> MetricsFacts | None: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def duration(self) -> timedelta | None: ...
    @property
    def peak_memory_bytes(self) -> int | None: ...


def as_utc(value: datetime) -> datetime:
    """Pipecat's times are UTC: a time without an offset (`2025-01-01T00:00:00`) is read as UTC,
    so every datetime of a model compares with every other (and with the clock) without a TypeError."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def none_to_empty(value: Any) -> Any:
    """A list the API sends as null is an empty list."""
    return [] if value is None else value


def open_string(value: Any) -> Any:
    """An open enum: 500 and "500" are the same status; blank means absent."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def duration_between(created_at: datetime | None, ended_at: datetime | None) -> timedelta | None:
    """None while the session runs, or when it does not say when it started; never negative (clock
    skew between Pipecat's writers)."""
    if ended_at is None or created_at is None:
        return None
    return max(ended_at - created_at, timedelta(0))


def peak_memory(p99: int | None, samples: Sequence[SampleFacts]) -> int | None:
    """No peak field exists: the max of p99 and every sample, ignoring zero-sample zeros."""
    candidates = [s.m for s in samples if s.m is not None]
    if p99 is not None:
        candidates.append(p99)
    peak = max(candidates, default=None)
    return peak if peak else None


def with_session_id(payload: Any, session_id: str) -> Any:
    """A session answer for `session_id` that does not repeat its id (the spec leaves `sessionId`
    optional): the id asked for is the session's id. Anything else is returned as it is."""
    if isinstance(payload, dict) and "sessionId" not in payload and "session_id" not in payload:
        return {**payload, "sessionId": session_id}
    return payload
