"""Controls on an incident's parent message: Acknowledge, Mute, Details, Logs."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import notices
from bot.blocks.session import session_summary
from bot.contracts.actions import Action, parse_mute_value, parse_session_value
from bot.deps import Deps
from bot.slack import actions
from bot.slack.replies import action_value, on_action, post_in_thread_or_privately


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _parent_ts(body: dict[str, Any]) -> str:
    return str((body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts", ""))


async def acknowledge(deps: Deps, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
    channel, _ = actions.where(body)
    if not await deps.alerts.acknowledge(channel, _parent_ts(body), _user(body)):
        await respond(
            **notices.notice("This incident is no longer open.", "Incident closed").to_response(in_channel=False)
        )


async def mute(deps: Deps, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, duration = parse_mute_value(action_value(body))
    channel, _ = actions.where(body)
    until = await deps.alerts.mute(channel, agent, duration, _user(body))
    await respond(**notices.muted(agent, until).to_response(in_channel=False))


async def details(deps: Deps, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent, session_id = parse_session_value(action_value(body))
    session = await deps.pipecat.get_session(agent, session_id)
    channel, thread_ts = actions.where(body)
    message = session_summary(agent, session, now=deps.clock.now())
    await post_in_thread_or_privately(client, respond, channel=channel, thread_ts=thread_ts, message=message)


def register(app: AsyncApp, deps: Deps) -> None:
    on_action(app, deps, Action.INCIDENT_ACK, acknowledge)
    on_action(app, deps, Action.INCIDENT_MUTE, mute)
    on_action(app, deps, Action.INCIDENT_DETAILS, details)
    on_action(app, deps, Action.INCIDENT_LOGS, actions.logs)
