"""Who may use what, where: the optional allowlists (bot.config.AccessLists), as a pure policy."""

from __future__ import annotations

from bot.config import AccessLists
from bot.contracts.actions import ADMIN_ONLY


def refusal(lists: AccessLists, *, user_id: str, channel_id: str, action: str) -> str | None:
    """None when allowed; otherwise the sentence shown (ephemerally) to the user."""
    if lists.channels and channel_id not in lists.channels:
        return "pipecat-ops is not enabled in this channel. Ask an admin to add it to ALLOWED_CHANNELS."
    if lists.users and user_id not in lists.users and user_id not in lists.admins:
        return "You are not on this app's list of users. Ask an admin to add you to ALLOWED_USERS."
    if action in ADMIN_ONLY and lists.admins and user_id not in lists.admins:
        return f"Only admins can use `{action.replace('_', ' ')}`. Ask one of them, or to be added to ADMIN_USERS."
    return None
