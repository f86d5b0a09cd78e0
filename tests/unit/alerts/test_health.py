"""Agent health decisions over one read, table-tested over the recorded status fixtures and edits
of them (what happens over many reads is tests/unit/alerts/test_health_states.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts.health import assess as h
from bot.alerts.policy import CAPACITY_HYSTERESIS_SESSIONS as HYST
from bot.pipecat.models import Agent
from tests.fixtures_pipecat import load_pipecat_fixture

NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
BAD = "7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01"


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
    return {
        f.kind
        for f in h.evaluate(
            agent, memory or h.Memory(), now, warn_percent=warn, capacity_hysteresis=HYST
        ).findings.values()
    }


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
    finding = h.evaluate(status("crashloop"), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings[
        f"revision:{BAD}"
    ]
    assert finding.title == "Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)"
    assert finding.short == "new revision 7c1e2f90 crash-looping"
    assert finding.message is not None and "ModuleNotFoundError" in finding.message
    assert "6 restart(s)" in finding.facts and "last exit code 1" in finding.facts
    assert finding.severity == "critical"


def test_exit_137_counts_only_while_restarts_rise_and_clears_after_a_quiet_spell() -> None:
    oomish = {"currentRevision__health__lastExitCode": 137, "currentRevision__health__restartCount": 2}
    first = h.evaluate(status("healthy", **oomish), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST)
    assert {f.kind for f in first.findings.values()} == {h.OOM}  # restarts already happened
    later = NOW + timedelta(minutes=5)
    steady = h.evaluate(status("healthy", **oomish), first.memory, later, warn_percent=80, capacity_hysteresis=HYST)
    assert h.OOM in {f.kind for f in steady.findings.values()}  # still within the quiet window
    quiet = h.evaluate(
        status("healthy", **oomish), steady.memory, NOW + h.OOM_QUIET_AFTER, warn_percent=80, capacity_hysteresis=HYST
    )
    assert quiet.findings == {}
    rising = {**oomish, "currentRevision__health__restartCount": 3}
    again = h.evaluate(
        status("healthy", **rising), quiet.memory, NOW + h.OOM_QUIET_AFTER, warn_percent=80, capacity_hysteresis=HYST
    )
    assert {f.kind for f in again.findings.values()} == {h.OOM}
    # A non-OOM exit never opens it, however much the restarts rise.
    crashy = {"currentRevision__health__lastExitCode": 1, "currentRevision__health__restartCount": 9}
    assert kinds(status("healthy", **crashy), again.memory) == set()


def test_a_rollout_is_stuck_only_after_ten_minutes_counted_from_the_deployment() -> None:
    pending = {
        "desiredDeploymentId": BAD,
        "deployment__id": BAD,
        "deployment__createdAt": (NOW - timedelta(minutes=9)).isoformat(),
    }
    assert kinds(status("healthy", **pending)) == set()
    stuck = h.evaluate(
        status("healthy", **pending), h.Memory(), NOW + timedelta(minutes=2), warn_percent=80, capacity_hysteresis=HYST
    )
    finding = stuck.findings[f"rollout:{BAD}"]
    assert finding.title == "Rollout of deployment 7c1e2f90 is stuck (11 min; still running 19db578d)"
    # Without a creation time it counts from the first read that saw it pending.
    unknown = {"desiredDeploymentId": BAD}
    seen = h.evaluate(status("healthy", **unknown), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST)
    assert seen.findings == {} and seen.memory.rollout_since == NOW
    assert kinds(status("healthy", **unknown), seen.memory, NOW + timedelta(minutes=11)) == {h.ROLLOUT}
    done = h.evaluate(
        status("healthy"), seen.memory, NOW + timedelta(minutes=12), warn_percent=80, capacity_hysteresis=HYST
    )
    assert done.findings == {} and done.memory.rollout_since is None


@pytest.mark.parametrize(
    ("max_replicas", "active_series", "levels"),
    [
        (10, [7, 8, 7, 8, 6, 8], [None, "warn", "warn", "warn", None, "warn"]),  # 8 in, below 7 out
        (10, [10, 9, 10, 8], ["full", "full", "full", "warn"]),  # full until below 9
        (10, [0, 10, 5], [None, "full", None]),
        # 3 replicas: one session is 33 points, so the band is a session, not 10 points. An agent
        # hovering at the line (2 <-> 3 of 3) stays at capacity instead of flapping.
        (3, [3, 2, 3, 2, 3], ["full"] * 5),
        (3, [2, 3, 1], [None, "full", None]),  # 80% of 3 is 2.4: warns from 3 sessions
        (1, [1, 0, 1], ["full", None, "full"]),  # no band reaches down to an idle agent
    ],
)
def test_capacity_levels_have_hysteresis_in_sessions(
    max_replicas: int, active_series: list[int], levels: list[str | None]
) -> None:
    previous: str | None = None
    seen = []
    for active in active_series:
        previous = h.capacity_level(active, max_replicas, previous, 80, HYST)
        seen.append(previous)
    assert seen == levels


def test_capacity_counts_sessions_against_max_replicas_never_as_replicas() -> None:
    over = h.evaluate(
        status("healthy", activeSessionCount=5, autoScaling={"maxReplicas": 3}),
        h.Memory(),
        NOW,
        warn_percent=80,
        capacity_hysteresis=HYST,
    ).findings
    text = " ".join(f"{f.title} {f.short} {' '.join(f.facts)}" for f in over.values())
    assert "replicas busy" not in text
    assert over[h.AT_CAPACITY].facts == ("5 active sessions (maxReplicas 3), 167%",)
    assert over[h.CAPACITY_WARN].title == "Capacity warning: 5 active sessions (maxReplicas 3), 167%"


def test_jumping_straight_to_capacity_posts_only_the_at_capacity_alert() -> None:
    found = h.evaluate(status("at-capacity"), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings
    assert found[h.CAPACITY_WARN].quiet and not found[h.AT_CAPACITY].quiet
    assert found[h.AT_CAPACITY].title == "At capacity: new sessions are refused (429 PCC-AGENT-AT-CAPACITY)"
    assert h.health_line(found.values()) == "Agent health: at capacity (10 sessions of maxReplicas 10)"


def test_a_second_bad_deploy_is_a_new_condition_and_the_first_one_is_positively_over() -> None:
    one = h.evaluate(status("crashloop"), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings
    other = "aaaaaaaa-0000-4000-8000-000000000000"
    moved = status("crashloop", currentRevision__deploymentID=other)
    two = h.evaluate(moved, h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings
    assert set(two) == {f"revision:{other}"} and set(one) == {f"revision:{BAD}"}
    assert not h.silent_on(moved, f"revision:{BAD}")  # another revision runs: over, not unknown


TRIMMED_KEYS = [
    f"revision:{BAD}",
    f"oom:{BAD}",
    f"infrastructure:{BAD}",
    "unavailable",
    f"rollout:{BAD}",
    "capacity-warn",
    "at-capacity",
]


@pytest.mark.parametrize(
    ("agent", "silent"),
    [
        (status("crashloop"), set()),  # a complete answer speaks about every condition
        (status("crashloop", currentRevision=None), {f"revision:{BAD}", f"oom:{BAD}", f"infrastructure:{BAD}"}),
        (status("crashloop", currentRevision__health=None), {f"revision:{BAD}", f"oom:{BAD}"}),
        (status("crashloop", currentRevision__phase=None), {f"revision:{BAD}", f"infrastructure:{BAD}"}),
        (status("crashloop", currentRevision__health__restartCount=None), {f"oom:{BAD}"}),
        (status("crashloop", available=None), {"unavailable"}),
        (status("crashloop", reconciledDeploymentId=None), {f"rollout:{BAD}"}),
        (status("crashloop", activeSessionCount=None), {"capacity-warn", "at-capacity"}),
        (status("crashloop", autoScaling=None), {"capacity-warn", "at-capacity"}),
    ],
    ids=[
        "complete",
        "no-revision",
        "no-health",
        "no-phase",
        "no-restarts",
        "no-available",
        "no-reconciled",
        "no-sessions",
        "no-max",
    ],
)
def test_a_status_missing_fields_is_silent_on_the_conditions_judged_on_them(agent: Agent, silent: set[str]) -> None:
    assert {key for key in TRIMMED_KEYS if h.silent_on(agent, key)} == silent


def test_a_status_missing_fields_keeps_what_the_last_read_left() -> None:
    oomish = status("oom")
    first = h.evaluate(oomish, h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST)
    trimmed = status("oom", currentRevision=None, desiredDeploymentId=None, activeSessionCount=None)
    later = h.evaluate(trimmed, first.memory, NOW + timedelta(minutes=2), warn_percent=80, capacity_hysteresis=HYST)
    assert later.findings == {} and later.memory == first.memory


def test_health_line_orders_by_severity_and_is_empty_when_healthy() -> None:
    found = h.evaluate(
        status("crashloop", activeSessionCount=8), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST
    ).findings
    assert h.health_line(found.values()) == (
        "Agent health: new revision 7c1e2f90 crash-looping; 8 sessions of maxReplicas 10"
    )
    assert h.health_line([]) is None


def test_memory_and_findings_survive_a_json_round_trip() -> None:
    evaluation = h.evaluate(
        status("oom", desiredDeploymentId=BAD, activeSessionCount=9),
        h.Memory(),
        NOW,
        warn_percent=80,
        capacity_hysteresis=HYST,
    )
    assert h.Memory.from_json(evaluation.memory.to_json()) == evaluation.memory
    for finding in evaluation.findings.values():
        assert h.Finding.from_json(finding.to_json()) == finding
    assert h.Memory.from_json({"capacity_level": "bogus", "restart_count": "x"}) == h.Memory()
