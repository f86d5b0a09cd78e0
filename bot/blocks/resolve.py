"""The Resolve modal: a click on an alert's Resolve… opens it (views.open with the click's
trigger_id); its submission resolves with the optional reason. A modal, not a plain click: closing
an incident by accident costs the next failure its thread, and the reason is where the person who
fixed it says how."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import InputBlock, MarkdownTextObject, PlainTextInputElement, SectionBlock

from bot.blocks.format import esc
from bot.blocks.serialize import block_dict
from bot.contracts.actions import RESOLVE_REASON_BLOCK, RESOLVE_REASON_INPUT, RESOLVE_REASON_MAX, RESOLVE_VIEW


def resolve_metadata(channel_id: str, parent_ts: str) -> str:
    """Which alert the modal resolves: its channel and message ts (private_metadata)."""
    return json.dumps({"channel": channel_id, "ts": parent_ts}, separators=(",", ":"))


def resolve_modal(agent: str, channel_id: str, parent_ts: str, *, paged: bool = False) -> dict[str, Any]:
    """The modal asking for the (optional) reason."""
    pager = " Its PagerDuty alert is resolved too." if paged else ""
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Resolve the *{esc(agent, 100)}* incident now? The next failure opens a new one.{pager}"
            )
        ),
        InputBlock(
            block_id=RESOLVE_REASON_BLOCK,
            label="Reason (optional)",
            optional=True,
            element=PlainTextInputElement(
                action_id=RESOLVE_REASON_INPUT,
                placeholder="What fixed it, or why it needs no fixing",
                max_length=RESOLVE_REASON_MAX,
            ),
        ),
    ]
    return {
        "type": "modal",
        "callback_id": RESOLVE_VIEW,
        "title": {"type": "plain_text", "text": "Resolve incident"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": resolve_metadata(channel_id, parent_ts),
        "blocks": [block_dict(block) for block in blocks],
    }
