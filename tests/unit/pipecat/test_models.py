"""The Pipecat models against the recorded API shapes in tests/fixtures/pipecat."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.pipecat.models import ERROR_STATUSES, Session, SessionPage
from tests.fixtures_pipecat import load_pipecat_fixture, pipecat_fixture_paths


def _session(name: str) -> Session:
    return Session.model_validate(load_pipecat_fixture(name))


def test_the_fixture_set_is_complete() -> None:
    names = {p.name for p in pipecat_fixture_paths()}
    assert {"session-detail-active.json", "session-detail-error.json", "session-detail-odd.json",
            "sessions-list-page.json", "error-404.json"} <= names


SESSION_FIXTURES = [p for p in pipecat_fixture_paths() if p.name.startswith(("session", "error-"))]


@pytest.mark.parametrize("path", SESSION_FIXTURES, ids=lambda p: p.name)
def test_every_session_fixture_parses_as_what_it_is(path: Path) -> None:
    payload: Any = load_pipecat_fixture(path.name)
    if path.name.startswith("session-detail-"):
        session = Session.model_validate(payload)
        assert session.session_id == payload["sessionId"]
    elif path.name.startswith("sessions-list"):
        page = SessionPage.model_validate(payload)
        assert len(page.sessions) == len(payload["sessions"])
    else:
        assert path.name.startswith("error-")
        with pytest.raises(ValidationError):
            Session.model_validate(payload)
        with pytest.raises(ValidationError):
            SessionPage.model_validate(payload)


def test_odd_fixture_keeps_strings_unknown_statuses_and_extra_fields() -> None:
    session = _session("session-detail-odd.json")
    assert session.peak_memory_bytes == 1073741824  # "1073741824" as a string, no samples
    assert session.resource_metrics is not None and session.resource_metrics.memory_bytes_p50 == 0
    assert session.completion_status == "500"
    assert session.end_state == "agent_start_timeout"
    assert session.meeting_ids == []  # null in the payload
    assert session.model_extra is not None
    assert session.model_extra["region"] == "us-west"
    assert session.model_extra["someFutureField"] == {"nested": [1, 2, 3]}
    assert session.duration == timedelta(seconds=31)


def test_active_fixture_has_no_duration_or_peak() -> None:
    session = _session("session-detail-active.json")
    assert session.is_active
    assert session.duration is None
    assert session.peak_memory_bytes is None
    assert session.completion_status is None and session.cold_start is None
    assert not session.is_error()
    assert not session.is_error({"HTTP_ERROR", "active"})


def test_error_fixture_duration_peak_and_error() -> None:
    session = _session("session-detail-error.json")
    assert session.duration == timedelta(seconds=57)
    # No peak field exists: the max sample (620756992) beats p99 (619917721).
    assert session.peak_memory_bytes == 620756992
    assert session.is_error()
    assert session.cold_start is True and session.bot_start_seconds == 7
    assert [e.event_code for e in session.events] == [
        "SESSION_START_INITIATED", "REQUEST_ARRIVED_AT_BOT", "SESSION_COMPLETED"]
    assert session.resource_metrics is not None and len(session.resource_metrics.timeseries) == 12


def test_seed_fixture_peak_is_p99_when_samples_are_lower() -> None:
    session = _session("session-detail-seed.json")
    assert session.peak_memory_bytes == 268435456
    assert session.end_state is None and session.events == []
    assert session.meeting_ids[0].meeting_id == "f1e2d3c4-b5a6-9780-1234-567890abcdef"
    assert not session.is_error()


def test_list_page() -> None:
    page = SessionPage.model_validate(load_pipecat_fixture("sessions-list-page.json"))
    assert page.total_count == 57
    statuses = [s.completion_status for s in page.sessions]
    assert statuses == ["HTTP_ERROR", "HTTP_COMPLETED", "WS_CONNECTION_CLOSED"]
    assert [s.is_error() for s in page.sessions] == [True, False, False]
    assert page.sessions[2].bot_start_seconds is None
    assert all(s.resource_metrics is None for s in page.sessions)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (ERROR_STATUSES, False),  # "500" is not in the default set
        ({"500"}, True),  # an unknown status is still a value to filter on
        ({"agent_start_timeout"}, True),  # endState matches too
        ({"AGENT_START_TIMEOUT"}, True),  # case-insensitive
        ({"HTTP_ERROR", "completed"}, False),
        (set(), False),
    ],
)
def test_is_error_with_custom_statuses(statuses: set[str], expected: bool) -> None:
    assert _session("session-detail-odd.json").is_error(statuses) is expected


def test_is_error_matches_end_state_of_a_completed_status() -> None:
    payload = {**load_pipecat_fixture("session-detail-error.json"), "completionStatus": "HTTP_COMPLETED"}
    session = Session.model_validate(payload)
    assert not session.is_error()
    assert session.is_error({"agent_error"})


@given(st.text(min_size=1, max_size=40))
def test_any_completion_status_parses_and_filters(status: str) -> None:
    payload = {**load_pipecat_fixture("session-detail-error.json"), "completionStatus": status}
    session = Session.model_validate(payload)
    if status.strip():
        assert session.completion_status == status.strip()
        assert session.is_error({status.strip()})
    else:
        assert session.completion_status is None
