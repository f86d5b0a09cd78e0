"""What changed: which deployment an incident points at, and when rates are worth reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.explain.deploys import explain_change, failing_deployments, previous_of, suspect, went_live_times
from bot.store.records import DeploymentSeen, DeployRate, DeployRates

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
OLD, NEW = "19db578d-808c", "7c1e2f90-4d3b"
KNOWN = [DeploymentSeen(OLD, T0 - timedelta(days=30), None), DeploymentSeen(NEW, T0 - timedelta(minutes=6), None)]


@pytest.mark.parametrize(
    ("failures", "known", "started", "expected"),
    [
        ([NEW, NEW], KNOWN, T0, NEW),  # started 6 min after NEW went live
        ([NEW, NEW], KNOWN, T0 + timedelta(hours=2), None),  # long after, and only 2 failures
        ([NEW] * 4 + [OLD], KNOWN, T0 + timedelta(hours=2), NEW),  # 80% on one deployment
        ([NEW] * 3 + [OLD] * 2, KNOWN, T0 + timedelta(hours=2), None),  # spread out
        ([OLD] * 5, KNOWN[:1], T0, OLD),  # concentrated, though never seen changing
        ([OLD], KNOWN[:1], T0, None),  # the first deployment ever seen is no change
    ],
)
def test_suspect(failures: list[str], known: list[DeploymentSeen], started: datetime, expected: str | None) -> None:
    found = suspect(failing_deployments(failures, known), started)
    assert (found.deployment_id if found else None) == expected


def test_previous_of() -> None:
    assert previous_of(NEW, KNOWN) == OLD
    assert previous_of(OLD, KNOWN) is None


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
