"""The PagerDuty stand-in over real HTTP: it answers as the Events API v2 documents."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.pagerduty.standin import PagerDutyStandIn
from tests.fixtures_pagerduty import ROUTING_KEY

PAYLOAD = {"summary": "voice-bot: 2 sessions failed", "source": "voice-bot", "severity": "error"}


def trigger(dedup_key: str = "k1", **overrides: Any) -> dict[str, Any]:
    return {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": PAYLOAD,
        **overrides,
    }


async def post(url: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        if isinstance(body, bytes):
            return await http.post(url, content=body, headers={"Content-Type": "application/json"})
        return await http.post(url, json=body)


async def test_a_valid_trigger_is_accepted_with_its_dedup_key(
    pagerduty_url: str, pagerduty_standin: PagerDutyStandIn
) -> None:
    response = await post(pagerduty_url, trigger())
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "k1"}
    [alert] = pagerduty_standin.alerts
    assert (alert.dedup_key, alert.status, alert.summary) == ("k1", "triggered", PAYLOAD["summary"])


async def test_a_trigger_without_a_key_gets_one_minted(pagerduty_url: str) -> None:
    body = trigger()
    del body["dedup_key"]
    first, second = [(await post(pagerduty_url, body)).json()["dedup_key"] for _ in range(2)]
    assert first and second and first != second  # each keyless trigger is a new alert


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"routing_key": "short"}, "Length of 'routing_key' is incorrect (should be 32 characters)"),
        ({"routing_key": "R" * 31 + "!"}, "'routing_key' cannot contain non-alphanumeric characters."),
        ({"routing_key": "Z" * 32}, "Invalid routing key"),
        ({"routing_key": None}, "'routing_key' is missing or blank"),
        ({"event_action": "escalate"}, "'event_action' must be one of trigger, acknowledge or resolve"),
        ({"dedup_key": "x" * 256}, "'dedup_key' is too long (maximum is 255 characters)"),
        ({"payload": {**PAYLOAD, "summary": "s" * 1025}}, "'payload.summary' is too long (maximum is 1024 characters)"),
        ({"payload": {**PAYLOAD, "summary": " "}}, "'payload.summary' is missing or blank"),
        ({"payload": {k: v for k, v in PAYLOAD.items() if k != "source"}}, "'payload.source' is missing or blank"),
        (
            {"payload": {**PAYLOAD, "severity": "fatal"}},
            "'payload.severity' must be one of critical, error, warning or info",
        ),
        ({"payload": None}, "'payload' is missing or not an object"),
        ({"event_action": "resolve", "dedup_key": None}, "'dedup_key' is missing or blank"),
        ({"links": [{"text": "no href"}]}, "'links[0].href' is missing or blank"),
        ({"images": [{"src": "http://example.com/chart.png"}]}, "'images[0].src' must be an https URL"),
    ],
)
async def test_invalid_events_get_400_with_pagerdutys_error_shape(
    pagerduty_url: str, pagerduty_standin: PagerDutyStandIn, change: dict[str, Any], error: str
) -> None:
    body = {k: v for k, v in {**trigger(), **change}.items() if v is not None}
    response = await post(pagerduty_url, body)
    assert response.status_code == 400
    answer = response.json()
    assert (answer["status"], answer["message"]) == ("invalid event", "Event object is invalid")
    assert error in answer["errors"]
    assert pagerduty_standin.alerts == []


async def test_a_payload_is_not_required_to_acknowledge_or_resolve(pagerduty_url: str) -> None:
    response = await post(pagerduty_url, {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "k9"})
    assert response.status_code == 202


async def test_unparseable_json_is_an_unrecognized_object(pagerduty_url: str) -> None:
    response = await post(pagerduty_url, b"{not json")
    assert response.status_code == 400
    assert response.json() == {
        "status": "Unrecognized object",
        "message": "Event object format is unrecognized",
        "errors": ["JSON parse error"],
    }


async def test_one_dedup_key_is_one_alert_through_its_life(
    pagerduty_url: str, pagerduty_standin: PagerDutyStandIn
) -> None:
    for body in (trigger(), trigger(), {**trigger(), "event_action": "acknowledge"}, trigger()):
        assert (await post(pagerduty_url, body)).status_code == 202
    [alert] = pagerduty_standin.alerts
    assert (alert.status, alert.triggers) == ("acknowledged", 3)  # a trigger does not undo the ack
    await post(pagerduty_url, {**trigger(), "event_action": "resolve"})
    assert alert.status == "resolved"
    await post(pagerduty_url, trigger())  # after a resolve the same key opens a new alert
    assert [a.status for a in pagerduty_standin.alerts_for("k1")] == ["resolved", "triggered"]


async def test_acknowledge_and_resolve_without_an_open_alert_are_dropped(
    pagerduty_url: str, pagerduty_standin: PagerDutyStandIn
) -> None:
    for action in ("acknowledge", "resolve"):
        body = {"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": "never-triggered"}
        assert (await post(pagerduty_url, body)).status_code == 202
    assert pagerduty_standin.alerts == []


async def test_an_alert_belongs_to_its_routing_key(pagerduty_url: str) -> None:
    other = "Q" * 32
    standin = PagerDutyStandIn(routing_keys=(ROUTING_KEY, other))
    standin._apply(trigger())
    standin._apply({"routing_key": other, "event_action": "resolve", "dedup_key": "k1"})
    assert standin.alerts[0].status == "triggered"  # another integration's resolve does not touch it


async def test_faults_429_500_and_accepted_then_500(pagerduty_url: str, pagerduty_standin: PagerDutyStandIn) -> None:
    pagerduty_standin.rate_limit_next()
    pagerduty_standin.fail_next(status=503)
    pagerduty_standin.accept_then_fail_next()
    limited, failed, lost = [await post(pagerduty_url, trigger()) for _ in range(3)]
    assert (limited.status_code, limited.text) == (429, "Request Limit Exceeded")
    assert failed.status_code == 503
    assert lost.status_code == 500
    [alert] = pagerduty_standin.alerts  # only the third was ingested
    assert alert.triggers == 1 and len(pagerduty_standin.accepted("trigger")) == 1
    assert (await post(pagerduty_url, trigger())).status_code == 202


async def test_the_alert_list_shows_what_was_paged(pagerduty_url: str) -> None:
    await post(pagerduty_url, trigger(links=[{"href": "https://example.slack.com/archives/C1/p1", "text": "Slack"}]))
    async with httpx.AsyncClient() as http:
        listed = (await http.get(pagerduty_url.replace("/enqueue", "/alerts"))).json()
    [alert] = listed["alerts"]
    assert (alert["dedup_key"], alert["status"], alert["links"][0]["text"]) == ("k1", "triggered", "Slack")
