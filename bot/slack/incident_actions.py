"""Controls on an incident's parent message: Acknowledge, Mute, Details, Logs."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import notices
from bot.contracts.actions import Action, parse_mute_value, parse_session_value
from bot.deps import Deps
from bot.slack import actions
from bot.slack.payloads import BlockAction
from bot.slack.replies import on_action, post_in_thread_or_privately
from bot.slack.summaries import summary_with_cause


async def acknowledge(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """The first click acknowledges (the parent says who, PagerDuty stops escalating); a later one
    changes nothing and tells its clicker, privately, who acknowledged and when."""
    ack = await deps.alerts.acknowledge(click.channel_id, click.message_ts, click.user_id)
    if ack is None:
        await respond(
            **notices.notice("This incident is no longer open.", "Incident closed").to_response(in_channel=False)
        )
    elif not ack.first:
        await respond(**notices.already_acknowledged(ack.by, ack.at).to_response(in_channel=False))


async def mute(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, duration = parse_mute_value(click.value)
    until = await deps.alerts.mute(click.channel_id, agent, duration, click.user_id)
    await respond(**notices.muted(agent, until).to_response(in_channel=False))


async def details(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(click.value)
    session = await deps.pipecat.get_session(agent, session_id)
    message = await summary_with_cause(deps, agent, session)
    await post_in_thread_or_privately(
        client, respond, channel=click.channel_id, thread_ts=click.thread_ts, message=message
    )


def register(app: AsyncApp, deps: Deps) -> None:
    on_action(app, deps, Action.INCIDENT_ACK, acknowledge)
    on_action(app, deps, Action.INCIDENT_MUTE, mute)
    on_action(app, deps, Action.INCIDENT_DETAILS, details)
    on_action(app, deps, Action.INCIDENT_LOGS, actions.logs)
