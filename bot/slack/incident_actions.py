"""Controls on an alert: Acknowledge / Unacknowledge (incidents, health, webhook and rate alerts),
Resolve… (a modal), Mute / Unmute, Details,
Logs, and the link buttons (runbook, dashboard), whose clicks are only acknowledged and audited."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.gate import REFUSED
from bot.blocks import notices
from bot.blocks.rates import rates_card
from bot.blocks.resolve import resolve_modal
from bot.contracts.actions import (
    RESOLVE_REASON_BLOCK,
    RESOLVE_REASON_INPUT,
    RESOLVE_REASON_MAX,
    RESOLVE_VIEW,
    Action,
    BadButtonValue,
    parse_agent_value,
    parse_mute_value,
    parse_session_value,
)
from bot.contracts.names import AGENT_NAME
from bot.deps import Deps
from bot.slack import actions
from bot.slack.payloads import BlockAction
from bot.slack.replies import on_action, post_in_thread_or_privately
from bot.slack.summaries import summary_with_cause

logger = logging.getLogger(__name__)

NOT_OPEN = "This incident is no longer open."
ALERT_NOT_OPEN = "This alert is no longer open (its condition cleared)."
RATE_NOT_OPEN = "This rate alert is no longer open."
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,31}$")
_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")


async def acknowledge(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """The first click acknowledges (the parent says who, PagerDuty stops escalating); a later one
    changes nothing and tells its clicker, privately, who acknowledged and when."""
    ack = await deps.alerts.acknowledge(click.channel_id, click.message_ts, click.user_id)
    if ack is None:
        await respond(**notices.notice(NOT_OPEN, "Incident closed").to_response(in_channel=False))
    elif not ack.first:
        await respond(**notices.already_acknowledged(ack.by, ack.at).to_response(in_channel=False))


async def unacknowledge(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """Nobody is on it after all: the parent shows Acknowledge again."""
    parse_agent_value(click.value)
    incident = await deps.alerts.unacknowledge(click.channel_id, click.message_ts)
    if incident is None or incident.closed_at is not None:
        await respond(**notices.notice(NOT_OPEN, "Incident closed").to_response(in_channel=False))


async def acknowledge_health(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """A health or webhook alert's Acknowledge: the first click records who and when on the
    condition occurrence (every channel's post of it says so; its PagerDuty alert is acknowledged);
    a later one changes nothing and tells its clicker, privately, who did and when."""
    ack = await deps.alerts.acknowledge_condition(click.channel_id, click.message_ts, click.user_id)
    if ack is None:
        await respond(**notices.notice(ALERT_NOT_OPEN, "Alert cleared").to_response(in_channel=False))
    elif not ack.first:
        await respond(**notices.already_acknowledged(ack.by, ack.at, "alert").to_response(in_channel=False))


async def unacknowledge_health(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """Nobody is on the condition after all: its posts show Acknowledge again."""
    if not await deps.alerts.unacknowledge_condition(click.channel_id, click.message_ts):
        await respond(**notices.notice(ALERT_NOT_OPEN, "Alert cleared").to_response(in_channel=False))


async def open_resolve(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """Resolve… opens the modal that asks for the optional reason (its submission resolves)."""
    agent = parse_agent_value(click.value)
    incident = await deps.store.incident_by_parent(click.channel_id, click.message_ts)
    if incident is None or incident.closed_at is not None:
        await respond(**notices.notice(NOT_OPEN, "Incident closed").to_response(in_channel=False))
        return
    paged = await deps.store.pager_alert_for_incident(incident.id) is not None
    await client.views_open(
        trigger_id=click.trigger_id, view=resolve_modal(agent, click.channel_id, click.message_ts, paged=paged)
    )


async def unmute(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    agent = parse_agent_value(click.value)
    was_muted = await deps.alerts.unmute(click.channel_id, agent)
    await respond(**notices.unmuted(agent, was_muted).to_response(in_channel=False))


async def followed_link(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """Slack opened the link itself; the click is only acknowledged (and audited by on_action)."""


def _submission(body: dict[str, Any]) -> tuple[str, str, str, str | None] | None:
    """(user, channel, parent ts, reason) of a Resolve modal's submission; None for a view whose
    private_metadata is not one the app made."""
    view = body.get("view") or {}
    try:
        where = json.loads(view.get("private_metadata") or "")
        channel, ts = str(where["channel"]), str(where["ts"])
    except (ValueError, KeyError, TypeError):
        return None
    if not _CHANNEL.fullmatch(channel) or not _TS.fullmatch(ts):
        return None
    state = ((view.get("state") or {}).get("values") or {}).get(RESOLVE_REASON_BLOCK) or {}
    reason = str((state.get(RESOLVE_REASON_INPUT) or {}).get("value") or "").strip()[:RESOLVE_REASON_MAX]
    return str((body.get("user") or {}).get("id") or ""), channel, ts, reason or None


def register_resolve_view(app: AsyncApp, deps: Deps) -> None:
    """The modal's submission: access is checked again (the modal may have been open while the
    lists changed), then the incident is resolved after the ack closes the modal, and audited."""

    @app.view(RESOLVE_VIEW)
    async def on_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        found = _submission(body)
        if found is None:
            await ack(response_action="errors", errors={RESOLVE_REASON_BLOCK: "This form is not one I made."})
            return
        user_id, channel_id, ts, reason = found
        audit = {"user_id": user_id, "channel_id": channel_id, "action": Action.INCIDENT_RESOLVE.value, "detail": ts}
        if why := deps.gate.refusal(user_id=user_id, channel_id=channel_id, action=Action.INCIDENT_RESOLVE):
            await ack(response_action="errors", errors={RESOLVE_REASON_BLOCK: why})
            await deps.gate.record(**audit, result=REFUSED)
            return
        await ack()
        deps.after_ack.spawn(_resolve(deps, client, audit, reason))


async def _resolve(deps: Deps, client: AsyncWebClient, audit: dict[str, str], reason: str | None) -> None:
    result = "ok"
    try:
        done = await deps.alerts.resolve(audit["channel_id"], audit["detail"], audit["user_id"], reason)
        if done is None or not done[1]:
            result = "not_open"
            await client.chat_postEphemeral(channel=audit["channel_id"], user=audit["user_id"], text=NOT_OPEN)
    except Exception as error:  # broad: after the ack, a failure is logged and audited
        logger.exception("resolving the incident of %s in %s failed", audit["detail"], audit["channel_id"])
        result = type(error).__name__
    await deps.gate.record(**audit, result=result)


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


async def acknowledge_rate(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """A rate alert's Acknowledge: the first click records who and when on the episode (every
    channel's post of it says so; its PagerDuty alert is acknowledged); a later one changes nothing
    and tells its clicker, privately, who did and when."""
    ack = await deps.alerts.acknowledge_rate(click.channel_id, click.message_ts, click.user_id)
    if ack is None:
        await respond(**notices.notice(RATE_NOT_OPEN, "Rate alert resolved").to_response(in_channel=False))
    elif not ack.first:
        await respond(**notices.already_acknowledged(ack.by, ack.at, "alert").to_response(in_channel=False))


async def unacknowledge_rate(deps: Deps, click: BlockAction, respond: AsyncRespond, client: AsyncWebClient) -> None:
    """Nobody is on the rate episode after all: its posts show Acknowledge again."""
    if not await deps.alerts.unacknowledge_rate(click.channel_id, click.message_ts):
        await respond(**notices.notice(RATE_NOT_OPEN, "Rate alert resolved").to_response(in_channel=False))


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
    on_action(app, deps, Action.INCIDENT_UNACK, unacknowledge)
    on_action(app, deps, Action.INCIDENT_RESOLVE, open_resolve)
    on_action(app, deps, Action.INCIDENT_UNMUTE, unmute)
    on_action(app, deps, Action.HEALTH_ACK, acknowledge_health)
    on_action(app, deps, Action.HEALTH_UNACK, unacknowledge_health)
    for link in (Action.ALERT_RUNBOOK, Action.ALERT_DASHBOARD, Action.ALERT_DASHBOARD_SESSION):
        on_action(app, deps, link, followed_link)
    register_resolve_view(app, deps)
    on_action(app, deps, Action.RATE_ACK, acknowledge_rate)
    on_action(app, deps, Action.RATE_UNACK, unacknowledge_rate)
    on_action(app, deps, Action.RATE_DETAILS, rate_details)
