"""What the alert-button tests share: a click as Slack sends it, and what a posted alert shows."""

from __future__ import annotations

from typing import Any

from bot.contracts.actions import Action
from sandbox.slack.standin import StoredMessage
from tests.fixtures_app import load_payload
from tests.fixtures_slack import ONCALL_CHANNEL


def button_click(
    action: Action,
    ts: str,
    user_id: str,
    *,
    value: str,
    channel_id: str = ONCALL_CHANNEL,
    block_id: str | None = None,
    menu: str | None = None,
) -> dict[str, Any]:
    """The block_actions payload of a click on the message posted at `ts`; `menu`: the option
    chosen in a static_select (the Mute menu) instead of a button's value."""
    payload = load_payload("block-actions.json")
    element = payload["actions"][0]
    element.update({"action_id": action.value, "value": value})
    if block_id is not None:
        element["block_id"] = block_id
    if menu is not None:
        element.pop("value")
        element.update({"type": "static_select", "selected_option": {"value": menu}})
    payload["channel"]["id"] = payload["container"]["channel_id"] = channel_id
    payload["container"]["message_ts"] = payload["message"]["ts"] = ts
    payload["user"] = {**payload["user"], "id": user_id}
    return payload


def buttons(message: StoredMessage) -> dict[str, dict[str, Any]]:
    """The message's interactive elements by action id, in the order shown."""
    return {e["action_id"]: e for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]}


def headline(message: StoredMessage) -> str:
    assert message.blocks
    return str(message.blocks[0]["text"]["text"])
