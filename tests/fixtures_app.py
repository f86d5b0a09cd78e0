"""The real app (HTTP mode) on loopback, wired to the Pipecat simulator and the Slack stand-in.

`SlackDriver` sends requests signed exactly as Slack signs them and waits on the stand-in for
what the app posts afterwards (response URLs, Web API calls): no sleeps.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bot.config import Settings
from sandbox.pipecat.simulator import SimClock
from sandbox.server import serve
from sandbox.signing import interactive_body, sign_request, slash_command_body
from sandbox.slack.model import ResponsePost
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_slack import BOT_TOKEN, ONCALL_CHANNEL
from tests.paths import SLACK_FIXTURES

if TYPE_CHECKING:  # bot.app is imported lazily so unit tests collect without the whole app
    from bot.app import Runtime

SIGNING_SECRET = "test-signing-secret"
USER = "U2147483697"


def make_settings(pipecat_url: str, slack_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": f"{slack_url}/api/",
        "pipecat_api_key": "sim-key",
        "pipecat_api_url": pipecat_url,
        "database_url": f"sqlite:///{tmp_path / 'app.db'}",
        "poll_interval_seconds": 5,
        "slack_post_spacing_seconds": 0,  # the simulator's clock: no real waits between posts
        **overrides,
    }
    return Settings(_env_file=None, **values)


class SlackDriver:
    """Plays Slack's part: signed commands, shortcuts and button clicks to the running app."""

    def __init__(self, app_url: str, standin: SlackStandIn) -> None:
        self.http = httpx.AsyncClient(base_url=app_url, timeout=10)
        self.standin = standin
        self.last_ack: httpx.Response | None = None

    async def post(self, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> httpx.Response:
        headers = {**sign_request(secret, body, timestamp), "Content-Type": "application/x-www-form-urlencoded"}
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def command(self, text: str, *, channel_id: str = ONCALL_CHANNEL, user_id: str = USER) -> str:
        """Send `/session <text>`; returns the response URL key the app answers on."""
        url = self.standin.response_url(channel_id=channel_id, user_id=user_id)
        self.last_ack = await self.post(
            slash_command_body(text, channel_id=channel_id, user_id=user_id, response_url=url)
        )
        assert self.last_ack.status_code == 200, self.last_ack.text
        return url.rsplit("/", 1)[1]

    async def interact(
        self, payload: dict[str, Any], *, channel_id: str = ONCALL_CHANNEL, message_ts: str | None = None
    ) -> str:
        url = self.standin.response_url(channel_id=channel_id, user_id=USER, message_ts=message_ts)
        payload = {**payload, "response_url": url}
        self.last_ack = await self.post(interactive_body(payload))
        assert self.last_ack.status_code == 200, self.last_ack.text
        return url.rsplit("/", 1)[1]

    async def responses(self, key: str, count: int = 1, *, within: float = 10.0) -> list[ResponsePost]:
        await self.standin.wait_until(lambda: len(self.standin.posts_to_response(key)) >= count, within=within)
        return self.standin.posts_to_response(key)

    def ack_json(self) -> dict[str, Any]:
        assert self.last_ack is not None
        return json.loads(self.last_ack.text) if self.last_ack.text else {}

    async def close(self) -> None:
        await self.http.aclose()


AppFactory = Callable[..., AbstractAsyncContextManager[tuple["Runtime", SlackDriver]]]


@pytest.fixture
def app_factory(
    pipecat_url: str, slack_url: str, slack_standin: SlackStandIn, tmp_path: Path, sim_clock: SimClock
) -> AppFactory:
    """Start the app with settings overrides: `async with app_factory(ADMIN_USERS="U1") as (rt, slack):`."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[tuple[Runtime, SlackDriver]]:
        from bot.app import build_runtime

        settings = make_settings(pipecat_url, slack_url, tmp_path, **{k.lower(): v for k, v in overrides.items()})
        rt = build_runtime(settings, clock=sim_clock)
        await rt.start(with_scheduler=False)  # tests drive poll cycles themselves, on the simulator's clock
        try:
            async with serve(rt.asgi()) as url:
                driver = SlackDriver(url, slack_standin)
                try:
                    yield rt, driver
                finally:
                    await driver.close()
        finally:
            await rt.stop()

    return start


@pytest.fixture
async def running(app_factory: AppFactory) -> AsyncIterator[tuple[Runtime, SlackDriver]]:
    async with app_factory() as pair:
        yield pair


@pytest.fixture
def runtime(running: tuple[Runtime, SlackDriver]) -> Runtime:
    return running[0]


@pytest.fixture
def slack(running: tuple[Runtime, SlackDriver]) -> SlackDriver:
    return running[1]


def load_payload(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((SLACK_FIXTURES / name).read_text())
    return payload
