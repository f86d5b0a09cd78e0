"""The stand-in refuses what Slack refuses (sandbox/slack/checks.py): an action_id
repeated within a block (how a digest that Slack refused whole once passed every test), menu
options past 75/150 characters, elements a block type does not hold, a method whose scope the
token lacks (`missing_scope` with `needed` and `provided`), and bad blocks in a view, which the
view methods answer with `invalid_arguments`."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.contracts.scopes import MANIFEST_BOT_SCOPES
from sandbox.slack.checks import blocks_problems
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_slack import ONCALL_CHANNEL

TEXT = {"type": "mrkdwn", "text": "hi"}
SECTION = {"type": "section", "text": TEXT}


def button(action_id: str, value: str = "v") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": action_id, "value": value}


def option(text: str = "1h", value: str = "voice-bot|1h") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def menu(*options: dict[str, Any], kind: str = "static_select") -> dict[str, Any]:
    element: dict[str, Any] = {"type": kind, "action_id": "m", "options": list(options)}
    if kind == "static_select":
        element["placeholder"] = {"type": "plain_text", "text": "Mute"}
    return element


REFUSED: dict[str, tuple[list[dict[str, Any]], str]] = {
    "action_id twice in one block": (
        [{"type": "actions", "elements": [button("details"), button("details")]}],
        "action_id 'details' already exists [json-pointer:/blocks/0/elements/1/action_id]",
    ),
    "option value over 150": (
        [{"type": "actions", "elements": [menu(option(value="x" * 151))]}],
        "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
    ),
    "option text over 75": (
        [{"type": "section", "text": TEXT, "accessory": menu(option(text="t" * 76), kind="overflow")}],
        "must be less than 76 characters [json-pointer:/blocks/0/accessory/options/0/text/text]",
    ),
    "overflow past 5 options": (
        [{"type": "actions", "elements": [menu(*[option()] * 6, kind="overflow")]}],
        "no more than 5 items allowed [json-pointer:/blocks/0/elements/0/options]",
    ),
    "a button in a context block": (
        [{"type": "context", "elements": [TEXT, button("b")]}],
        "unsupported type: button [json-pointer:/blocks/0/elements/1/type]",
    ),
    "an image in an actions block": (
        [{"type": "actions", "elements": [{"type": "image", "image_url": "https://x/y.png", "alt_text": "y"}]}],
        "unsupported type: image [json-pointer:/blocks/0/elements/0/type]",
    ),
    "a text input as an accessory": (
        [{"type": "section", "text": TEXT, "accessory": {"type": "plain_text_input", "action_id": "i"}}],
        "unsupported type: plain_text_input [json-pointer:/blocks/0/accessory/type]",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_slack_refuses_in_blocks(case: str) -> None:
    blocks, problem = REFUSED[case]
    assert [p for p in blocks_problems(blocks) if problem in p], blocks_problems(blocks)


def test_what_slack_accepts_stays_accepted() -> None:
    blocks = [
        {"type": "actions", "elements": [button("details"), button("details#1"), menu(option(value="x" * 150))]},
        {"type": "actions", "elements": [button("details")]},  # unique per block, not per message
        {"type": "context", "elements": [TEXT, {"type": "image", "image_url": "https://x/y.png", "alt_text": "y"}]},
        {"type": "section", "text": TEXT, "accessory": menu(*[option()] * 5, kind="overflow")},
    ]
    assert blocks_problems(blocks) == []


async def _error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def test_a_repeated_action_id_refuses_the_whole_post(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    blocks: list[dict[str, Any]] = [
        SECTION,
        {"type": "actions", "elements": [button("incident_details"), button("incident_details")]},
    ]
    error = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="digest", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    assert any("already exists" in m for m in error.response["response_metadata"]["messages"])
    assert slack_standin.messages_in(ONCALL_CHANNEL) == []


async def test_a_method_without_its_scope_is_missing_scope(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    slack_standin.granted_scopes = [s for s in MANIFEST_BOT_SCOPES if s != "chat:write"]
    error = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x"))
    assert error.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "chat:write",
        "provided": ",".join(slack_standin.granted_scopes),
    }
    assert slack_standin.messages_in(ONCALL_CHANNEL) == []
    assert (await slack_client.auth_test())["ok"]  # a method that needs no scope still answers
    # A workspace that installed the app before it asked for channels:read: conversations.info is
    # refused as Slack would.
    slack_standin.granted_scopes = [s for s in MANIFEST_BOT_SCOPES if s != "channels:read"]
    info = await _error_of(slack_client.conversations_info(channel=ONCALL_CHANNEL))
    assert info.response["error"] == "missing_scope" and info.response["needed"] == "channels:read"


async def test_views_answer_bad_blocks_with_invalid_arguments(slack_client: AsyncWebClient) -> None:
    bad = {"type": "actions", "elements": [button("more"), button("more")]}
    home = await _error_of(slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": [bad]}))
    assert home.response["error"] == "invalid_arguments"
    assert any("already exists" in m for m in home.response["response_metadata"]["messages"])
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Session"}, "blocks": [bad]}
    opened = await _error_of(slack_client.views_open(trigger_id="123.456.abc", view=modal))
    assert opened.response["error"] == "invalid_arguments"


async def test_a_modal_slack_would_refuse_is_refused(slack_client: AsyncWebClient) -> None:
    """A modal with an input block needs a submit button, and its title at most 24 characters."""
    field = {
        "type": "input",
        "block_id": "b",
        "label": {"type": "plain_text", "text": "Reason"},
        "element": {"type": "plain_text_input", "action_id": "a"},
    }
    no_submit = {"type": "modal", "title": {"type": "plain_text", "text": "Resolve"}, "blocks": [field]}
    refused = await _error_of(slack_client.views_open(trigger_id="123.456.abc", view=no_submit))
    assert refused.response["error"] == "invalid_arguments"
    assert any("submit" in m for m in refused.response["response_metadata"]["messages"])
    long_title = {**no_submit, "submit": {"type": "plain_text", "text": "Go"}}
    long_title["title"] = {"type": "plain_text", "text": "Resolve this incident right now"}
    refused = await _error_of(slack_client.views_open(trigger_id="123.456.abc", view=long_title))
    assert any("title" in m for m in refused.response["response_metadata"]["messages"])
    fine = {**long_title, "title": {"type": "plain_text", "text": "Resolve incident"}}
    assert (await slack_client.views_open(trigger_id="123.456.abc", view=fine))["ok"]
