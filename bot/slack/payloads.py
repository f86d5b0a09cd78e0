"""The fields our handlers read from Slack's payloads, as small typed models (pydantic).

Slack sends much more; only what a handler reads is declared, everything else is ignored. A
payload whose fields have unexpected types (never seen from Slack itself) parses as an empty
one: the handler then answers "not allowed" or "out of date" instead of raising mid-request.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

logger = logging.getLogger(__name__)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def parse(cls, body: Any) -> Self:
        try:
            return cls.model_validate(body if isinstance(body, dict) else {})
        except ValidationError:
            logger.warning("a Slack %s payload with unexpected field types; read as empty", cls.__name__, exc_info=True)
            return cls.model_validate({})


class _Ref(_Model):
    id: str = ""


class _Container(_Model):
    channel_id: str | None = None
    message_ts: str | None = None
    is_ephemeral: bool = False


class _MessageRef(_Model):
    ts: str | None = None
    thread_ts: str | None = None


class _Option(_Model):
    value: str = ""


class _ActionItem(_Model):
    action_id: str = ""
    value: str | None = None
    selected_option: _Option | None = None


class BlockAction(_Model):
    """A click on a button or a menu choice (`block_actions`)."""

    user: _Ref = Field(default_factory=_Ref)
    channel: _Ref = Field(default_factory=_Ref)
    container: _Container = Field(default_factory=_Container)
    message: _MessageRef = Field(default_factory=_MessageRef)
    actions: list[_ActionItem] = Field(default_factory=list)
    #: Opens a modal (views.open) within 3 seconds of the click.
    trigger_id: str = ""

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def channel_id(self) -> str:
        return self.container.channel_id or self.channel.id

    @property
    def value(self) -> str:
        """The clicked button's value, or the chosen option's for a select."""
        if not self.actions:
            return ""
        first = self.actions[0]
        return first.value or (first.selected_option.value if first.selected_option else "")

    @property
    def message_ts(self) -> str:
        """The clicked message itself (an incident's parent, for its buttons)."""
        return self.container.message_ts or self.message.ts or ""

    @property
    def thread_ts(self) -> str | None:
        """Where answers go: the clicked message's thread, or a new thread under the message."""
        return self.message.thread_ts or self.container.message_ts or self.message.ts

    @property
    def is_private(self) -> bool:
        """A click on an ephemeral message: its answers stay private (it has no thread others could see)."""
        return self.container.is_ephemeral


class MessageShortcut(_Model):
    """The message shortcut (`message_action`): the message is kept whole for the reference finder."""

    user: _Ref = Field(default_factory=_Ref)
    channel: _Ref = Field(default_factory=_Ref)
    message: dict[str, Any] = Field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def channel_id(self) -> str:
        return self.channel.id

    @property
    def thread_ts(self) -> str | None:
        ts = self.message.get("thread_ts") or self.message.get("ts")
        return ts if isinstance(ts, str) else None


class SlashCommand(_Model):
    """`/session …` (form fields)."""

    user_id: str = ""
    channel_id: str = ""
    text: str = ""
