"""Message shortcut `lookup_session`: summaries of every session a message mentions, in its thread."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import REFUSED
from bot.blocks.errors import error_message
from bot.blocks.message import Message
from bot.blocks.notices import refused
from bot.contracts.actions import SHORTCUT_LOOKUP
from bot.deps import Deps
from bot.lookup import SHORTCUT_MAX_CANDIDATES
from bot.slack.payloads import MessageShortcut
from bot.slack.references import MAX_REFERENCES, SessionReference, scan_message
from bot.slack.replies import error_reply, post_in_thread_or_privately
from bot.slack.summaries import summary_with_cause


def nothing_found() -> Message:
    return error_message(
        "No Pipecat session found in that message",
        f"I look for session ids (UUIDs like `0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11`, up to {MAX_REFERENCES}) "
        "in the text, blocks and attachments, with the agent as `agent/id`, an `agents/<agent>/` link, "
        "`agent: name` or an agent name in the message.",
    )


#: Ids over MAX_REFERENCES named one by one in the note that says they were not looked up.
OVER_LIMIT_NAMED = 20


def not_looked_up(ids: Sequence[str], total: int) -> Message:
    """The ids past MAX_REFERENCES, named (never dropped silently)."""
    named = ", ".join(f"`{sid}`" for sid in ids[:OVER_LIMIT_NAMED])
    more = f" and {len(ids) - OVER_LIMIT_NAMED} more" if len(ids) > OVER_LIMIT_NAMED else ""
    return error_message(
        f"{len(ids)} more session id(s) in that message were not looked up",
        f"That message names {total} session ids; I look up the first {MAX_REFERENCES}. "
        f"Not looked up: {named}{more}. Use `/session <agent> <session-id>` for each.",
    )


async def _summary(
    deps: Deps, ref: SessionReference, channel_id: str, named: Sequence[str], organization: Sequence[str]
) -> Message:
    """Each id resolved on its own: its own hint, then the other agents the message names, the
    channel's watched agents, the default agent and the organization's agents (bounded)."""
    try:
        found = await deps.finder.find(
            ref.session_id,
            agent=ref.agent_hint,
            channel_id=channel_id,
            strict=False,
            named=named,
            organization=organization,
            limit=SHORTCUT_MAX_CANDIDATES,
        )
    except Exception as error:  # noqa: BLE001 - a message, never silence; error_reply logs the unexpected
        return error_reply(error)
    return await summary_with_cause(deps, found.agent, found.session)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.shortcut(SHORTCUT_LOOKUP)
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        await ack()
        deps.after_ack.spawn(lookup(body, client, respond))

    async def lookup(body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        shortcut = MessageShortcut.parse(body)
        message, channel_id = shortcut.message, shortcut.channel_id
        audit = {"user_id": shortcut.user_id, "channel_id": channel_id, "action": SHORTCUT_LOOKUP}
        if why := deps.gate.refusal(user_id=shortcut.user_id, channel_id=channel_id, action=SHORTCUT_LOOKUP):
            await respond(**refused(why).to_response(in_channel=False))
            await deps.gate.record(**audit, detail="", result=REFUSED)
            return
        if not scan_message(message).sessions:
            await respond(**nothing_found().to_response(in_channel=False))
            await deps.gate.record(**audit, detail="", result="no session id")
            return
        organization = await deps.agents.names()  # cached; an id's last resort, and line hints
        found = scan_message(message, organization)
        refs = found.looked_up
        replies = await asyncio.gather(*(_summary(deps, ref, channel_id, found.agents, organization) for ref in refs))
        if found.over_limit:
            replies.append(not_looked_up(found.over_limit, len(found.sessions)))
        detail = " ".join(f"{ref.agent_hint or '?'}/{ref.session_id}" for ref in refs)
        await deps.gate.record(**audit, detail=detail, result="ok")
        for reply in replies:
            await post_in_thread_or_privately(
                client, respond, channel=channel_id, thread_ts=shortcut.thread_ts, message=reply
            )
