"""The plain session reading (bot.pipecat.plain) against the model it stands in for: it covers
exactly the model's fields, what it accepts the model reads to the same values and the terminal
prints the same, and whatever the model would coerce or refuse it leaves to the model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bot.pipecat import plain
from bot.pipecat.models import MeetingId, ResourceMetrics, Sample, Session, SessionEvent
from bot.terminal import render_session_text
from tests.paths import PIPECAT_FIXTURES

MODELS: list[tuple[type[BaseModel], plain.Fields]] = [
    (Session, plain.SESSION_FIELDS),
    (ResourceMetrics, plain.METRICS_FIELDS),
    (Sample, plain.SAMPLE_FIELDS),
    (SessionEvent, plain.EVENT_FIELDS),
    (MeetingId, plain.MEETING_FIELDS),
]
DETAILS = {p.stem: json.loads(p.read_text()) for p in sorted(PIPECAT_FIXTURES.glob("session-detail-*.json"))}


def _model_or_none(payload: Any) -> Session | None:
    try:
        return Session.model_validate(payload)
    except ValidationError:
        return None


def _values(value: Any) -> Any:
    """A reading as plain data: lists for tuples, fields for models and NamedTuples (no extras)."""
    if isinstance(value, BaseModel):
        return {name: _values(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {name: _values(getattr(value, name)) for name in value._fields}
    if isinstance(value, list | tuple):
        return [_values(v) for v in value]
    return value


def assert_same_reading(payload: Any) -> None:
    reading = plain.read_session(payload)
    model = _model_or_none(payload)
    if reading is None:
        return  # declined: the model decides, whatever it decides
    assert model is not None, "accepted what the model refuses"
    assert _values(reading) == _values(model)
    assert (reading.is_active, reading.duration, reading.peak_memory_bytes) == (
        model.is_active,
        model.duration,
        model.peak_memory_bytes,
    )
    assert render_session_text("voice-bot", reading) == render_session_text("voice-bot", model)


@pytest.mark.parametrize(("model", "fields"), MODELS, ids=lambda m: getattr(m, "__name__", ""))
def test_the_tables_are_the_models_fields(model: type[BaseModel], fields: plain.Fields) -> None:
    """A field added to a model and not here (or renamed) fails this, not a lookup."""
    expected = {(f.alias or name, name, f.is_required()) for name, f in model.model_fields.items()}
    assert {(key, attr, required) for key, attr, _, required in fields} == expected


@pytest.mark.parametrize("name", list(DETAILS))
def test_every_detail_fixture_reads_as_the_model_does(name: str) -> None:
    assert_same_reading(DETAILS[name])


def test_what_pipecat_sends_is_read_plainly() -> None:
    for name in ("session-detail-error", "session-detail-active", "session-detail-seed"):
        assert plain.read_session(DETAILS[name]) is not None, name


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"resourceMetrics": {"memoryBytesP99": "1073741824"}}, "a number sent as a string"),
        ({"createdAt": "2026-10-30T14:02:11"}, "a time without an offset"),
        ({"createdAt": "2026-10-30 14:02:11Z"}, "a time spelt with a space"),
        ({"createdAt": 1796118132}, "an epoch time"),
        ({"createdAt": "2026-02-30T14:02:11Z"}, "no such day"),
        ({"coldStart": 1}, "a bool sent as a number"),
        ({"botStartSeconds": True}, "a number sent as a bool"),
        ({"serviceId": 5}, "a number where a string belongs (the model refuses it)"),
        ({"completionStatus": ["HTTP_ERROR"]}, "a list as a status"),
        ({"events": {"eventCode": "X"}}, "an object where a list belongs"),
        ({"events": [{"eventTs": "2026-10-30T14:02:11Z"}]}, "an event without its code"),
        ({"session_id": "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"}, "the model's own field name"),
        ({"sessionId": "not-a-uuid"}, "an id that is not a UUID"),
        ({"resourceMetrics": {"timeseries": [{"t": 1.5}]}}, "a fractional time of a sample"),
        ({"resourceMetrics": {"sampleCount": 2**70}}, "an int beyond 64 bits"),
    ],
)
def test_what_the_model_would_coerce_or_refuse_is_left_to_it(change: dict[str, Any], why: str) -> None:
    payload = {**DETAILS["session-detail-error"], **change}
    assert plain.read_session(payload) is None, why


def test_lenient_readings_shared_with_the_model_are_read_plainly() -> None:
    payload = {
        **DETAILS["session-detail-error"],
        "completionStatus": 500,
        "endState": "  ",
        "events": None,
        "meetingIds": None,
        "createdAt": "2026-10-30T16:02:11.5+02:00",
        "unknownField": {"kept": "by the model only"},
    }
    reading = plain.read_session(payload)
    assert reading is not None
    assert (reading.completion_status, reading.end_state, reading.events) == ("500", None, ())
    assert reading.created_at is not None and reading.created_at.isoformat() == "2026-10-30T14:02:11.500000+00:00"
    assert_same_reading(payload)


def test_not_an_object_is_left_to_the_model() -> None:
    payloads: tuple[object, ...] = (None, [], "session", 5)
    for payload in payloads:
        assert plain.read_session(payload) is None


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        [
            "500",
            " HTTP_ERROR ",
            "2026-10-30T14:02:11Z",
            "2026-10-30T14:02:11",
            "2026-10-30T14:02:11.093+05:30",
            "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11",
        ]
    ),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["t", "c", "m", "eventCode", "eventTs", "meetingId"]), inner, max_size=3)
    ),
    max_leaves=6,
)
_KEYS = st.sampled_from(
    [key for key, *_ in plain.SESSION_FIELDS] + [key for key, *_ in plain.METRICS_FIELDS] + ["session_id"]
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(DETAILS)), st.dictionaries(_KEYS, _VALUES, max_size=4), st.booleans())
def test_any_change_either_reads_as_the_model_does_or_is_declined(
    name: str, change: dict[str, Any], into_metrics: bool
) -> None:
    payload = json.loads(json.dumps(DETAILS[name]))
    metrics = payload.get("resourceMetrics")
    (metrics if into_metrics and isinstance(metrics, dict) else payload).update(change)
    assert_same_reading(payload)
