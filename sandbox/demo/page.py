"""The demo page's own server: the static page, the workspace as JSON, and the user's actions.

    GET  /                 the page (static/index.html; scripts and styles under /static)
    GET  /api/state        channels, messages, threads and files of the Slack stand-in (ETag'd)
    GET  /files/{id}       an uploaded file's bytes, from the stand-in's store
    POST /api/message      {channel, text, thread_ts?}: a plain message from the user
    POST /api/command      {channel, text}: `/session …`, sent to the app as a signed slash command
    POST /api/action       {channel, ts, block_id, action}: a click, sent as signed block_actions
    POST /api/shortcut     {channel, ts}: "Look up Pipecat session", sent as a signed message_action
    GET  /api/home         the App Home view the app last published for the reader (or null)
    POST /api/home/open    {}: the reader opens the Home tab (a signed app_home_opened event)
    POST /api/home/action  {block_id, action}: a click on the Home tab, sent as signed block_actions
    POST /api/scenario     {name}: play a scenario step (the rate scenarios, sandbox/demo/rates.py)

POSTs must be JSON (a cross-site form cannot send that without a CORS preflight, which this
server never grants), and the page is served with a CSP that allows only its own scripts.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.contracts.outcomes import is_failed
from sandbox.demo.slack import DemoInputError, SlackPlayer
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.slack.model import Channel
from sandbox.slack.standin import SlackStandIn, StoredMessage

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
#: Top-level messages per channel sent to the page (a long-running demo keeps posting).
MAX_MESSAGES = 200
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

WatchedAgents = Callable[[str], Awaitable[list[str]]]


class Plays(Protocol):
    """Scenario steps the reader starts from the page (sandbox/demo/rates.py RateStory)."""

    def menu(self) -> list[dict[str, Any]]:
        """Each step: name, label, expect (what follows), agent, enabled (it applies now)."""
        ...

    async def play(self, name: str) -> str:
        """Run step `name`; what happened, for the reader. ValueError when it does not apply now."""
        ...


@dataclass
class PageContext:
    standin: SlackStandIn
    sim: PipecatSimulator
    player: SlackPlayer
    #: user id → {"name": …, "bot": bool}; unknown ids are shown as the id.
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: channel id → one-line description shown under its name.
    topics: dict[str, str] = field(default_factory=dict)
    #: The agents a channel watches (the alert service), if known.
    watched: WatchedAgents | None = None
    #: The PagerDuty stand-in: its alerts are the incidents that paged.
    pagerduty: PagerDutyStandIn | None = None
    #: The scenario steps listed on the page, if any.
    plays: Plays | None = None


class BadInput(Exception):
    pass


def build_page_app(ctx: PageContext) -> Starlette:
    routes = [
        Route("/", _index, methods=["GET"]),
        Route("/api/state", partial(_state, ctx), methods=["GET"]),
        Route("/files/{file_id}", partial(_file, ctx), methods=["GET"]),
        Route("/api/message", partial(_guarded, ctx, handler=_message), methods=["POST"]),
        Route("/api/command", partial(_guarded, ctx, handler=_command), methods=["POST"]),
        Route("/api/action", partial(_guarded, ctx, handler=_action), methods=["POST"]),
        Route("/api/shortcut", partial(_guarded, ctx, handler=_shortcut), methods=["POST"]),
        Route("/api/home", partial(_home, ctx), methods=["GET"]),
        Route("/api/home/open", partial(_guarded, ctx, handler=_home_open), methods=["POST"]),
        Route("/api/home/action", partial(_guarded, ctx, handler=_home_action), methods=["POST"]),
        Route("/api/scenario", partial(_guarded, ctx, handler=_scenario), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes)


async def _index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


# -- state ---------------------------------------------------------------------------------------


def file_json(item: dict[str, Any]) -> dict[str, Any]:
    file_id = str(item.get("id", ""))
    return {
        "id": file_id,
        "name": item.get("name"),
        "title": item.get("title"),
        "mimetype": item.get("mimetype"),
        "size": item.get("size"),
        "alt": item.get("alt_txt"),
        "url": f"/files/{file_id}",
    }


def message_json(message: StoredMessage) -> dict[str, Any]:
    return {
        "ts": message.ts,
        "thread_ts": message.thread_ts,
        "user": message.user,
        "bot": message.bot_id is not None,
        "text": message.text,
        "blocks": message.blocks or [],
        "attachments": message.attachments or [],
        "files": [file_json(f) for f in message.files],
        "edited": message.edited,
        "ephemeral": message.ephemeral_for is not None,
        "broadcast": message.reply_broadcast,
    }


def channel_json(channel: Channel, me: str) -> dict[str, Any]:
    def visible(message: StoredMessage) -> bool:
        return message.ephemeral_for in (None, me)

    replies: dict[str, list[dict[str, Any]]] = {}
    for message in channel.messages:
        if message.is_reply and visible(message):
            replies.setdefault(str(message.thread_ts), []).append(message_json(message))
    top = [m for m in channel.messages if (not m.is_reply or m.reply_broadcast) and visible(m)]
    shown = []
    for message in top[-MAX_MESSAGES:]:
        item = message_json(message)
        if not message.is_reply:
            item["replies"] = replies.get(message.ts, [])
        shown.append(item)
    return {"id": channel.id, "name": channel.name, "messages": shown, "total": len(top)}


def agents_json(sim: PipecatSimulator) -> list[dict[str, Any]]:
    out = []
    for name, agent in sim.agents.items():
        sessions = list(agent.sessions.values())
        active = sum(1 for s in sessions if s.active)
        failed = sum(1 for s in sessions if is_failed(s.completion_status, s.end_state, active=s.active))
        out.append({"name": name, "active": active, "sessions": len(sessions), "failed": failed})
    return out


async def state_json(ctx: PageContext) -> dict[str, Any]:
    me = ctx.player.user
    channels = []
    for channel in ctx.standin.channels.values():
        item = channel_json(channel, me.id)
        item["topic"] = ctx.topics.get(channel.id, "")
        item["watching"] = await ctx.watched(channel.id) if ctx.watched is not None else []
        channels.append(item)
    return {
        "workspace": "pipecat-ops demo",
        "me": {"id": me.id, "name": me.name},
        "users": ctx.users,
        "channels": channels,
        "agents": agents_json(ctx.sim),
        "pagerduty": [a.view() for a in ctx.pagerduty.alerts] if ctx.pagerduty is not None else [],
        "scenarios": ctx.plays.menu() if ctx.plays is not None else [],
    }


async def _state(ctx: PageContext, request: Request) -> Response:
    body = json.dumps(await state_json(ctx), separators=(",", ":"), ensure_ascii=False).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


async def _file(ctx: PageContext, request: Request) -> Response:
    stored = ctx.standin.files.get(request.path_params["file_id"])
    if stored is None or stored.content is None:
        return JSONResponse({"error": "file_not_found"}, status_code=404)
    # Served as an attachment unless it is an image the page shows inline.
    inline = stored.mimetype in ("image/png", "image/jpeg", "image/gif", "image/webp")
    disposition = "inline" if inline else "attachment"
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'{disposition}; filename="{_safe_name(stored.name)}"'}
    return Response(
        stored.content, media_type=stored.mimetype if inline else "application/octet-stream", headers=headers
    )


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100] or "file"


# -- the user's actions --------------------------------------------------------------------------

Handler = Callable[[PageContext, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _guarded(ctx: PageContext, request: Request, handler: Handler) -> Response:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"error": "send JSON"}, status_code=415)
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise BadInput("send a JSON object")
        return JSONResponse({"ok": True, **await handler(ctx, body)})
    except (BadInput, DemoInputError, json.JSONDecodeError) as error:
        return JSONResponse({"ok": False, "error": str(error)}, status_code=400)
    except (RuntimeError, httpx.HTTPError) as error:
        logger.warning("the app did not take the request: %s", error)
        return JSONResponse({"ok": False, "error": f"the app did not answer: {error}"}, status_code=502)


def _text(body: dict[str, Any], key: str, *, limit: int = 4000, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise BadInput(f"`{key}` must be a string of 1 to {limit} characters")
    return value


async def _message(ctx: PageContext, body: dict[str, Any]) -> dict[str, Any]:
    channel, text = _text(body, "channel", limit=40), _text(body, "text")
    thread_ts = _text(body, "thread_ts", limit=40, required=False) or None
    assert channel is not None and text is not None
    message = ctx.player.say(channel, text, thread_ts)
    return {"ts": message.ts}


async def _command(ctx: PageContext, body: dict[str, Any]) -> dict[str, Any]:
    channel, text = _text(body, "channel", limit=40), _text(body, "text")
    assert channel is not None and text is not None
    return {"ack": await ctx.player.command(channel, text)}


async def _action(ctx: PageContext, body: dict[str, Any]) -> dict[str, Any]:
    channel, ts = _text(body, "channel", limit=40), _text(body, "ts", limit=40)
    block_id = _text(body, "block_id", limit=255, required=False)
    action = body.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
        raise BadInput("`action` must be an object with an action_id")
    assert channel is not None and ts is not None
    await ctx.player.click(channel, ts, block_id, action)
    return {}


async def _shortcut(ctx: PageContext, body: dict[str, Any]) -> dict[str, Any]:
    channel, ts = _text(body, "channel", limit=40), _text(body, "ts", limit=40)
    assert channel is not None and ts is not None
    await ctx.player.shortcut(channel, ts)
    return {}


async def _home(ctx: PageContext, request: Request) -> Response:
    view = ctx.standin.home_views.get(ctx.player.user.id)
    return JSONResponse({"view": view}, headers={"Cache-Control": "no-store"})


async def _home_open(ctx: PageContext, body: dict[str, Any]) -> dict[str, Any]:
    await ctx.player.open_home()
    return {}


async def _home_action(ctx: PageContext, body: dict[str, Any]) -> dict[str, Any]:
    block_id = _text(body, "block_id", limit=255, required=False)
    action = body.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
        raise BadInput("`action` must be an object with an action_id")
    await ctx.player.click_home(block_id, action)
    return {}


async def _scenario(ctx: PageContext, body: dict[str, Any]) -> dict[str, Any]:
    name = _text(body, "name", limit=40)
    assert name is not None
    if ctx.plays is None:
        raise BadInput("this demo has no scenarios to play")
    try:
        said = await ctx.plays.play(name)
    except ValueError as error:  # not a step, or not one that applies now: say which does
        raise BadInput(str(error)) from error
    return {"said": said}
