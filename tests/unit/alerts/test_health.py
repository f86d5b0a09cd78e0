"""Agent health decisions, table-tested over the recorded status fixtures and edits of them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts import health as h
from bot.pipecat.models import Agent
from tests.fixtures_pipecat import load_pipecat_fixture

NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
BAD = "7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01"
GOOD = "19db578d-808c-420a-a047-87edde4410c1"


def status(name: str = "healthy", **changes: Any) -> Agent:
    """A fixture with `changes` applied; dotted keys reach into currentRevision / its health."""
    payload: dict[str, Any] = copy.deepcopy(load_pipecat_fixture(f"agent-status-{name}.json"))
    for dotted, value in changes.items():
        target = payload
        *path, last = dotted.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return Agent.model_validate(payload)


def kinds(agent: Agent, memory: h.Memory | None = None, now: datetime = NOW, warn: float = 80) -> set[str]:
    return {f.kind for f in h.evaluate(agent, memory or h.Memory(), now, warn_percent=warn).findings.values()}


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (status("healthy"), set()),
        (status("crashloop"), {h.REVISION}),
        (status("healthy", currentRevision__phase="Failed"), {h.REVISION}),
        (status("healthy", currentRevision__health__reason="ImagePullBackOff"), {h.REVISION}),
        (status("healthy", currentRevision__health__reason="Error"), {h.REVISION}),
        (status("healthy", currentRevision__health__reason="Completed"), set()),  # open value, not bad
        (status("oom"), {h.OOM}),
        (status("healthy", currentRevision__hasInfrastructureIssue=True), {h.INFRASTRUCTURE}),
        (status("healthy", available=False), {h.UNAVAILABLE}),
        (status("healthy", currentRevision__phase="Hibernating"), set()),  # unknown phase: no crash
        (status("at-capacity"), {h.CAPACITY_WARN, h.AT_CAPACITY}),
        (status("healthy", activeSessionCount=8), {h.CAPACITY_WARN}),
        (status("healthy", activeSessionCount=7), set()),
        (status("healthy", autoScaling=None, activeSessionCount=50), set()),  # no maximum: no verdict
    ],
    ids=lambda v: "" if isinstance(v, Agent) else ",".join(sorted(v)) or "none",
)
def test_which_conditions_a_status_shows(agent: Agent, expected: set[str]) -> None:
    assert kinds(agent) == expected


def test_the_crash_loop_finding_names_the_revision_and_quotes_its_traceback() -> None:
    finding = h.evaluate(status("crashloop"), h.Memory(), NOW, warn_percent=80).findings[f"revision:{BAD}"]
    assert finding.title == "Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)"
    assert finding.short == "new revision 7c1e2f90 crash-looping"
    assert finding.message is not None and "ModuleNotFoundError" in finding.message
    assert "6 restart(s)" in finding.facts and "last exit code 1" in finding.facts
    assert finding.severity == "critical"


def test_exit_137_counts_only_while_restarts_rise_and_clears_after_a_quiet_spell() -> None:
    oomish = {"currentRevision__health__lastExitCode": 137, "currentRevision__health__restartCount": 2}
    first = h.evaluate(status("healthy", **oomish), h.Memory(), NOW, warn_percent=80)
    assert {f.kind for f in first.findings.values()} == {h.OOM}  # restarts already happened
    later = NOW + timedelta(minutes=5)
    steady = h.evaluate(status("healthy", **oomish), first.memory, later, warn_percent=80)
    assert h.OOM in {f.kind for f in steady.findings.values()}  # still within the quiet window
    quiet = h.evaluate(status("healthy", **oomish), steady.memory, NOW + h.OOM_QUIET_AFTER, warn_percent=80)
    assert quiet.findings == {}
    rising = {**oomish, "currentRevision__health__restartCount": 3}
    again = h.evaluate(status("healthy", **rising), quiet.memory, NOW + h.OOM_QUIET_AFTER, warn_percent=80)
    assert {f.kind for f in again.findings.values()} == {h.OOM}
    # A non-OOM exit never opens it, however much the restarts rise.
    crashy = {"currentRevision__health__lastExitCode": 1, "currentRevision__health__restartCount": 9}
    assert kinds(status("healthy", **crashy), again.memory) == set()


def test_a_rollout_is_stuck_only_after_ten_minutes_counted_from_the_deployment() -> None:
    pending = {"desiredDeploymentId": BAD, "deployment__id": BAD,
               "deployment__createdAt": (NOW - timedelta(minutes=9)).isoformat()}
    assert kinds(status("healthy", **pending)) == set()
    stuck = h.evaluate(status("healthy", **pending), h.Memory(), NOW + timedelta(minutes=2), warn_percent=80)
    finding = stuck.findings[f"rollout:{BAD}"]
    assert finding.title == "Rollout of deployment 7c1e2f90 is stuck (11 min; still running 19db578d)"
    # Without a creation time it counts from the first read that saw it pending.
    unknown = {"desiredDeploymentId": BAD}
    seen = h.evaluate(status("healthy", **unknown), h.Memory(), NOW, warn_percent=80)
    assert seen.findings == {} and seen.memory.rollout_since == NOW
    assert kinds(status("healthy", **unknown), seen.memory, NOW + timedelta(minutes=11)) == {h.ROLLOUT}
    done = h.evaluate(status("healthy"), seen.memory, NOW + timedelta(minutes=12), warn_percent=80)
    assert done.findings == {} and done.memory.rollout_since is None


@pytest.mark.parametrize(
    ("active_series", "levels"),
    [
        ([7, 8, 7, 8, 6, 8], [None, "warn", "warn", "warn", None, "warn"]),  # 80% in, below 70% out
        ([10, 9, 10, 8], ["full", "full", "full", "warn"]),  # full until below 90%
        ([0, 10, 5], [None, "full", None]),
    ],
)
def test_capacity_levels_have_hysteresis(active_series: list[int], levels: list[str | None]) -> None:
    previous: str | None = None
    seen = []
    for active in active_series:
        previous = h.capacity_level(active, 10, previous, 80)
        seen.append(previous)
    assert seen == levels


def test_jumping_straight_to_capacity_posts_only_the_at_capacity_alert() -> None:
    found = h.evaluate(status("at-capacity"), h.Memory(), NOW, warn_percent=80).findings
    assert found[h.CAPACITY_WARN].quiet and not found[h.AT_CAPACITY].quiet
    assert found[h.AT_CAPACITY].title == "At capacity: new sessions are refused (429 PCC-AGENT-AT-CAPACITY)"
    assert h.health_line(found.values()) == "Agent health: at capacity (10/10)"


def test_transitions_open_new_and_clear_gone_conditions_once() -> None:
    now_found = h.evaluate(status("crashloop", available=False), h.Memory(), NOW, warn_percent=80).findings
    first = h.transitions([], now_found)
    assert {f.kind for f in first.opened} == {h.REVISION, h.UNAVAILABLE} and first.cleared == []
    persisting = h.transitions(now_found, now_found)
    assert persisting.opened == [] and persisting.cleared == []
    recovered = h.transitions(now_found, {})
    assert recovered.opened == [] and set(recovered.cleared) == set(now_found)


def test_a_second_bad_deploy_is_a_new_condition() -> None:
    one = h.evaluate(status("crashloop"), h.Memory(), NOW, warn_percent=80).findings
    other = "aaaaaaaa-0000-4000-8000-000000000000"
    two = h.evaluate(status("crashloop", currentRevision__deploymentID=other), h.Memory(), NOW,
                     warn_percent=80).findings
    moved = h.transitions(one, two)
    assert [f.key for f in moved.opened] == [f"revision:{other}"] and moved.cleared == [f"revision:{BAD}"]


def test_health_line_orders_by_severity_and_is_empty_when_healthy() -> None:
    found = h.evaluate(status("crashloop", activeSessionCount=8), h.Memory(), NOW, warn_percent=80).findings
    assert h.health_line(found.values()) == "Agent health: new revision 7c1e2f90 crash-looping; busy 8/10"
    assert h.health_line([]) is None


def test_memory_and_findings_survive_a_json_round_trip() -> None:
    evaluation = h.evaluate(status("oom", desiredDeploymentId=BAD, activeSessionCount=9), h.Memory(), NOW,
                            warn_percent=80)
    assert h.Memory.from_json(evaluation.memory.to_json()) == evaluation.memory
    for finding in evaluation.findings.values():
        assert h.Finding.from_json(finding.to_json()) == finding
    assert h.Memory.from_json({"capacity_level": "bogus", "restart_count": "x"}) == h.Memory()
