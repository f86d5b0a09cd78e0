"""The one value every builder returns: fallback text + Block Kit dicts (+ optional metadata)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block

from bot.blocks.format import FALLBACK_LIMIT, MAX_BLOCKS, escape, truncate
from bot.blocks.serialize import block_dict


@dataclass(frozen=True)
class Message:
    """A rendered Slack message. `text` is the notification/accessibility fallback Slack requires."""

    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Slack rejects (or renders blank notifications for) messages without fallback text.
        if not self.text.strip():
            raise ValueError("Message.text must not be empty")
        if len(self.blocks) > MAX_BLOCKS:
            raise ValueError(f"{len(self.blocks)} blocks exceed Slack's limit of {MAX_BLOCKS}")

    def to_response(self, *, in_channel: bool, replace_original: bool = False) -> dict[str, Any]:
        """Body for a `response_url` POST (metadata is not accepted there, so it is left out).

        `replace_original` is only sent when True: absent means "post a new message" to Slack, and
        Bolt's `ack()` (which takes these same keys for a command's first answer) rejects the key.
        """
        body: dict[str, Any] = {
            "response_type": "in_channel" if in_channel else "ephemeral",
            "text": self.text,
            "blocks": self.blocks,
        }
        if replace_original:
            body["replace_original"] = True
        return body

    def to_post_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `chat.postMessage` / `chat.update` (channel and ts are the caller's)."""
        kwargs: dict[str, Any] = {"text": self.text, "blocks": self.blocks}
        if self.metadata is not None:
            kwargs["metadata"] = self.metadata
        return kwargs


def fallback(text: str) -> str:
    """Fallback text is parsed as mrkdwn by Slack (it can ping), so it is escaped and kept short."""
    return truncate(escape(text), FALLBACK_LIMIT) if text.strip() else "(no text)"


def build(text: str, blocks: Sequence[Block], *, metadata: dict[str, Any] | None = None) -> Message:
    """Validate every block with slack_sdk (limits, required fields) and freeze the result.

    `text` is used as given: builders pass it through `fallback()` when it holds outside text.
    """
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks exceed Slack's limit of {MAX_BLOCKS}")
    # block_dict() runs validate_json() on the block and every nested element, as to_dict() does.
    return Message(text=text, blocks=[block_dict(block) for block in blocks], metadata=metadata)
