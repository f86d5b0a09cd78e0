"""A session payload read without pydantic, for `python -m bot lookup` (issue 15: building the
models costs the terminal more than everything else it does).

It accepts only what the model (bot.pipecat.models.Session) would take with no coercion of its
own beyond the lenient readings of bot.pipecat.facts, which both use: strings that are strings,
numbers that are numbers, ISO 8601 times with an offset. For anything else `read_session` returns
None and the caller validates with the model, which then decides (and words any rejection) as
everywhere else. tests/unit/pipecat/test_plain.py holds the two to the same fields and values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from bot.contracts.names import is_session_id
from bot.pipecat.facts import as_utc, duration_between, none_to_empty, open_string, peak_memory

# 2026-10-30T14:02:11Z, 2026-10-30T14:02:11.093+00:00: what Pipecat sends. Other spellings the
# model would still parse (a space, no offset, epoch numbers) go to the model.
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
# pydantic-core reads ints as 64-bit in the common case; a bigger one goes to the model to decide.
_INT_LIMIT = 2**63


# NamedTuples, not dataclasses: immutable all the same, and no `dataclasses`/`inspect` to import.


class Decline(Exception):
    """Not plain: the model must read this payload."""


Reader = Callable[[Any], Any]


def _str(value: Any) -> str:
    if type(value) is not str:
        raise Decline
    return value


def _int(value: Any) -> int:
    if type(value) is not int or abs(value) >= _INT_LIMIT:
        raise Decline
    return value


def _float(value: Any) -> float:
    if type(value) is float or (type(value) is int and abs(value) < _INT_LIMIT):
        return float(value)
    raise Decline


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise Decline
    return value


def _time(value: Any) -> datetime:
    if type(value) is not str or not _ISO_TIME.fullmatch(value):
        raise Decline
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:  # 25:00, Feb 30, an offset out of range: the model words the rejection
        raise Decline from None


def _session_id(value: Any) -> str:
    if not is_session_id(value):
        raise Decline
    return str(value)


def _open(value: Any) -> str | None:
    if value is not None and type(value) not in (str, int, float):
        raise Decline  # str() of a bool, dict or list: let the model have its say
    text: str | None = open_string(value)
    return text


def _optional(reader: Reader) -> Reader:
    return lambda value: None if value is None else reader(value)


def _list(reader: Reader) -> Reader:
    def read(value: Any) -> tuple[Any, ...]:
        items = none_to_empty(value)
        if type(items) is not list:
            raise Decline
        return tuple(reader(item) for item in items)

    return read


#: (JSON key, attribute, reader, required): the fields of each model, in the model's own names.
Fields = tuple[tuple[str, str, Reader, bool], ...]


def _object(cls: type[Any], fields: Fields) -> Reader:
    def read(value: Any) -> Any:
        if type(value) is not dict:
            raise Decline
        values: dict[str, Any] = {}
        for key, attr, reader, required in fields:
            # populate_by_name lets the model read `session_id` too; which spelling wins is its call.
            if attr != key and attr in value:
                raise Decline
            if key in value:
                values[attr] = reader(value[key])
            elif required:
                raise Decline
        return cls(**values)

    return read


class PlainSample(NamedTuple):
    t: int | None = None
    c: float | None = None
    m: int | None = None


class PlainMetrics(NamedTuple):
    sample_count: int | None = None
    cpu_millicores_p50: float | None = None
    cpu_millicores_p90: float | None = None
    cpu_millicores_p95: float | None = None
    cpu_millicores_p99: float | None = None
    memory_bytes_p50: int | None = None
    memory_bytes_p90: int | None = None
    memory_bytes_p95: int | None = None
    memory_bytes_p99: int | None = None
    timeseries: tuple[PlainSample, ...] = ()
    event_ts: datetime | None = None

    @property
    def peak_memory_bytes(self) -> int | None:
        return peak_memory(self.memory_bytes_p99, self.timeseries)


class PlainEvent(NamedTuple):
    event_code: str
    event_ts: datetime | None = None


class PlainMeeting(NamedTuple):
    meeting_id: str | None = None
    participant_id: str | None = None


class PlainSession(NamedTuple):
    session_id: str
    created_at: datetime | None = None
    service_id: str | None = None
    organization_id: str | None = None
    deployment_id: str | None = None
    updated_at: datetime | None = None
    ended_at: datetime | None = None
    bot_start_seconds: float | None = None
    cold_start: bool | None = None
    completion_status: str | None = None
    end_state: str | None = None
    events: tuple[PlainEvent, ...] = ()
    resource_metrics: PlainMetrics | None = None
    meeting_ids: tuple[PlainMeeting, ...] = ()

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    @property
    def duration(self) -> timedelta | None:
        return duration_between(self.created_at, self.ended_at)

    @property
    def peak_memory_bytes(self) -> int | None:
        return self.resource_metrics.peak_memory_bytes if self.resource_metrics else None


_opt_str, _opt_int, _opt_float, _opt_time = _optional(_str), _optional(_int), _optional(_float), _optional(_time)

SAMPLE_FIELDS: Fields = (("t", "t", _opt_int, False), ("c", "c", _opt_float, False), ("m", "m", _opt_int, False))
METRICS_FIELDS: Fields = (
    ("sampleCount", "sample_count", _opt_int, False),
    *((f"cpuMillicoresP{p}", f"cpu_millicores_p{p}", _opt_float, False) for p in (50, 90, 95, 99)),
    *((f"memoryBytesP{p}", f"memory_bytes_p{p}", _opt_int, False) for p in (50, 90, 95, 99)),
    ("timeseries", "timeseries", _list(_object(PlainSample, SAMPLE_FIELDS)), False),
    ("eventTs", "event_ts", _opt_time, False),
)
EVENT_FIELDS: Fields = (("eventCode", "event_code", _str, True), ("eventTs", "event_ts", _opt_time, False))
MEETING_FIELDS: Fields = (
    ("meetingId", "meeting_id", _opt_str, False),
    ("participantId", "participant_id", _opt_str, False),
)
SESSION_FIELDS: Fields = (
    ("sessionId", "session_id", _session_id, True),
    ("serviceId", "service_id", _opt_str, False),
    ("organizationId", "organization_id", _opt_str, False),
    ("deploymentId", "deployment_id", _opt_str, False),
    ("createdAt", "created_at", _opt_time, False),
    ("updatedAt", "updated_at", _opt_time, False),
    ("endedAt", "ended_at", _opt_time, False),
    ("botStartSeconds", "bot_start_seconds", _opt_float, False),
    ("coldStart", "cold_start", _optional(_bool), False),
    ("completionStatus", "completion_status", _open, False),
    ("endState", "end_state", _open, False),
    ("events", "events", _list(_object(PlainEvent, EVENT_FIELDS)), False),
    ("resourceMetrics", "resource_metrics", _optional(_object(PlainMetrics, METRICS_FIELDS)), False),
    ("meetingIds", "meeting_ids", _list(_object(PlainMeeting, MEETING_FIELDS)), False),
)
_read_session = _object(PlainSession, SESSION_FIELDS)


def read_session(payload: Mapping[str, Any] | Any) -> PlainSession | None:
    """The session, or None when the payload is not plain and the model must read it."""
    try:
        session: PlainSession = _read_session(payload)
    except Decline:
        return None
    return session
