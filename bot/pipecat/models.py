"""Pydantic models for Pipecat Cloud responses (design.md §2).

Lenient by design: unknown fields are kept, numbers may arrive as strings, `completionStatus`
and `endState` are open strings (an unknown value is a value), and lists may be null.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from bot.contracts.names import SESSION_ID

logger = logging.getLogger(__name__)

#: Statuses that mean "the session ended badly" for badges and stats.
ERROR_STATUSES = frozenset({"HTTP_ERROR", "BOT_CONNECTION_TIMEOUT"})
ERROR_END_STATES = frozenset({"ENDED_BEFORE_AGENT_START", "AGENT_START_TIMEOUT", "AGENT_ERROR", "TERMINATED"})


def _as_utc(value: datetime) -> datetime:
    """Pipecat's times are UTC: a time without an offset (`2025-01-01T00:00:00`) is read as UTC,
    so every datetime of a model compares with every other (and with the clock) without a TypeError."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _uuid(value: str) -> str:
    """A session id is a UUID: anything else could never be fetched, stopped or linked (the client
    refuses it before any URL is built), so it is not a session we can track."""
    if not SESSION_ID.fullmatch(value):
        raise ValueError("sessionId is not a UUID")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
SessionId = Annotated[str, AfterValidator(_uuid)]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)


def _none_to_empty(value: Any) -> Any:
    return [] if value is None else value


def _open_string(value: Any) -> Any:
    """An open enum: 500 and "500" are the same status; blank means absent."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class Sample(ApiModel):
    t: int
    c: float | None = None
    m: int | None = None


class ResourceMetrics(ApiModel):
    sample_count: int | None = None
    cpu_millicores_p50: float | None = None
    cpu_millicores_p90: float | None = None
    cpu_millicores_p95: float | None = None
    cpu_millicores_p99: float | None = None
    memory_bytes_p50: int | None = None
    memory_bytes_p90: int | None = None
    memory_bytes_p95: int | None = None
    memory_bytes_p99: int | None = None
    timeseries: list[Sample] = Field(default_factory=list)
    event_ts: UtcDatetime | None = None

    _empty_lists = field_validator("timeseries", mode="before")(_none_to_empty)

    @property
    def peak_memory_bytes(self) -> int | None:
        """No peak field exists: the max of p99 and every sample, ignoring zero-sample zeros."""
        candidates = [s.m for s in self.timeseries if s.m is not None]
        if self.memory_bytes_p99 is not None:
            candidates.append(self.memory_bytes_p99)
        peak = max(candidates, default=None)
        return peak if peak else None


class SessionEvent(ApiModel):
    event_code: str
    event_ts: UtcDatetime | None = None


class MeetingId(ApiModel):
    meeting_id: str | None = None
    participant_id: str | None = None


class Session(ApiModel):
    session_id: SessionId
    service_id: str | None = None
    organization_id: str | None = None
    deployment_id: str | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime | None = None
    ended_at: UtcDatetime | None = None
    bot_start_seconds: float | None = None
    cold_start: bool | None = None
    completion_status: str | None = None
    end_state: str | None = None
    events: list[SessionEvent] = Field(default_factory=list)
    resource_metrics: ResourceMetrics | None = None
    meeting_ids: list[MeetingId] = Field(default_factory=list)

    _empty_lists = field_validator("events", "meeting_ids", mode="before")(_none_to_empty)
    _open = field_validator("completion_status", "end_state", mode="before")(_open_string)

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    @property
    def duration(self) -> timedelta | None:
        if self.ended_at is None:
            return None
        return max(self.ended_at - self.created_at, timedelta(0))

    @property
    def peak_memory_bytes(self) -> int | None:
        return self.resource_metrics.peak_memory_bytes if self.resource_metrics else None

    def matches(self, statuses: Iterable[str]) -> bool:
        """True when completionStatus or endState is one of `statuses` (case-insensitive)."""
        wanted = {s.upper() for s in statuses}
        return any(v is not None and v.upper() in wanted for v in (self.completion_status, self.end_state))

    def is_error(self, statuses: Iterable[str] = ERROR_STATUSES) -> bool:
        return not self.is_active and self.matches(statuses)


class SessionPage(ApiModel):
    total_count: int = Field(alias="total_count")
    sessions: list[Session] = Field(default_factory=list)
    #: Items of this page that were not valid sessions and were skipped (they still count for paging).
    skipped: int = Field(default=0, exclude=True)

    _empty_lists = field_validator("sessions", mode="before")(_none_to_empty)

    @classmethod
    def from_payload(cls, payload: Any) -> SessionPage:
        """Validate item by item: one malformed session must not hide the rest of the page."""
        if not isinstance(payload, dict) or not isinstance(payload.get("sessions") or [], list):
            raise ValueError("not a session page")
        good: list[Session] = []
        for item in payload.get("sessions") or []:
            try:
                good.append(Session.model_validate(item))
            except ValidationError:
                logger.warning("skipping a malformed session in a list page: %.200r", item)
        skipped = len(payload.get("sessions") or []) - len(good)
        return cls(total_count=payload.get("total_count"), sessions=good, skipped=skipped)


class Agent(ApiModel):
    name: str
    region: str | None = None
    ready: bool | None = None
    available: bool | None = None
    active_session_count: int | None = None
    active_deployment_id: str | None = None


class AgentList(ApiModel):
    services: list[Agent] = Field(default_factory=list)

    _empty_lists = field_validator("services", mode="before")(_none_to_empty)


class LogTotal(ApiModel):
    value: int | None = None
    relation: str | None = None


class LogLine(ApiModel):
    log: str = ""
    timestamp: UtcDatetime | None = None
    deployment_id: str | None = None

    @field_validator("log", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else str(value)


class LogPage(ApiModel):
    total: LogTotal | None = None
    logs: list[LogLine] = Field(default_factory=list)

    _empty_lists = field_validator("logs", mode="before")(_none_to_empty)
