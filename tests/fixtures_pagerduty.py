"""PagerDuty fixtures: the Events API v2 stand-in on loopback, and a real client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.pagerduty.client import PagerDutyClient, build_http_client
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.server import serve

#: The integration key the stand-in knows (what PAGERDUTY_ROUTING_KEY holds in the tests).
ROUTING_KEY = "Rk7p2Qx9Zt4Lm8Vb3Nc6Hd1Fg5Js0Wa2"


@pytest.fixture
def pagerduty_standin() -> PagerDutyStandIn:
    return PagerDutyStandIn(routing_keys=(ROUTING_KEY,))


@pytest.fixture
async def pagerduty_url(pagerduty_standin: PagerDutyStandIn) -> AsyncIterator[str]:
    """PAGERDUTY_EVENTS_URL for the stand-in."""
    async with serve(pagerduty_standin.app) as url:
        yield f"{url}/v2/enqueue"


@pytest.fixture
async def pagerduty_http() -> AsyncIterator[httpx.AsyncClient]:
    client = build_http_client()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def pagerduty_client(pagerduty_http: httpx.AsyncClient, pagerduty_url: str) -> PagerDutyClient:
    return PagerDutyClient(pagerduty_http, pagerduty_url, SecretStr(ROUTING_KEY))
