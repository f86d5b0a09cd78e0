"""The Bolt middleware that binds each Slack request's log context and notes its kind (for the ack
timer, bot/ops/instrument.py `timed_ack`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.ops.instrument import note_request_kind
from bot.ops.logs import bind_rest_of_task
from bot.slack import parsing


def _kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "command"
    kind = str(body.get("type") or "")
    return {
        "block_actions": "action",
        "message_action": "shortcut",
        "shortcut": "shortcut",
        "event_callback": "event",
    }.get(kind, "other")


def _context(body: dict[str, Any], kind: str) -> dict[str, str]:
    """team, channel, user and verb/action of one Slack request, for every log line it causes."""
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    event = body.get("event") or {}
    found: dict[str, Any] = {
        "team": team,
        "channel": channel or event.get("channel"),
        "user": user or event.get("user"),
    }
    if kind == "command":
        found["verb"] = str(parsing.parse_command(str(body.get("text") or "")).verb)
    elif kind == "action":
        found["action"] = ",".join(str(a.get("action_id")) for a in body.get("actions") or [])[:120]
    elif kind == "shortcut":
        found["action"] = body.get("callback_id")
    elif kind == "event":
        found["event"] = event.get("type")
    return {k: str(v) for k, v in found.items() if v}


class ObserveRequest(AsyncMiddleware):
    """Bind the request's log context and note its kind for the rest of the request's task.

    Bolt runs the listeners after the global middleware returned (its `next()` only flags), in the
    same task: work they spawn copies the context, and the ack timer around the dispatch
    (`timed_ack`) reads the kind. A middleware object, not a function: Bolt inspects a function
    middleware's signature to build its arguments on every request."""

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        kind = _kind(body)
        note_request_kind(kind)
        bind_rest_of_task(**_context(body, kind))
        return await next()
