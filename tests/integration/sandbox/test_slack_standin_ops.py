"""The stand-in behaves as Slack does where a third-party check found it did not: granted scopes
on every answer, unknown block types refused, ephemeral posts only to channel members, the Home tab."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.contracts.scopes import MANIFEST_BOT_SCOPES
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_slack import BOT_TOKEN, ONCALL_CHANNEL

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}


async def _error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize("method", ["auth.test", "chat.postMessage", "conversations.history", "views.publish"])
async def test_every_answer_names_the_granted_scopes(slack_url: str, method: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{slack_url}/api/{method}",
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
            json={"channel": ONCALL_CHANNEL},
        )
    assert answer.headers["x-oauth-scopes"].split(",") == list(MANIFEST_BOT_SCOPES)


async def test_scopes_follow_what_the_test_grants(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    slack_standin.granted_scopes = ["commands"]
    answer = await slack_client.auth_test()
    assert answer.headers["x-oauth-scopes"] == "commands"


async def test_unknown_block_types_are_invalid_blocks(slack_client: AsyncWebClient) -> None:
    error = await _error_of(
        slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x", blocks=[SECTION, {"type": "fancy_widget"}])
    )
    assert error.response["error"] == "invalid_blocks"
    assert any("unsupported type: fancy_widget" in m for m in error.response["response_metadata"]["messages"])


async def test_ephemeral_to_someone_not_in_the_channel_is_refused(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    error = await _error_of(slack_client.chat_postEphemeral(channel=ONCALL_CHANNEL, user="U0STRANGER", text="x"))
    assert error.response["error"] == "user_not_in_channel"
    slack_standin.add_member(ONCALL_CHANNEL, "U0STRANGER")
    assert (await slack_client.chat_postEphemeral(channel=ONCALL_CHANNEL, user="U0STRANGER", text="x"))["ok"]


async def test_views_publish_keeps_one_home_view_per_user(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    first = await slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": [SECTION]})
    again = await slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert first["view"]["id"] == again["view"]["id"]
    assert slack_standin.home_views["U1"]["blocks"] == []
    modal = await _error_of(slack_client.views_publish(user_id="U1", view={"type": "modal", "blocks": []}))
    assert modal.response["error"] == "invalid_arguments"
    too_many = await _error_of(
        slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": [SECTION] * 101})
    )
    assert too_many.response["error"] == "invalid_arguments"  # views.* answer bad blocks so
    await slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": [SECTION] * 100})
