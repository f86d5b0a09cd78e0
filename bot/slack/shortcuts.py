"""Message shortcut `lookup_session`: summaries of every session a message mentions, in its thread."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import REFUSED
from bot.blocks.errors import error_message
from bot.blocks.message import Message
from bot.blocks.notices import refused
from bot.blocks.session import session_summary
from bot.contracts.actions import SHORTCUT_LOOKUP
from bot.deps import Deps
from bot.slack.payloads import MessageShortcut
from bot.slack.references import MAX_REFERENCES, SessionReference, find_references
from bot.slack.replies import error_reply, post_in_thread_or_privately


def nothing_found() -> Message:
    return error_message(
        "No Pipecat session found in that message",
        f"I look for session ids (UUIDs like `0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11`, up to {MAX_REFERENCES}) "
        "in the text, blocks and attachments, with the agent as `agent/id`, an `agents/<agent>/` link, "
        "`agent: name` or an agent name in the message.",
    )


async def _summary(deps: Deps, ref: SessionReference, channel_id: str) -> Message:
    try:
        found = await deps.finder.find(ref.session_id, agent=ref.agent_hint, channel_id=channel_id, strict=False)
    except Exception as error:
        return error_reply(error)
    return session_summary(found.agent, found.session, now=deps.clock.now())


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
        refs = find_references(message)
        if refs and any(ref.agent_hint is None for ref in refs):
            refs = find_references(message, await deps.agents.names())
        if not refs:
            await respond(**nothing_found().to_response(in_channel=False))
            await deps.gate.record(**audit, detail="", result="no session id")
            return
        replies = await asyncio.gather(*(_summary(deps, ref, channel_id) for ref in refs))
        detail = " ".join(f"{ref.agent_hint or '?'}/{ref.session_id}" for ref in refs)
        await deps.gate.record(**audit, detail=detail, result="ok")
        for reply in replies:
            await post_in_thread_or_privately(
                client, respond, channel=channel_id, thread_ts=shortcut.thread_ts, message=reply
            )
