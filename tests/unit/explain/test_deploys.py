"""What changed: which deployment an incident points at, and when rates are worth reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.triage import change_text
from bot.explain.deploys import (
    explain_change,
    failing_deployments,
    previous_of,
    replaced_pair,
    suspect,
    went_live_times,
)
from bot.store.records import DeploymentSeen, DeployRate, DeployRates

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
OLD, NEW = "19db578d-808c", "7c1e2f90-4d3b"
KNOWN = [DeploymentSeen(OLD, T0 - timedelta(days=30), None), DeploymentSeen(NEW, T0 - timedelta(minutes=6), None)]
#: The agent's first deployment, dated by its status a minute before the incident: no change.
FIRST = [DeploymentSeen(NEW, T0, T0 - timedelta(minutes=1))]
#: NEW alone is known, but the status said it replaced OLD (a Draining revision never seen).
REPLACING = [DeploymentSeen(NEW, T0, T0 - timedelta(minutes=6), replaced=OLD)]


@pytest.mark.parametrize(
    ("failures", "known", "started", "expected"),
    [
        ([NEW, NEW], KNOWN, T0, NEW),  # started 6 min after NEW went live
        ([NEW, NEW], KNOWN, T0 + timedelta(hours=2), None),  # long after, and only 2 failures
        ([NEW] * 4 + [OLD], KNOWN, T0 + timedelta(hours=2), NEW),  # 80% on one deployment
        ([NEW] * 3 + [OLD] * 2, KNOWN, T0 + timedelta(hours=2), None),  # spread out
        ([OLD] * 5, KNOWN[:1], T0, OLD),  # concentrated, though never seen changing
        ([OLD], KNOWN[:1], T0, None),  # the first deployment ever seen is no change
        ([NEW, NEW], FIRST, T0, None),  # the agent's first deployment, however recently live
        ([NEW, NEW], REPLACING, T0, NEW),  # it replaced one the status named
    ],
)
def test_suspect(failures: list[str], known: list[DeploymentSeen], started: datetime, expected: str | None) -> None:
    found = suspect(failing_deployments(failures, known), started, known)
    assert (found.deployment_id if found else None) == expected


def test_previous_of() -> None:
    assert previous_of(NEW, KNOWN) == OLD
    assert previous_of(OLD, KNOWN) is None
    assert previous_of(NEW, REPLACING) == OLD  # from the status, though never seen
    assert previous_of(NEW, FIRST) is None
    # The status's word beats the order the app happened to see deployments in.
    other = [DeploymentSeen("a0", T0 - timedelta(days=1), None), *REPLACING]
    assert previous_of(NEW, other) == OLD


def test_a_first_deployment_is_never_called_a_change() -> None:
    change = explain_change([NEW] * 3, FIRST, T0, None, T0)
    assert change is not None and change.started_after is None
    text = change_text(change)
    assert "Failing on deployment `7c1e2f90`" in text and "Started" not in text


def test_failures_that_continue_on_a_newer_deployment_are_said_to() -> None:
    known = [*KNOWN, DeploymentSeen("9f00aa11-2222", T0 + timedelta(minutes=20), T0 + timedelta(minutes=20))]
    change = explain_change([NEW] * 4 + ["9f00aa11-2222"] * 2, known, T0, None, T0 + timedelta(minutes=25))
    assert change is not None and change.started_after == (NEW, 6) and change.continues_on == "9f00aa11-2222"
    assert "Failures continue on the newer deployment `9f00aa11`" in change_text(change)
    before = explain_change([NEW] * 4, KNOWN, T0, None, T0)
    assert before is not None and before.continues_on is None


def test_rates_are_shown_suspect_first_and_only_while_fresh() -> None:
    rates = DeployRates(T0, 3600, (DeployRate(OLD, 40, 1), DeployRate(NEW, 8, 6)))
    change = explain_change([NEW] * 6, KNOWN, T0, rates, T0 + timedelta(minutes=5))
    assert change is not None
    assert change.started_after == (NEW, 6)
    assert [r.deployment_id for r in change.rates] == [NEW, OLD]
    stale = explain_change([NEW] * 6, KNOWN, T0, rates, T0 + timedelta(hours=2))
    assert stale is not None and stale.rates == ()


def test_no_deployment_no_change() -> None:
    assert explain_change([None, None], KNOWN, T0, None, T0) is None


def test_went_live_times_from_the_agent_status_fixtures() -> None:
    from tests.fixtures_pipecat import load_pipecat_fixture

    crashloop = went_live_times(load_pipecat_fixture("agent-status-crashloop.json"))
    # The new deployment was created at 14:02:05 (its revision Failed: never live); the previous
    # revision is Active since 2025-04-19.
    assert crashloop["7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01"] == datetime(2026, 11, 30, 14, 2, 5, tzinfo=UTC)
    assert crashloop["19db578d-808c-420a-a047-87edde4410c1"] == datetime(2025, 4, 19, 1, 26, tzinfo=UTC)
    healthy = went_live_times(load_pipecat_fixture("agent-status-healthy.json"))
    assert healthy == {"19db578d-808c-420a-a047-87edde4410c1": datetime(2025, 4, 19, 1, 26, tzinfo=UTC)}
    assert went_live_times({"deployment": None, "currentRevision": "odd"}) == {}


def test_replaced_pair_takes_the_previous_revision_whatever_its_phase() -> None:
    from tests.fixtures_pipecat import load_pipecat_fixture

    crashloop = load_pipecat_fixture("agent-status-crashloop.json")
    pair = ("7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01", "19db578d-808c-420a-a047-87edde4410c1")
    assert replaced_pair(crashloop) == pair
    draining = {**crashloop, "previousRevision": {**crashloop["previousRevision"], "phase": "Draining"}}
    assert replaced_pair(draining) == pair
    assert replaced_pair(load_pipecat_fixture("agent-status-healthy.json")) is None  # previousRevision null
    no_revision = {**crashloop, "currentRevision": None}
    assert replaced_pair(no_revision) == (crashloop["deployment"]["id"], pair[1])
    assert replaced_pair({"previousRevision": "odd"}) is None
