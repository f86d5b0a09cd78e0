"""What each webhook event makes the app do (bot/webhooks/decide.py), as a table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.webhooks import decide as d
from tests.unit.webhooks.fixtures import stored

AT = datetime(2026, 8, 25, 11, 40, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("api_key.rotated", []),
        ("build.failed", []),
        ("build.succeeded", []),
        ("secret.updated", []),
        ("session.started", []),
        ("org.trial_ended", [(d.OpenAlert, d.TRIAL_ENDED, None)]),
        ("spend.limit_reached", [(d.OpenAlert, d.SPEND_LIMIT, None)]),
        ("spend.limit_cleared", [(d.ResolveAlert, d.SPEND_LIMIT, None)]),
        ("spend.threshold_reached", [(d.Warn, d.SPEND_THRESHOLD, None)]),
        ("service.suspended", [(d.OpenAlert, d.SUSPENDED, "voice-agent")]),
        ("service.resumed", [(d.ResolveAlert, d.SUSPENDED, "voice-agent"), (d.ResolveAlert, d.TRIAL_ENDED, None)]),
        ("deployment.updated", [(d.DateDeployment, None, "voice-agent"), (d.ReadStatus, None, "voice-agent")]),
    ],
)
def test_each_event_s_effects(event_type: str, expected: list[tuple[type, str | None, str | None]]) -> None:
    found = []
    for effect in d.decide(stored(event_type)):
        kind = effect.alert.kind if isinstance(effect, d.OpenAlert | d.Warn) else getattr(effect, "kind", None)
        found.append((type(effect), kind, getattr(effect, "agent", None)))
    assert found == expected


def test_a_spend_limit_is_critical_and_says_what_stops_and_what_goes_on() -> None:
    [effect] = d.decide(stored("spend.limit_reached"))
    assert isinstance(effect, d.OpenAlert) and effect.alert.severity == "critical"
    assert "402 SPEND_LIMIT_REACHED" in effect.alert.title
    assert effect.alert.facts[:2] == ("spend $100.00 of a $100.00 limit", "sessions in progress continue")


def test_a_threshold_is_a_warning_with_the_percent() -> None:
    [effect] = d.decide(stored("spend.threshold_reached"))
    assert isinstance(effect, d.Warn) and effect.alert.severity == "warning"
    assert effect.alert.title.startswith("Spend at 80% of the limit") and "spend $80.00 of a $100.00 limit" in (
        effect.alert.facts
    )


@pytest.mark.parametrize(
    ("reason", "says", "todo"),
    [
        ("trial_exhausted", "the free trial is exhausted", "add a payment method"),
        ("account_suspended", "the account is suspended", "contact Pipecat Cloud support"),
        ("billing_review", "billing review", "see the Pipecat Cloud dashboard"),
        (None, "no reason given", "see the Pipecat Cloud dashboard"),
    ],
)
def test_a_suspension_says_why_and_what_to_do(reason: str | None, says: str, todo: str) -> None:
    data = {"service_id": "s", "service_name": "voice-agent", "region": "us-west-2", "reason": reason}
    [effect] = d.decide(stored("service.suspended", data, at=AT))
    assert isinstance(effect, d.OpenAlert) and effect.agent == "voice-agent"
    assert says in effect.alert.title and any(todo in fact for fact in effect.alert.facts)


def test_a_deployment_is_dated_by_its_event() -> None:
    date, read = d.decide(stored("deployment.updated"))
    assert date == d.DateDeployment("voice-agent", "d1f7b2c8-4e35-4a90-8c62-7b1e9a0f3d44", AT)
    assert read == d.ReadStatus("voice-agent")


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("deployment.updated", {"service_name": "voice-agent"}),  # no deployment id
        ("deployment.created", {"deployment_id": "d", "service_name": "not an agent!"}),
        ("service.suspended", {"service_name": "../x"}),
        ("spend.threshold_reached", {"percent": "eighty"}),
        ("agent.renamed", {"from": "a"}),
    ],
)
def test_data_that_does_not_fit_or_an_unknown_type_does_nothing(event_type: str, data: dict[str, object]) -> None:
    assert d.decide(stored(event_type, data, at=AT)) == []


def test_webhook_alert_keys_are_told_apart_from_health_conditions() -> None:
    assert d.is_webhook_condition(d.condition_key(d.SPEND_LIMIT))
    assert not d.is_webhook_condition("revision:7c1e2f90")
