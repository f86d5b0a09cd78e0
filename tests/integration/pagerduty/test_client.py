"""The PagerDuty client against the stand-in over real HTTP: answers become typed results."""

from __future__ import annotations

import socket

import httpx
import pytest
from pydantic import SecretStr

from bot.pagerduty.client import PagerDutyClient
from bot.pagerduty.errors import Fenced, RateLimited, Rejected, Retryable, ServerError, Unreachable
from sandbox.pagerduty.standin import PagerDutyStandIn
from tests.fixtures_pagerduty import ROUTING_KEY

EVENT = {"event_action": "trigger", "dedup_key": "k1", "payload": {"summary": "s", "source": "a", "severity": "error"}}
KEY = SecretStr(ROUTING_KEY)


async def ours() -> bool:
    """A fence that always passes (the claim is ours)."""
    return True


async def test_an_accepted_event_returns_its_key_and_the_routing_key_travels_only_in_the_body(
    pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    accepted = await pagerduty_client.send(EVENT, routing_key=KEY, fence=ours)
    assert (accepted.dedup_key, accepted.message) == ("k1", "Event processed")
    [request] = pagerduty_standin.requests
    assert request.body["routing_key"] == ROUTING_KEY and "routing_key" not in EVENT


async def test_a_400_is_rejected_with_pagerdutys_errors(pagerduty_client: PagerDutyClient) -> None:
    with pytest.raises(Rejected) as caught:
        await pagerduty_client.send({**EVENT, "payload": {"summary": "s", "source": "a"}}, routing_key=KEY, fence=ours)
    assert caught.value.errors == ("'payload.severity' is missing or blank",)
    assert caught.value.detail == "Event object is invalid: 'payload.severity' is missing or blank"
    assert not isinstance(caught.value, Retryable)


async def test_an_unknown_key_is_rejected_and_never_echoed(
    pagerduty_http: httpx.AsyncClient, pagerduty_url: str
) -> None:
    wrong = "W" * 32
    client = PagerDutyClient(pagerduty_http, pagerduty_url, SecretStr(wrong))
    with pytest.raises(Rejected) as caught:
        await client.send(EVENT, routing_key=client.routing_key, fence=ours)
    assert "Invalid routing key" in caught.value.detail and wrong not in caught.value.detail


@pytest.mark.parametrize(("status", "kind"), [(429, RateLimited), (500, ServerError), (503, ServerError)])
async def test_429_and_5xx_are_retryable(
    pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn, status: int, kind: type[Exception]
) -> None:
    pagerduty_standin.fail_next(status=status)
    with pytest.raises(kind) as caught:
        await pagerduty_client.send(EVENT, routing_key=KEY, fence=ours)
    assert isinstance(caught.value, Retryable) and str(status) in str(caught.value)


async def test_nobody_listening_is_unreachable(pagerduty_http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = PagerDutyClient(pagerduty_http, f"http://127.0.0.1:{port}/v2/enqueue", SecretStr(ROUTING_KEY))
    with pytest.raises(Unreachable):
        await client.send(EVENT, routing_key=KEY, fence=ours)


async def test_each_event_goes_to_the_routing_key_it_is_given(
    pagerduty_http: httpx.AsyncClient, pagerduty_url: str, pagerduty_standin: PagerDutyStandIn
) -> None:
    """An alert's events go to the key that opened it, not to the one the client opens new
    alerts with (PAGERDUTY_ROUTING_KEY now)."""
    client = PagerDutyClient(pagerduty_http, pagerduty_url, SecretStr("N" * 32))
    accepted = await client.send(EVENT, routing_key=KEY, fence=ours)
    assert accepted.dedup_key == "k1" and pagerduty_standin.requests[-1].body["routing_key"] == ROUTING_KEY


async def test_a_fence_that_says_no_sends_nothing(
    pagerduty_client: PagerDutyClient, pagerduty_standin: PagerDutyStandIn
) -> None:
    async def taken_over() -> bool:
        return False

    with pytest.raises(Fenced):
        await pagerduty_client.send(EVENT, routing_key=KEY, fence=taken_over)
    assert pagerduty_standin.requests == []
