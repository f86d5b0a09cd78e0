"""The Slack stand-in's workspace model: channels, messages, files, and what it recorded.

Plain dataclasses, no I/O: `SlackStandIn` (slack_standin.py) owns instances of these and the
HTTP layer turns them into Slack-shaped JSON with the `render_*` helpers.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass
class RecordedCall:
    """One Web API call as it arrived (args merged from query, form and JSON; JSON strings decoded)."""

    method: str
    headers: dict[str, str]
    args: dict[str, Any]
    at: float
    #: HTTP status answered; None while the answer is pending (latency, a hang).
    status: int | None = None
    #: The JSON body answered (None when pending).
    response: dict[str, Any] | None = None
    retry_after: int | str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.response is None else self.response.get("error")


@dataclass
class ResponsePost:
    """One POST to a response URL. `status` is what the stand-in answered (404 once the URL is used up)."""

    key: str
    body: dict[str, Any]
    at: float
    status: int = 200
    #: The client's address and port: posts over one kept-alive connection share it.
    peer: str = ""


@dataclass
class StoredMessage:
    ts: str
    channel: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    #: None for a top-level message that has no replies; a reply carries its parent's ts.
    thread_ts: str | None = None
    user: str | None = None
    bot_id: str | None = None
    edited: bool = False
    #: The user who sees an ephemeral message; None for a normal one.
    ephemeral_for: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    reply_broadcast: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def event_payload(self) -> dict[str, Any]:
        """`metadata.event_payload` (what an app's own posts carry); {} when there is none."""
        payload = (self.metadata or {}).get("event_payload")
        return payload if isinstance(payload, dict) else {}


@dataclass
class Channel:
    id: str
    name: str
    members: set[str] = field(default_factory=set)
    messages: list[StoredMessage] = field(default_factory=list)
    archived: bool = False
    #: time.monotonic() of the last accepted chat.postMessage (the per-channel rate limit).
    last_post_at: float | None = None

    def find(self, ts: str) -> StoredMessage | None:
        """A visible (non-ephemeral) message by ts."""
        for message in self.messages:
            if message.ts == ts and message.ephemeral_for is None:
                return message
        return None

    def top_level(self, *, include_ephemeral: bool = False) -> list[StoredMessage]:
        return [
            m
            for m in self.messages
            if (not m.is_reply or m.reply_broadcast) and (include_ephemeral or m.ephemeral_for is None)
        ]

    def replies(self, thread_ts: str, *, include_ephemeral: bool = False) -> list[StoredMessage]:
        return [
            m
            for m in self.messages
            if m.is_reply and m.thread_ts == thread_ts and (include_ephemeral or m.ephemeral_for is None)
        ]

    def render(self, message: StoredMessage, *, include_metadata: bool = True) -> dict[str, Any]:
        """The message as the Web API shows it (history, replies, postMessage's `message`)."""
        out: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text}
        if message.user is not None:
            out["user"] = message.user
        if message.bot_id is not None:
            out["bot_id"] = message.bot_id
        if message.blocks is not None:
            out["blocks"] = message.blocks
        if message.attachments is not None:
            out["attachments"] = message.attachments
        if message.files:
            out["files"] = message.files
            out["upload"] = True
        if message.edited:
            out["edited"] = {"user": message.user, "ts": message.ts}
        if message.reply_broadcast:
            out["subtype"] = "thread_broadcast"
        if include_metadata and message.metadata is not None:
            out["metadata"] = message.metadata
        if message.thread_ts is not None:
            out["thread_ts"] = message.thread_ts
        replies = [] if message.is_reply else self.replies(message.ts)
        if replies:
            out["thread_ts"] = message.ts
            out["reply_count"] = len(replies)
            out["reply_users"] = sorted({r.user or r.bot_id or "" for r in replies})
            out["latest_reply"] = replies[-1].ts
        return out

    def info(self, bot_user_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_private": False,
            "is_archived": self.archived,
            "is_member": bot_user_id in self.members,
            "num_members": len(self.members),
        }


@dataclass
class StoredFile:
    id: str
    name: str
    length: int
    alt_txt: str | None = None
    title: str | None = None
    content: bytes | None = None
    mimetype: str = "application/octet-stream"
    channels: list[str] = field(default_factory=list)

    def render(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary",
            "size": len(self.content) if self.content is not None else self.length,
            "alt_txt": self.alt_txt,
            "url_private": f"{base_url}/files/{self.id}/{self.name}",
            "channels": list(self.channels),
        }


@dataclass
class ResponseUrl:
    key: str
    channel_id: str | None = None
    user_id: str | None = None
    #: The message an interaction came from (replace_original / delete_original act on it).
    message_ts: str | None = None
    uses: int = 0
    #: The last message posted through this URL (replace_original on a command's response).
    last_ts: str | None = None


class TsClock:
    """Slack-style message timestamps ("1712345678.000123"): unique and strictly increasing.

    Read from `now` when given (the simulator's clock, so a ts matches the time the bot thinks it
    posted at, as Slack's do within clock skew), else from the system clock."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._last_us = 0
        self._now = now

    def next(self) -> str:
        current = int(self._now().timestamp() * 1_000_000) if self._now else time.time_ns() // 1000
        micros = max(self._last_us + 1, current)
        self._last_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def ts_value(ts: Any) -> Decimal | None:
    """A ts (or oldest/latest argument) as a comparable number; None when absent or malformed."""
    if ts is None or ts == "":
        return None
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        return None


def encode_cursor(ts: str) -> str:
    """An opaque cursor shaped like Slack's (base64 of "next_ts:<ts>"): the page continues below `ts`."""
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def decode_cursor(cursor: str) -> Decimal | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, ts = text.partition(":")
    return ts_value(ts) if prefix == "next_ts" else None
