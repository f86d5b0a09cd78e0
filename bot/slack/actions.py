"""Buttons on a session summary: Refresh, Logs, Chart, Stop session."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.errors import error_message
from bot.blocks.logs import logs_message
from bot.blocks.session import session_summary
from bot.contracts.actions import Action, parse_session_value
from bot.deps import Deps
from bot.slack.replies import action_value, on_action, post_in_thread_or_privately, slack_error_code

logger = logging.getLogger(__name__)

LOG_LINES = 20


def where(body: dict[str, Any]) -> tuple[str, str | None]:
    """The channel and the thread to answer in: the clicked message's thread, or the message itself."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id", ""))
    return channel, message.get("thread_ts") or container.get("message_ts") or message.get("ts")


def is_private(body: dict[str, Any]) -> bool:
    """A click on an ephemeral message: its answers stay private (it has no thread others could see)."""
    return bool((body.get("container") or {}).get("is_ephemeral"))


async def refresh(deps: Deps, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(action_value(body))
    session = await deps.pipecat.get_session(agent, session_id)
    summary = session_summary(agent, session, now=deps.clock.now())
    await respond(**summary.to_response(in_channel=not is_private(body), replace_original=True))


async def logs(deps: Deps, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(action_value(body))
    page = await deps.pipecat.get_logs(agent, session_id, limit=LOG_LINES, order="desc")
    channel, thread_ts = where(body)
    message = logs_message(agent, session_id, page, max_lines=LOG_LINES)
    if is_private(body):
        await respond(**message.to_response(in_channel=False))
        return
    await post_in_thread_or_privately(client, respond, channel=channel, thread_ts=thread_ts, message=message)


async def chart(deps: Deps, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
    from bot.charts import render_session_chart  # matplotlib is heavy: only on the first chart

    agent, session_id = parse_session_value(action_value(body))
    if is_private(body):
        explain = error_message(
            "Charts are shared in the channel",
            "This summary is visible only to you, so its chart would have nowhere private to go: look the "
            "session up without `-p` to get a chart in its thread.",
        )
        await respond(**explain.to_response(in_channel=False))
        return
    session = await deps.pipecat.get_session(agent, session_id)
    if not session.resource_metrics or not session.resource_metrics.timeseries:
        await respond(
            **error_message("No chart", "This session reported no resource samples.").to_response(in_channel=False)
        )
        return
    png = await asyncio.to_thread(render_session_chart, agent, session)  # CPU work off the event loop
    channel, thread_ts = where(body)
    try:
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=png,
            filename=f"{agent}-{session_id[:8]}.png",
            title=f"{agent} session {session_id[:8]} CPU and memory",
        )
    except SlackApiError as error:
        reason = slack_error_code(error) or "upload refused"
        await respond(
            **error_message(
                "Couldn't upload the chart here",
                f"Slack said `{reason}`: invite the app to this channel (`/invite @pipecat-ops`) or check its "
                "`files:write` scope.",
            ).to_response(in_channel=False)
        )


async def stop(deps: Deps, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(action_value(body))
    await deps.pipecat.stop_session(agent, session_id)
    logger.info("session %s of %s stopped by %s", session_id, agent, (body.get("user") or {}).get("id"))
    await refresh(deps, body, respond, client)


def register(app: AsyncApp, deps: Deps) -> None:
    on_action(app, deps, Action.SESSION_REFRESH, refresh)
    on_action(app, deps, Action.SESSION_LOGS, logs)
    on_action(app, deps, Action.SESSION_CHART, chart)
    on_action(app, deps, Action.SESSION_STOP, stop)
