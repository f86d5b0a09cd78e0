"""Plays Slack's part for the demo page: what a person does in Slack becomes a signed request.

A `/session …` typed on the page is POSTed to the app's `/slack/events` exactly as Slack sends a
slash command; a button click becomes `block_actions`, "Look up Pipecat session" a
`message_action`. Response URLs come from the Slack stand-in, so whatever the app answers lands in
the stand-in's workspace, which the page shows. What the app puts in its HTTP acknowledgement (a
command's "Looking up…") is shown as Slack shows it: an ephemeral message to the user.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bot.contracts.actions import SHORTCUT_LOOKUP
from sandbox.signing import interactive_body, sign_request, slash_command_body
from sandbox.slack.model import Channel
from sandbox.slack.standin import SlackStandIn, StoredMessage

#: Only this command is installed in the demo workspace (the app's manifest has no other).
COMMAND = "/session"
SHORTCUT_CALLBACK_ID = SHORTCUT_LOOKUP
API_APP_ID = "A0DEMO0001"
#: Slack gives the app 3 s to acknowledge; the demo waits a little longer before giving up.
ACK_TIMEOUT_SECONDS = 10


class DemoInputError(ValueError):
    """Something the page sent that Slack itself would refuse (unknown command, channel, message)."""


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"


class SlackPlayer:
    """Sends signed requests to the app on behalf of one user of the stand-in's workspace."""

    def __init__(self, app_url: str, standin: SlackStandIn, signing_secret: str, user: DemoUser) -> None:
        self.standin = standin
        self.user = user
        self._secret = signing_secret
        self._http = httpx.AsyncClient(base_url=app_url, timeout=ACK_TIMEOUT_SECONDS)

    async def close(self) -> None:
        await self._http.aclose()

    def channel(self, channel_id: str) -> Channel:
        channel = self.standin.channels.get(channel_id)
        if channel is None:
            raise DemoInputError(f"no channel {channel_id!r}")
        return channel

    def message(self, channel_id: str, ts: str) -> StoredMessage:
        for message in self.channel(channel_id).messages:
            if message.ts == ts and message.ephemeral_for in (None, self.user.id):
                return message
        raise DemoInputError(f"no message {ts!r} in {channel_id}")

    # -- what the user does --------------------------------------------------------------------

    def say(self, channel_id: str, text: str, thread_ts: str | None = None) -> StoredMessage:
        """A plain message from the user (Slack would not send it to an app without event subscriptions)."""
        self.channel(channel_id)
        if not text.strip():
            raise DemoInputError("empty message")
        return self.standin.add_message(channel_id, text, user=self.user.id, thread_ts=thread_ts)

    async def command(self, channel_id: str, line: str) -> dict[str, Any]:
        """`/session …` as Slack sends it; returns the app's acknowledgement body (may be empty)."""
        name, _, text = line.strip().partition(" ")
        if name != COMMAND:
            raise DemoInputError(f"{name} is not a command in this workspace; try {COMMAND} help")
        channel = self.channel(channel_id)
        url = self.standin.response_url(channel_id=channel_id, user_id=self.user.id)
        body = slash_command_body(
            text.strip(),
            channel_id=channel_id,
            channel_name=channel.name,
            user_id=self.user.id,
            user_name=self.user.name,
            response_url=url,
            command=COMMAND,
            trigger_id=_trigger_id(),
            team_id=self.standin.team_id,
        )
        shown_before = len(channel.messages)
        ack = await self._post(body)
        self._show_ack(channel, ack, at=shown_before)
        return ack

    async def click(self, channel_id: str, ts: str, block_id: str | None, action: dict[str, Any]) -> None:
        """A click on an interactive element of message `ts` (a button, a select option)."""
        message = self.message(channel_id, ts)
        channel = self.channel(channel_id)
        ephemeral = message.ephemeral_for is not None
        clicked = {**action, "action_ts": _action_ts()}
        if block_id is not None:
            clicked["block_id"] = block_id
        payload: dict[str, Any] = {
            "type": "block_actions",
            **self._who(channel),
            "container": {"type": "message", "message_ts": ts, "channel_id": channel_id, "is_ephemeral": ephemeral},
            "trigger_id": _trigger_id(),
            "response_url": self.standin.response_url(channel_id=channel_id, user_id=self.user.id, message_ts=ts),
            "actions": [clicked],
            "state": {"values": {}},
        }
        if not ephemeral:  # Slack sends no copy of an ephemeral message
            payload["message"] = channel.render(message)
        await self._post(interactive_body(payload))

    async def shortcut(self, channel_id: str, ts: str, callback_id: str = SHORTCUT_CALLBACK_ID) -> None:
        """A message shortcut ("Look up Pipecat session") on message `ts`."""
        message = self.message(channel_id, ts)
        if message.ephemeral_for is not None:
            raise DemoInputError("Slack offers no shortcuts on ephemeral messages")
        channel = self.channel(channel_id)
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            **self._who(channel),
            "trigger_id": _trigger_id(),
            "action_ts": _action_ts(),
            "is_enterprise_install": False,
            "enterprise": None,
            "response_url": self.standin.response_url(channel_id=channel_id, user_id=self.user.id),
            "message_ts": ts,
            "message": {**channel.render(message), "team": self.standin.team_id},
        }
        await self._post(interactive_body(payload))

    async def open_home(self) -> None:
        """The reader opens the app's Home tab: Slack sends `app_home_opened` (Events API, JSON)."""
        event = {"type": "app_home_opened", "user": self.user.id, "channel": "D0DEMOHOME", "tab": "home"}
        body = json.dumps(
            {
                "token": "demo-verification-token",
                "team_id": self.standin.team_id,
                "api_app_id": API_APP_ID,
                "type": "event_callback",
                "event_id": f"Ev{_action_ts().replace('.', '')}",
                "event_time": int(float(_action_ts())),
                "event": event,
            }
        )
        headers = {**sign_request(self._secret, body), "Content-Type": "application/json"}
        answer = await self._http.post("/slack/events", content=body, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"the app answered HTTP {answer.status_code}: {answer.text[:200]}")

    async def click_home(self, block_id: str | None, action: dict[str, Any]) -> None:
        """A click on the Home tab (a view, not a message: no channel, no response URL)."""
        view = self.standin.home_views.get(self.user.id)
        if view is None:
            raise DemoInputError("the Home tab has not been published yet")
        clicked = {**action, "action_ts": _action_ts(), **({"block_id": block_id} if block_id else {})}
        team = self.standin.team_id
        payload = {
            "type": "block_actions",
            "token": "demo-verification-token",
            "api_app_id": API_APP_ID,
            "team": {"id": team, "domain": "pipecat-ops-demo"},
            "user": {"id": self.user.id, "username": self.user.name, "name": self.user.name, "team_id": team},
            "container": {"type": "view", "view_id": self.standin.home_view_ids.get(self.user.id, "")},
            "view": {"type": "home", **view},
            "trigger_id": _trigger_id(),
            "actions": [clicked],
        }
        await self._post(interactive_body(payload))

    # -- plumbing ------------------------------------------------------------------------------

    def _who(self, channel: Channel) -> dict[str, Any]:
        team = self.standin.team_id
        return {
            "token": "demo-verification-token",
            "api_app_id": API_APP_ID,
            "team": {"id": team, "domain": "pipecat-ops-demo"},
            "user": {"id": self.user.id, "username": self.user.name, "name": self.user.name, "team_id": team},
            "channel": {"id": channel.id, "name": channel.name},
        }

    async def _post(self, body: str) -> dict[str, Any]:
        headers = {**sign_request(self._secret, body), "Content-Type": "application/x-www-form-urlencoded"}
        answer = await self._http.post("/slack/events", content=body, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"the app answered HTTP {answer.status_code}: {answer.text[:200]}")
        if not answer.content:
            return {}
        try:
            ack = json.loads(answer.content)
        except json.JSONDecodeError:
            return {"text": answer.text}
        return ack if isinstance(ack, dict) else {}

    def _show_ack(self, channel: Channel, ack: dict[str, Any], *, at: int) -> None:
        """Store the acknowledgement as Slack shows it, before anything the app posted meanwhile (a
        fast answer through the response URL can land before the ack reaches us)."""
        if not ack.get("text") and not ack.get("blocks"):
            return
        in_channel = ack.get("response_type") == "in_channel"
        message = self.standin.store_message(
            channel,
            text=str(ack.get("text") or ""),
            blocks=ack.get("blocks") or None,
            ephemeral_for=None if in_channel else self.user.id,
        )
        if not in_channel and at < len(channel.messages) - 1:
            channel.messages.remove(message)
            channel.messages.insert(at, message)
