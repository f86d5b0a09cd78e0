"""Turning failures into messages a person can act on, and posting where the user can see them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import REFUSED
from bot.blocks.errors import error_message
from bot.blocks.message import Message
from bot.blocks.notices import refused
from bot.contracts.actions import BadButtonValue, listens_for
from bot.contracts.slack_errors import CANNOT_POST_HERE, error_code
from bot.lookup import AgentNotResolved, AmbiguousShortId, UnknownAgent
from bot.pipecat import errors as pe
from bot.slack.payloads import BlockAction

if TYPE_CHECKING:
    from bot.deps import Deps

logger = logging.getLogger(__name__)

#: What a button does after the ack: (deps, the click, respond, client).
ActionWork = Callable[["Deps", BlockAction, AsyncRespond, AsyncWebClient], Awaitable[None]]

_TITLES: list[tuple[type[pe.PipecatError], str]] = [
    (AgentNotResolved, "Which agent?"),
    (UnknownAgent, "No such agent"),
    (AmbiguousShortId, "Which session?"),
    (pe.InvalidInput, "That doesn't look right"),
    (pe.NotFound, "Not found"),
    (pe.Unauthorized, "Pipecat Cloud refused our API key"),
    (pe.RateLimited, "Pipecat Cloud is rate limiting"),
    (pe.Timeout, "Pipecat Cloud is slow"),
    (pe.Unreachable, "Cannot reach Pipecat Cloud"),
    (pe.ServerError, "Pipecat Cloud error"),
    (pe.UnexpectedResponse, "Unexpected answer from Pipecat Cloud"),
    (pe.BadRequest, "Pipecat Cloud rejected the request"),
]


def error_reply(error: BaseException) -> Message:
    """A message for any failure: typed ones say what to do; anything else is logged, not shown."""
    if isinstance(error, BadButtonValue):
        return error_message("That button is out of date", error.user_message)
    if isinstance(error, pe.PipecatError):
        title = next((t for kind, t in _TITLES if isinstance(error, kind)), "Pipecat Cloud error")
        return error_message(title, error.user_message)
    logger.error("unexpected failure while answering Slack", exc_info=error)
    return error_message("Something went wrong on our side", "It has been logged; please try again.")


def slack_error_code(error: SlackApiError) -> str:
    return error_code(getattr(error.response, "data", None))


async def post_in_thread_or_privately(
    client: AsyncWebClient, respond: AsyncRespond, *, channel: str, thread_ts: str | None, message: Message
) -> None:
    """Post in the channel's thread; if the bot can't post there, answer the user ephemerally."""
    try:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.to_post_kwargs())
    except SlackApiError as error:
        if slack_error_code(error) not in CANNOT_POST_HERE:
            raise
        logger.info("cannot post in %s (%s); answering privately", channel, slack_error_code(error))
        await respond(**message.to_response(in_channel=False))


def on_action(app: AsyncApp, deps: Deps, action_id: str, work: ActionWork) -> None:
    """Bind a button: ack at once; after the ack check access, do the work, turn any failure into
    a private answer, and audit it."""

    async def on_click(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        deps.after_ack.spawn(after_click(body, respond, client))

    async def after_click(body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        click = BlockAction.parse(body)
        audit = {"user_id": click.user_id, "channel_id": click.channel_id, "action": action_id, "detail": click.value}
        if why := deps.gate.refusal(user_id=click.user_id, channel_id=click.channel_id, action=action_id):
            await respond(**refused(why).to_response(in_channel=False))
            await deps.gate.record(**audit, result=REFUSED)
            return
        result = "ok"
        try:
            await work(deps, click, respond, client)
        except Exception as error:  # noqa: BLE001 - a private answer, never silence; error_reply logs the unexpected
            result = type(error).__name__
            await respond(**error_reply(error).to_response(in_channel=False))
        await deps.gate.record(**audit, result=result)

    app.action(listens_for(action_id))(on_click)
