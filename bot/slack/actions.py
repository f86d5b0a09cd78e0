"""Buttons on a session summary: Refresh, Logs, Chart, Stop session."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.errors import error_message
from bot.blocks.logs import logs_message
from bot.contracts.actions import Action, parse_session_value
from bot.deps import Deps
from bot.slack.payloads import BlockAction
from bot.slack.replies import on_action, post_in_thread_or_privately, slack_error_code
from bot.slack.summaries import summary_with_cause

logger = logging.getLogger(__name__)

LOG_LINES = 20


async def refresh(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(click.value)
    session = await deps.pipecat.get_session(agent, session_id)
    summary = await summary_with_cause(deps, agent, session)
    await respond(**summary.to_response(in_channel=not click.is_private, replace_original=True))


async def logs(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(click.value)
    page = await deps.pipecat.get_logs(agent, session_id, limit=LOG_LINES, order="desc")
    message = logs_message(agent, session_id, page, max_lines=LOG_LINES)
    if click.is_private:
        await respond(**message.to_response(in_channel=False))
        return
    await post_in_thread_or_privately(
        client, respond, channel=click.channel_id, thread_ts=click.thread_ts, message=message
    )


async def chart(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    from bot.charts import chart_points, render_session_chart  # matplotlib is heavy: only on the first chart

    agent, session_id = parse_session_value(click.value)
    if click.is_private:
        explain = error_message(
            "Charts are shared in the channel",
            "This summary is visible only to you, so its chart would have nowhere private to go: look the "
            "session up without `-p` to get a chart in its thread.",
        )
        await respond(**explain.to_response(in_channel=False))
        return
    session = await deps.pipecat.get_session(agent, session_id)
    if not any(chart_points(session)):  # no samples, or none at a time a calendar holds
        await respond(
            **error_message("No chart", "This session reported no timed resource samples.").to_response(
                in_channel=False
            )
        )
        return
    png = await asyncio.to_thread(render_session_chart, agent, session)  # CPU work off the event loop
    try:
        await client.files_upload_v2(
            channel=click.channel_id,
            thread_ts=click.thread_ts,
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


async def stop(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(click.value)
    await deps.pipecat.stop_session(agent, session_id)
    logger.info("session %s of %s stopped by %s", session_id, agent, click.user_id)
    await refresh(deps, click, respond, client)


def register(app: AsyncApp, deps: Deps) -> None:
    on_action(app, deps, Action.SESSION_REFRESH, refresh)
    on_action(app, deps, Action.SESSION_LOGS, logs)
    on_action(app, deps, Action.SESSION_CHART, chart)
    on_action(app, deps, Action.SESSION_STOP, stop)
