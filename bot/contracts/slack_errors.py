"""Slack Web API error codes that mean "the bot cannot post in this channel", and what to do.

One table serves three readers: delivery marks a watch broken on any of these codes and holds the
channel's posts until a probe post goes through (bot/alerts/delivery/slack_errors.py, transitions.py),
`/session watches` explains them (bot/blocks/alert_watches.py), and an interactive answer falls
back to a private reply on the `answer_privately` ones (bot/slack/replies.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelError:
    #: What it means for the people in the channel, and what to do; None: no known advice.
    fix: str | None
    #: The user can still be answered privately (through the response URL) when a post fails so.
    answer_privately: bool = False


_TOKEN_INVALID = ChannelError("Slack token no longer valid — reinstall the app")
_NO_PERMISSION = "the app may not post here — check the channel's posting permissions"

CHANNEL_ERRORS: dict[str, ChannelError] = {
    "not_in_channel": ChannelError("bot not in channel — invite it with /invite @pipecat-ops", True),
    "channel_not_found": ChannelError(
        "channel not found — it was deleted, or it is private and the bot was never invited", True
    ),
    "is_archived": ChannelError("channel is archived — unarchive it, or watch from another channel", True),
    "invalid_auth": _TOKEN_INVALID,
    "account_inactive": _TOKEN_INVALID,
    "token_revoked": _TOKEN_INVALID,
    "token_expired": _TOKEN_INVALID,
    "not_authed": ChannelError("Slack token missing — check SLACK_BOT_TOKEN"),
    "missing_scope": ChannelError("the app lacks a permission — reinstall it from the manifest", True),
    "no_permission": ChannelError(_NO_PERMISSION),
    "restricted_action": ChannelError(_NO_PERMISSION, True),
    "team_access_not_granted": ChannelError(None),
    "ekm_access_denied": ChannelError(None),
}

#: Codes after which an interactive answer goes to the user privately instead.
CANNOT_POST_HERE = frozenset(code for code, error in CHANNEL_ERRORS.items() if error.answer_privately)
#: chat.update refusals that say the edited message is gone for good: a person deleted it, ...
MESSAGE_NOT_FOUND = "message_not_found"
#: ... or its channel was deleted or archived (the edit is dropped; the channel is held and probed).
EDIT_TARGET_GONE = frozenset({"channel_not_found", "is_archived"})
#: `ok: false` errors after which Slack may or may not have stored the message.
UNCERTAIN_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def broken_text(code: str) -> str:
    """Why a watch with this Slack error does not deliver, for `/session watches`."""
    known = CHANNEL_ERRORS.get(code)
    return known.fix if known is not None and known.fix else f"Slack refused posts here ({code})"


def error_code(response_data: object) -> str:
    """The `error` field of a Web API answer ("" when there is none)."""
    return str(response_data.get("error") or "") if isinstance(response_data, dict) else ""
