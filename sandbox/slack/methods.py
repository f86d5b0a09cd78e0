"""The Web API methods the Slack stand-in answers: `METHODS[name](workspace, args) -> body`.

Each returns the JSON body Slack would (`{"ok": true, ...}` or `{"ok": false, "error": ...}`);
the HTTP layer (slack_standin.py) adds auth, faults, latency and rate limits around them.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox.slack.checks import blocks_problems, message_problem, truthy
from sandbox.slack.model import (
    Channel,
    StoredFile,
    StoredMessage,
    decode_cursor,
    encode_cursor,
    ts_value,
)
from sandbox.slack.workspace import Workspace

Body = dict[str, Any]
Method = Callable[[Workspace, dict[str, Any]], Body]

#: A modal's blocks, like a Home tab's: up to 100.
VIEW_MAX_BLOCKS = 100
HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999
REPLIES_DEFAULT_LIMIT = 1000


def err(error: str, details: list[str] | None = None) -> Body:
    body: Body = {"ok": False, "error": error}
    if details:
        body["response_metadata"] = {"messages": details}
    return body


def auth_test(ws: Workspace, args: dict[str, Any]) -> Body:
    return {
        "ok": True,
        "url": f"{ws.base()}/",
        "team": "Example",
        "user": "pipecat-ops",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, args: dict[str, Any]) -> Body:
    channel, error = ws.postable(args.get("channel"))
    if channel is None:
        return err(error or "channel_not_found")
    problem = message_problem(args)
    if problem is not None:
        return err(*problem)
    message = ws.store_bot_message(channel, args, reply_broadcast=truthy(args.get("reply_broadcast")))
    return {"ok": True, "channel": channel.id, "ts": message.ts, "message": channel.render(message)}


def _own_message(ws: Workspace, args: dict[str, Any], ts_arg: str) -> tuple[Channel, StoredMessage] | Body:
    channel = ws.lookup(args.get("channel"))
    if channel is None:
        return err("channel_not_found")
    message = channel.find(str(args.get(ts_arg) or ""))
    if message is None:
        return err("message_not_found")
    return channel, message


def chat_update(ws: Workspace, args: dict[str, Any]) -> Body:
    found = _own_message(ws, args, "ts")
    if isinstance(found, dict):
        return found
    channel, message = found
    if message.bot_id != ws.bot_id:
        return err("cant_update_message")
    merged = {
        "text": args.get("text", message.text),
        "blocks": args.get("blocks", message.blocks),
        "attachments": args.get("attachments", message.attachments),
        "metadata": args.get("metadata", message.metadata),
    }
    problem = message_problem(merged)
    if problem is not None:
        return err(*problem)
    message.text = str(merged["text"] or "")
    message.blocks = merged["blocks"] or None
    message.attachments = merged["attachments"] or None
    message.metadata = merged["metadata"] or None
    message.edited = True
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": channel.render(message),
    }


def chat_delete(ws: Workspace, args: dict[str, Any]) -> Body:
    found = _own_message(ws, args, "ts")
    if isinstance(found, dict):
        return found
    channel, message = found
    if message.bot_id != ws.bot_id:
        return err("cant_delete_message")
    channel.messages.remove(message)
    return {"ok": True, "channel": channel.id, "ts": message.ts}


def chat_post_ephemeral(ws: Workspace, args: dict[str, Any]) -> Body:
    channel, error = ws.postable(args.get("channel"))
    if channel is None:
        return err(error or "channel_not_found")
    user = args.get("user")
    # Slack refuses an ephemeral message to someone who is not a member of the channel.
    if not isinstance(user, str) or user not in channel.members:
        return err("user_not_in_channel")
    problem = message_problem(args)
    if problem is not None:
        return err(*problem)
    message = ws.store_bot_message(channel, args, ephemeral_for=user)
    return {"ok": True, "message_ts": message.ts}


def chat_get_permalink(ws: Workspace, args: dict[str, Any]) -> Body:
    found = _own_message(ws, args, "message_ts")
    if isinstance(found, dict):
        return found
    channel, message = found
    link = f"{ws.base()}/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


#: Slack's limits on a modal (Block Kit reference, "Modal view object").
MODAL_TITLE_MAX = 24
MODAL_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000
CALLBACK_ID_MAX = 255


def modal_problems(view: dict[str, Any]) -> list[str]:
    """What Slack refuses in a modal: a title missing or over 24 characters, input blocks without a
    submit button, a submit/close label over 24, private_metadata over 3000, callback_id over 255."""
    if view.get("type") != "modal":
        return []
    problems = []
    title = (view.get("title") or {}).get("text")
    if not isinstance(title, str) or not title or len(title) > MODAL_TITLE_MAX:
        problems.append(f"[ERROR] a modal needs a plain_text title of 1 to {MODAL_TITLE_MAX} characters")
    if any(b.get("type") == "input" for b in view.get("blocks", [])) and not view.get("submit"):
        problems.append("[ERROR] a modal with input blocks needs a submit button")
    for key in ("submit", "close"):
        text = (view.get(key) or {}).get("text", "")
        if len(text) > MODAL_BUTTON_MAX:
            problems.append(f"[ERROR] the {key} label is over {MODAL_BUTTON_MAX} characters")
    if len(str(view.get("private_metadata", ""))) > PRIVATE_METADATA_MAX:
        problems.append(f"[ERROR] private_metadata is over {PRIVATE_METADATA_MAX} characters")
    if len(str(view.get("callback_id", ""))) > CALLBACK_ID_MAX:
        problems.append(f"[ERROR] callback_id is over {CALLBACK_ID_MAX} characters")
    return problems


def _view(method: str, *, needs_trigger: bool) -> Method:
    def handler(ws: Workspace, args: dict[str, Any]) -> Body:
        view = args.get("view")
        trigger_id = args.get("trigger_id")
        if not isinstance(view, dict) or (needs_trigger and not trigger_id):
            return err("invalid_arguments")
        problems = blocks_problems(view.get("blocks", []), limit=VIEW_MAX_BLOCKS) + modal_problems(view)
        if problems:
            return err("invalid_arguments", problems)
        view_id = str(args.get("view_id") or ws.new_id("V"))
        ws.views.append({"method": method, "id": view_id, "trigger_id": trigger_id, "view": view})
        return {"ok": True, "view": {"id": view_id, "team_id": ws.team_id, "hash": f"h{view_id}", **view}}

    return handler


def _readable(ws: Workspace, args: dict[str, Any]) -> Channel | Body:
    channel = ws.lookup(args.get("channel"))
    if channel is None:
        return err("channel_not_found")
    if ws.bot_user_id not in channel.members:
        return err("not_in_channel")
    return channel


def _limit(args: dict[str, Any], default: int) -> int:
    try:
        value = int(args.get("limit") or default)
    except (TypeError, ValueError):
        value = default
    return max(1, min(value, max(default, HISTORY_MAX_LIMIT)))


def _in_window(message: StoredMessage, args: dict[str, Any]) -> bool:
    ts = ts_value(message.ts) or Decimal(0)
    oldest, latest = ts_value(args.get("oldest")), ts_value(args.get("latest"))
    inclusive = truthy(args.get("inclusive"))
    if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
        return False
    return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))


def _page(channel: Channel, found: list[StoredMessage], args: dict[str, Any], limit: int) -> Body:
    page, rest = found[:limit], found[limit:]
    include_metadata = truthy(args.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [channel.render(m, include_metadata=include_metadata) for m in page],
        "has_more": bool(rest),
        "response_metadata": {"next_cursor": encode_cursor(rest[0].ts) if rest else ""},
    }


def conversations_history(ws: Workspace, args: dict[str, Any]) -> Body:
    channel = _readable(ws, args)
    if isinstance(channel, dict):
        return channel
    found = [m for m in reversed(channel.top_level()) if _in_window(m, args)]
    below = decode_cursor(str(args["cursor"])) if args.get("cursor") else None
    if below is not None:
        found = [m for m in found if (ts_value(m.ts) or 0) <= below]
    return _page(channel, found, args, _limit(args, HISTORY_DEFAULT_LIMIT))


def conversations_replies(ws: Workspace, args: dict[str, Any]) -> Body:
    channel = _readable(ws, args)
    if isinstance(channel, dict):
        return channel
    root = ws.thread_root(channel, args.get("ts"))
    parent = channel.find(root) if root else None
    if parent is None:
        return err("thread_not_found")
    found = [m for m in [parent, *channel.replies(parent.ts)] if _in_window(m, args) or m is parent]
    above = decode_cursor(str(args["cursor"])) if args.get("cursor") else None
    if above is not None:
        found = [m for m in found if (ts_value(m.ts) or 0) >= above]
    return _page(channel, found, args, _limit(args, REPLIES_DEFAULT_LIMIT))


def conversations_info(ws: Workspace, args: dict[str, Any]) -> Body:
    channel = ws.lookup(args.get("channel"))
    if channel is None:
        return err("channel_not_found")
    return {"ok": True, "channel": channel.info(ws.bot_user_id)}


#: users.conversations: Slack's largest page, and the scope each channel type needs.
USERS_CONVERSATIONS_MAX_LIMIT = 1000
_TYPE_SCOPES = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "mpim": "mpim:read",
    "im": "im:read",
}


def users_conversations(ws: Workspace, args: dict[str, Any]) -> Body:
    """The channels `user` is a member of (the stand-in's channels are all public, and a bot token
    sees them whether or not the bot is in them), paged by channel id."""
    types = [t.strip() for t in str(args.get("types") or "public_channel").split(",") if t.strip()]
    if any(t not in _TYPE_SCOPES for t in types):
        return err("invalid_types")
    needed = sorted({_TYPE_SCOPES[t] for t in types} - set(ws.granted_scopes))
    if needed:
        return {
            "ok": False,
            "error": "missing_scope",
            "needed": ",".join(needed),
            "provided": ",".join(ws.granted_scopes),
        }
    user = args.get("user")
    if user is not None and not isinstance(user, str):
        return err("user_not_found")
    try:
        limit = int(args.get("limit") or 100)
    except (TypeError, ValueError):
        limit = 100
    limit = max(1, min(limit, USERS_CONVERSATIONS_MAX_LIMIT))
    channels = sorted(
        (c for c in ws.channels.values() if "public_channel" in types and (user or ws.bot_user_id) in c.members),
        key=lambda c: c.id,
    )
    if truthy(args.get("exclude_archived")):
        channels = [c for c in channels if not c.archived]
    after = str(args.get("cursor") or "")
    if after:
        channels = [c for c in channels if c.id > after]
    page, rest = channels[:limit], channels[limit:]
    return {
        "ok": True,
        "channels": [c.info(ws.bot_user_id) for c in page],
        "response_metadata": {"next_cursor": page[-1].id if rest else ""},
    }


def files_get_upload_url(ws: Workspace, args: dict[str, Any]) -> Body:
    filename = args.get("filename")
    try:
        length = int(args.get("length") or -1)
    except (TypeError, ValueError):
        length = -1
    if not isinstance(filename, str) or not filename or length < 0:
        return err("invalid_arguments")
    file_id = ws.new_id("F")
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    alt = args.get("alt_txt")
    ws.files[file_id] = StoredFile(
        file_id, filename, length, alt_txt=alt if isinstance(alt, str) else None, mimetype=mimetype
    )
    return {"ok": True, "upload_url": f"{ws.base()}/upload/v1/{file_id}", "file_id": file_id}


def files_complete_upload(ws: Workspace, args: dict[str, Any]) -> Body:
    items = args.get("files")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return err("invalid_arguments")
    files: list[StoredFile] = []
    for item in items:
        stored = ws.files.get(str(item.get("id")))
        if stored is None or stored.content is None:
            return err("file_not_found")
        files.append(stored)
    targets: list[Channel] = []
    names = [args["channel_id"]] if args.get("channel_id") else str(args.get("channels") or "").split(",")
    for name in filter(None, (n.strip() for n in names)):
        channel, error = ws.postable(name)
        if channel is None:
            return err(error or "channel_not_found")
        targets.append(channel)
    for item, stored in zip(items, files, strict=True):
        stored.title = str(item.get("title") or stored.name)
        stored.channels.extend(c.id for c in targets)
    rendered = [f.render(ws.base()) for f in files]
    thread_ts = args.get("thread_ts") if args.get("channel_id") else None
    for channel in targets:
        post = {
            "text": args.get("initial_comment") or "",
            "blocks": args.get("blocks"),
            "thread_ts": thread_ts,
        }
        ws.store_bot_message(channel, post, files=rendered)
    return {"ok": True, "files": rendered}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "views.open": _view("views.open", needs_trigger=True),
    "views.push": _view("views.push", needs_trigger=True),
    "views.update": _view("views.update", needs_trigger=False),
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.info": conversations_info,
    "users.conversations": users_conversations,
    "files.getUploadURLExternal": files_get_upload_url,
    "files.completeUploadExternal": files_complete_upload,
}
