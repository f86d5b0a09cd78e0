"""The Slack stand-in's workspace state and the operations the Web API methods share.

No HTTP here: `SlackStandIn` (slack_standin.py) adds the server, the recording and the faults.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.contracts.scopes import MANIFEST_BOT_SCOPES as DEFAULT_SCOPES
from sandbox.slack.checks import truthy
from sandbox.slack.model import Channel, ResponseUrl, StoredFile, StoredMessage, TsClock

#: The human who, by default, writes seeded messages and gets ephemeral responses (the fixtures' "steve").
DEFAULT_USER = "U2147483697"


class Workspace:
    def __init__(
        self,
        *,
        bot_token: str,
        bot_user_id: str,
        team_id: str,
        bot_id: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        #: Where the stand-in is served ("http://127.0.0.1:PORT"); learnt from the first request if unset.
        self.base_url: str | None = None
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, StoredFile] = {}
        #: Every view opened, pushed or updated: {"method", "id", "trigger_id", "view"}.
        self.views: list[dict[str, Any]] = []
        #: The Home tab each user sees now (views.publish), and its stable view id.
        self.home_views: dict[str, dict[str, Any]] = {}
        self.home_view_ids: dict[str, str] = {}
        #: What x-oauth-scopes says on every Web API answer (Slack: the token's granted scopes).
        self.granted_scopes: list[str] = list(DEFAULT_SCOPES)
        #: apps.connections.open answers this (a SocketModeStandIn's URL); with `app_token` as its token.
        self.socket_url: str | None = None
        self.app_token = "xapp-1-test-app-token"
        self.response_urls: dict[str, ResponseUrl] = {}
        self._ts = TsClock(clock)
        self._ids = itertools.count(1)

    # -- set-up and inspection ------------------------------------------------------------------

    def add_channel(self, channel_id: str, name: str, *, bot_member: bool = True, archived: bool = False) -> Channel:
        channel = Channel(id=channel_id, name=name, archived=archived)
        if bot_member:
            channel.members.add(self.bot_user_id)
        channel.members.add(DEFAULT_USER)  # the seeded human is in every channel
        self.channels[channel_id] = channel
        return channel

    def add_member(self, channel_id: str, user: str) -> None:
        self.channels[channel_id].members.add(user)

    def add_message(
        self,
        channel_id: str,
        text: str,
        *,
        user: str = DEFAULT_USER,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> StoredMessage:
        """Seed a message written by a person (for shortcuts, threads, history)."""
        channel = self.channels[channel_id]
        channel.members.add(user)
        thread_root = self.thread_root(channel, thread_ts)
        return self.store_message(channel, text=text, blocks=blocks, thread_ts=thread_root, user=user, bot_id=None)

    def messages_in(
        self, channel_id: str, *, thread_ts: str | None = None, include_ephemeral: bool = False
    ) -> list[StoredMessage]:
        """Top-level messages (thread_ts None) or a thread's replies (without its parent), oldest first."""
        channel = self.channels[channel_id]
        if thread_ts is None:
            return channel.top_level(include_ephemeral=include_ephemeral)
        return channel.replies(thread_ts, include_ephemeral=include_ephemeral)

    def response_url(
        self,
        key: str | None = None,
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response URL served by the stand-in. Posts to it are recorded and, when `channel_id` is
        known, applied to the channel (`message_ts`: the message an interaction came from)."""
        key = key or f"R{next(self._ids):06d}"
        entry = ResponseUrl(key, channel_id=channel_id, user_id=user_id, message_ts=message_ts)
        self.response_urls[key] = entry
        return f"{self.base()}/response/{key}"

    def base(self) -> str:
        if self.base_url is None:
            raise RuntimeError("the Slack stand-in is not started: set base_url to the served URL")
        return self.base_url.rstrip("/")

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    # -- operations shared by the methods ----------------------------------------------------------

    def lookup(self, channel: Any) -> Channel | None:
        """A channel by id, or by name ("#voice-oncall" / "voice-oncall") as Slack also accepts."""
        if not isinstance(channel, str) or not channel:
            return None
        if channel in self.channels:
            return self.channels[channel]
        name = channel.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name), None)

    def postable(self, channel_arg: Any) -> tuple[Channel | None, str | None]:
        """The channel the bot may post in, or the error Slack gives."""
        channel = self.lookup(channel_arg)
        if channel is None:
            return None, "channel_not_found"
        if channel.archived:
            return None, "is_archived"
        if self.bot_user_id not in channel.members:
            return None, "not_in_channel"
        return channel, None

    def thread_root(self, channel: Channel, thread_ts: Any) -> str | None:
        """The parent ts a reply goes under: a reply's ts resolves to its parent. An unknown ts is kept
        as given: like Slack, the reply lands in a thread whose parent is not in the channel (and
        tests may reply under messages of fixture payloads that were never seeded)."""
        if not thread_ts or not isinstance(thread_ts, str):
            return None
        target = channel.find(thread_ts)
        if target is None:
            return thread_ts
        return target.thread_ts if target.is_reply else target.ts

    def store_message(self, channel: Channel, **fields: Any) -> StoredMessage:
        fields.setdefault("user", self.bot_user_id)
        fields.setdefault("bot_id", self.bot_id)
        message = StoredMessage(ts=self._ts.next(), channel=channel.id, **fields)
        channel.messages.append(message)
        return message

    def store_bot_message(self, channel: Channel, args: dict[str, Any], **extra: Any) -> StoredMessage:
        """A message from the bot built from Web API arguments (postMessage, postEphemeral)."""
        return self.store_message(
            channel,
            text=str(args.get("text") or ""),
            blocks=args.get("blocks") or None,
            attachments=args.get("attachments") or None,
            metadata=args.get("metadata") or None,
            thread_ts=self.thread_root(channel, args.get("thread_ts")),
            **extra,
        )

    # -- response URLs ---------------------------------------------------------------------------

    def apply_response(self, entry: ResponseUrl, body: dict[str, Any]) -> None:
        """What a response-URL post does to the channel: a new (ephemeral or in-channel) message,
        or an edit / deletion of the original."""
        channel = self.channels.get(entry.channel_id or "")
        if channel is None:
            return
        original_ts = entry.message_ts or entry.last_ts
        original = next((m for m in channel.messages if m.ts == original_ts), None)
        if truthy(body.get("delete_original")):
            if original is not None:
                channel.messages.remove(original)
            return
        if truthy(body.get("replace_original")) and original is not None:
            original.text = str(body.get("text") or "")
            original.blocks = body.get("blocks") or None
            original.attachments = body.get("attachments") or None
            original.edited = True
            return
        in_channel = body.get("response_type") == "in_channel"
        message = self.store_message(
            channel,
            text=str(body.get("text") or ""),
            blocks=body.get("blocks") or None,
            attachments=body.get("attachments") or None,
            thread_ts=self.thread_root(channel, body.get("thread_ts")),
            ephemeral_for=None if in_channel else (entry.user_id or DEFAULT_USER),
        )
        entry.last_ts = message.ts
