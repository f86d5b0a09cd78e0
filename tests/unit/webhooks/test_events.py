"""Every documented webhook payload parses into its model; new fields and new types break nothing."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.webhooks import events as ev
from tests.unit.webhooks.fixtures import fixture_body, fixture_names


@pytest.mark.parametrize("name", fixture_names())
def test_each_fixture_is_an_envelope_whose_data_fits_its_model(name: str) -> None:
    envelope = ev.Envelope.model_validate_json(fixture_body(name))
    assert envelope.event_type == name and envelope.org == "acme-co" and envelope.created_at is not None
    model = ev.model_for(name)
    assert model is not None and isinstance(ev.parse_data(name, envelope.data), model)
    assert ev.metric_label(name) == name


def test_fields_pipecat_adds_later_are_ignored() -> None:
    body = json.loads(fixture_body("deployment.updated"))
    body["data"]["replicas"] = 3
    body["trace_id"] = "abc"
    envelope = ev.Envelope.model_validate(body)
    data = ev.parse_data(envelope.event_type, envelope.data)
    assert isinstance(data, ev.DeploymentEvent) and data.service_name == "voice-agent"


def test_an_unknown_type_is_no_model_and_counts_as_other() -> None:
    assert ev.parse_data("agent.renamed", {"x": 1}) is None
    assert ev.metric_label("agent.renamed") == ev.OTHER == ev.metric_label("x" * 100)


def test_a_known_type_without_what_it_is_about_is_refused() -> None:
    with pytest.raises(ValidationError):
        ev.parse_data("deployment.updated", {"service_name": "voice-agent"})


@pytest.mark.parametrize(
    ("body", "created"),
    [
        ({"event_type": "x.y", "created_at": "not a date", "data": {}}, None),
        ({"event_type": "x.y"}, None),
    ],
)
def test_an_envelope_tolerates_a_missing_or_odd_time(body: dict[str, object], created: object) -> None:
    assert ev.Envelope.model_validate(body).created_at is created


@pytest.mark.parametrize(
    "body", [{"data": {}}, {"event_type": "", "data": {}}, {"event_type": "a.b", "data": [1]}, {"event_type": 5}]
)
def test_an_envelope_without_a_type_or_with_data_that_is_no_object_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ev.Envelope.model_validate(body)


@pytest.mark.parametrize(
    ("event_type", "data", "agent"),
    [
        ("deployment.updated", {"service_name": "voice-agent"}, "voice-agent"),
        ("service.suspended", {"service_name": "voice-agent"}, "voice-agent"),
        ("session.started", {"service": "voice-agent"}, "voice-agent"),
        ("deployment.created", {"service_name": "../etc"}, None),  # not an agent name
        ("secret.updated", {"service_name": "voice-agent"}, None),  # organization-wide
        ("build.succeeded", {"build_id": "b"}, None),
    ],
)
def test_the_agent_an_event_is_about(event_type: str, data: dict[str, object], agent: str | None) -> None:
    assert ev.agent_of(event_type, data) == agent
