"""Slack fixtures: the Web API stand-in served on loopback, and a real slack_sdk client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.pipecat.simulator import SimClock
from sandbox.server import serve
from sandbox.slack.standin import SlackStandIn

BOT_TOKEN = "xoxb-test-token"
ONCALL_CHANNEL = "C2147483705"
INCIDENT_CHANNEL = "C0INCIDENT"
NOT_MEMBER_CHANNEL = "C0NOTMEMBER"


@pytest.fixture
def slack_standin(sim_clock: SimClock) -> SlackStandIn:
    # Message timestamps follow the simulator's clock, like Slack's follow real time: the bot's
    # reconcile scans are bounded by the time of a post's first claim.
    standin = SlackStandIn(bot_token=BOT_TOKEN, clock=sim_clock.now)
    standin.add_channel(ONCALL_CHANNEL, "voice-oncall")
    standin.add_channel(INCIDENT_CHANNEL, "voice-incident-42")
    standin.add_channel(NOT_MEMBER_CHANNEL, "voice-elsewhere", bot_member=False)
    return standin


@pytest.fixture
async def slack_url(slack_standin: SlackStandIn) -> AsyncIterator[str]:
    async with serve(slack_standin.app) as url:
        slack_standin.base_url = url
        try:
            yield url
        finally:
            slack_standin.release_hangs()  # a held request would keep the server from stopping


@pytest.fixture
async def slack_client(slack_url: str) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=f"{slack_url}/api/")
