"""Web API methods of the Slack stand-in beyond messages: the Home tab (views.publish) and Socket
Mode's connection URL (apps.connections.open)."""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack.checks import blocks_problems
from sandbox.slack.methods import Body, Method, err
from sandbox.slack.workspace import Workspace

#: A Home tab view takes up to 100 blocks (a message 50).
HOME_MAX_BLOCKS = 100


def views_publish(ws: Workspace, args: dict[str, Any]) -> Body:
    """The Home tab of one user: the whole view, replaced on every publish."""
    view, user = args.get("view"), args.get("user_id")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            return err("invalid_arguments")
    if not isinstance(view, dict) or not isinstance(user, str) or not user:
        return err("invalid_arguments")
    if view.get("type") != "home":
        return err("invalid_arguments", ["[ERROR] views.publish takes a view of type home [json-pointer:/view/type]"])
    problems = blocks_problems(view.get("blocks", []), limit=HOME_MAX_BLOCKS)
    if problems:
        # The view methods answer a bad block with invalid_arguments (chat.* say invalid_blocks).
        return err("invalid_arguments", problems)
    view_id = ws.home_view_ids.setdefault(user, ws.new_id("V"))
    ws.home_views[user] = view
    ws.views.append({"method": "views.publish", "id": view_id, "trigger_id": None, "view": view, "user_id": user})
    return {"ok": True, "view": {"id": view_id, "team_id": ws.team_id, "hash": f"h{view_id}", **view}}


def apps_connections_open(ws: Workspace, args: dict[str, Any]) -> Body:
    """Socket Mode's WebSocket URL (the SocketModeStandIn's, when a test runs one)."""
    if not ws.socket_url:
        return err("internal_error")
    return {"ok": True, "url": ws.socket_url}


SURFACE_METHODS: dict[str, Method] = {
    "views.publish": views_publish,
    "apps.connections.open": apps_connections_open,
}
