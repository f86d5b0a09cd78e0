"""Controls on an incident's parent message: Acknowledge, Mute, Details, Logs."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import notices
from bot.blocks.rates import rates_card
from bot.blocks.session import session_summary
from bot.contracts.actions import Action, BadButtonValue, parse_mute_value, parse_session_value
from bot.contracts.names import AGENT_NAME
from bot.deps import Deps
from bot.slack import actions
from bot.slack.payloads import BlockAction
from bot.slack.replies import on_action, post_in_thread_or_privately


async def acknowledge(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    if not await deps.alerts.acknowledge(click.channel_id, click.message_ts, click.user_id):
        await respond(
            **notices.notice("This incident is no longer open.", "Incident closed").to_response(in_channel=False)
        )


async def mute(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, duration = parse_mute_value(click.value)
    until = await deps.alerts.mute(click.channel_id, agent, duration, click.user_id)
    await respond(**notices.muted(agent, until).to_response(in_channel=False))


async def details(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(click.value)
    session = await deps.pipecat.get_session(agent, session_id)
    message = session_summary(agent, session, now=deps.clock.now())
    await post_in_thread_or_privately(
        client, respond, channel=click.channel_id, thread_ts=click.thread_ts, message=message
    )


async def acknowledge_rate(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    if not await deps.alerts.acknowledge_rate(click.channel_id, click.message_ts, click.user_id):
        await respond(
            **notices.notice("This rate alert is no longer open.", "Rate alert resolved").to_response(in_channel=False)
        )


async def rate_details(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """The agent's `/session rates` card, for whoever clicked."""
    agent = click.value if AGENT_NAME.fullmatch(click.value or "") else None
    if agent is None:
        raise BadButtonValue(f"not an agent name: {click.value[:80]!r}")
    await respond(**rates_card(await deps.alerts.rates_view(agent)).to_response(in_channel=False))


def register(app: AsyncApp, deps: Deps) -> None:
    on_action(app, deps, Action.INCIDENT_ACK, acknowledge)
    on_action(app, deps, Action.INCIDENT_MUTE, mute)
    on_action(app, deps, Action.INCIDENT_DETAILS, details)
    on_action(app, deps, Action.INCIDENT_LOGS, actions.logs)
    on_action(app, deps, Action.RATE_ACK, acknowledge_rate)
    on_action(app, deps, Action.RATE_DETAILS, rate_details)
