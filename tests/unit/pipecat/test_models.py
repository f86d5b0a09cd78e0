"""The Pipecat models against the recorded API shapes in tests/fixtures/pipecat."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.pipecat.models import Agent, AgentList, Session, SessionPage
from tests.fixtures_pipecat import load_pipecat_fixture, pipecat_fixture_paths


def _session(name: str) -> Session:
    return Session.model_validate(load_pipecat_fixture(name))


def test_the_fixture_set_is_complete() -> None:
    names = {p.name for p in pipecat_fixture_paths()}
    assert {
        "session-detail-active.json",
        "session-detail-error.json",
        "session-detail-odd.json",
        "sessions-list-page.json",
        "error-404.json",
    } <= names


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
    assert not session.failed
    assert not session.matches({"HTTP_ERROR", "active"})


def test_error_fixture_duration_peak_and_error() -> None:
    session = _session("session-detail-error.json")
    assert session.duration == timedelta(seconds=57)
    # No peak field exists: the max sample (620756992) beats p99 (619917721).
    assert session.peak_memory_bytes == 620756992
    assert session.failed
    assert session.cold_start is True and session.bot_start_seconds == 7
    assert [e.event_code for e in session.events] == [
        "SESSION_START_INITIATED",
        "REQUEST_ARRIVED_AT_BOT",
        "SESSION_COMPLETED",
    ]
    assert session.resource_metrics is not None and len(session.resource_metrics.timeseries) == 12


def test_seed_fixture_peak_is_p99_when_samples_are_lower() -> None:
    session = _session("session-detail-seed.json")
    assert session.peak_memory_bytes == 268435456
    assert session.end_state is None and session.events == []
    assert session.meeting_ids[0].meeting_id == "f1e2d3c4-b5a6-9780-1234-567890abcdef"
    assert not session.failed


def test_list_page() -> None:
    page = SessionPage.model_validate(load_pipecat_fixture("sessions-list-page.json"))
    assert page.total_count == 57
    statuses = [s.completion_status for s in page.sessions]
    assert statuses == ["HTTP_ERROR", "HTTP_COMPLETED", "WS_CONNECTION_CLOSED"]
    assert [s.failed for s in page.sessions] == [True, False, True]  # ended_before_agent_start failed
    assert page.sessions[2].bot_start_seconds is None
    assert all(s.resource_metrics is None for s in page.sessions)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({"HTTP_ERROR", "BOT_CONNECTION_TIMEOUT"}, False),  # a watch filters on what it names
        ({"500"}, True),  # an unknown status is still a value to filter on
        ({"agent_start_timeout"}, True),  # endState matches too
        ({"AGENT_START_TIMEOUT"}, True),  # case-insensitive
        ({"HTTP_ERROR", "completed"}, False),
        (set(), False),
    ],
)
def test_matches_custom_statuses(statuses: set[str], expected: bool) -> None:
    assert _session("session-detail-odd.json").matches(statuses) is expected


def test_matches_end_state_of_a_completed_status() -> None:
    payload = {**load_pipecat_fixture("session-detail-error.json"), "completionStatus": "HTTP_COMPLETED"}
    session = Session.model_validate(payload)
    assert not session.failed  # completionStatus wins for what "failed" means...
    assert session.matches({"agent_error"})  # ...but a watch on agent_error still matches it


def test_the_odd_fixture_failed_although_no_default_alert_status_names_it() -> None:
    assert _session("session-detail-odd.json").failed  # "500": a server error


@given(st.text(min_size=1, max_size=40))
def test_any_completion_status_parses_and_filters(status: str) -> None:
    payload = {**load_pipecat_fixture("session-detail-error.json"), "completionStatus": status}
    session = Session.model_validate(payload)
    if status.strip():
        assert session.completion_status == status.strip()
        assert session.matches({status.strip()})
    else:
        assert session.completion_status is None


# -- agent status (GET /agents/{agent}) -----------------------------------------------------------

AGENT_FIXTURES = [p for p in pipecat_fixture_paths() if p.name.startswith("agent-status-")]


def _agent(name: str) -> Agent:
    return Agent.model_validate(load_pipecat_fixture(f"agent-status-{name}.json"))


def test_every_agent_status_fixture_is_in_the_set() -> None:
    assert {p.name for p in AGENT_FIXTURES} == {
        f"agent-status-{n}.json" for n in ("healthy", "crashloop", "oom", "at-capacity")
    }


@pytest.mark.parametrize("path", AGENT_FIXTURES, ids=lambda p: p.name)
def test_every_agent_status_fixture_parses_with_its_revision_and_scaling(path: Path) -> None:
    payload: Any = load_pipecat_fixture(path.name)
    agent = Agent.model_validate(payload)
    assert agent.name == payload["name"]
    assert agent.desired_deployment_id == payload["desiredDeploymentId"]
    assert agent.reconciled_deployment_id == payload["reconciledDeploymentId"]
    assert agent.auto_scaling is not None and agent.max_replicas == payload["autoScaling"]["maxReplicas"]
    assert agent.auto_scaling.min_replicas == payload["autoScaling"]["minReplicas"]
    assert agent.active_session_count == payload["activeSessionCount"]
    assert agent.deployment is not None and agent.deployment.id == payload["deployment"]["id"]
    assert agent.deployment.image == payload["deployment"]["manifest"]["spec"]["image"]
    assert agent.deployment.created_at is not None and agent.deployment.created_at.tzinfo is not None
    revision = agent.current_revision
    assert revision is not None and revision.deployment_id == payload["currentRevision"]["deploymentID"]
    assert revision.phase == payload["currentRevision"]["phase"]
    assert revision.health is not None
    assert revision.health.restart_count == payload["currentRevision"]["health"]["restartCount"]
    # The deprecated field is kept as sent, but not a modelled attribute anyone can rely on.
    assert "active_deployment_id" not in Agent.model_fields
    assert (agent.model_extra or {}).get("activeDeploymentId") == payload["activeDeploymentId"]


def test_crashloop_fixture_carries_the_failed_revision_and_its_traceback() -> None:
    agent = _agent("crashloop")
    revision = agent.current_revision
    assert revision is not None and revision.phase == "Failed" and revision.ready_replicas == 0
    assert revision.health is not None and revision.health.reason == "CrashLoopBackOff"
    assert revision.health.last_exit_code == 1 and revision.health.state == "waiting"
    assert revision.health.message is not None and "ModuleNotFoundError" in revision.health.message
    assert agent.previous_revision is not None and agent.previous_revision.phase == "Active"
    assert agent.previous_revision.deployment_id == "19db578d-808c-420a-a047-87edde4410c1"


def test_oom_fixture_and_healthy_fixture() -> None:
    oom = _agent("oom").current_revision
    assert oom is not None and oom.health is not None
    assert (oom.health.last_exit_code, oom.health.reason, oom.health.restart_count) == (137, "OOMKilled", 3)
    healthy = _agent("healthy")
    assert healthy.previous_revision is None and not healthy.rolling_out
    assert healthy.current_revision is not None and healthy.current_revision.has_infrastructure_issue is None


def test_agent_status_is_lenient_strings_unknown_phases_naive_times() -> None:
    agent = Agent.model_validate(
        {
            "name": "odd-bot",
            "activeSessionCount": "4",
            "autoScaling": {"minReplicas": "0", "maxReplicas": "5"},
            "desiredDeploymentId": "a",
            "reconciledDeploymentId": "b",
            "currentRevision": {
                "deploymentID": "a",
                "phase": "Hibernating",
                "readyReplicas": "2",
                "phaseStartedAt": "2026-11-30T14:04:40",
                "hasInfrastructureIssue": True,
                "health": {"restartCount": "7", "lastExitCode": "137", "state": "napping", "reason": ""},
            },
            "someFutureField": [1],
        }
    )
    assert agent.active_session_count == 4 and agent.max_replicas == 5 and agent.rolling_out
    revision = agent.current_revision
    assert revision is not None and revision.phase == "Hibernating" and revision.ready_replicas == 2
    assert revision.phase_started_at is not None and revision.phase_started_at.utcoffset() == timedelta(0)
    assert revision.has_infrastructure_issue is True
    assert revision.health is not None and revision.health.restart_count == 7
    assert revision.health.last_exit_code == 137 and revision.health.state == "napping"
    assert revision.health.reason is None  # blank means absent
    assert agent.model_extra is not None and agent.model_extra["someFutureField"] == [1]


def test_agents_list_fixture_parses_every_service_with_its_id() -> None:
    payload: Any = load_pipecat_fixture("agents-list.json")
    listed = AgentList.model_validate(payload).services
    assert [(a.name, a.id, a.region) for a in listed] == [
        (s["name"], s["id"], s["region"]) for s in payload["services"]
    ]
    support = listed[1]
    assert support.rolling_out and support.desired_deployment_id == "7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01"
    assert support.created_at is not None and support.created_at.tzinfo is not None
