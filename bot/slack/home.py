"""The App Home tab: `app_home_opened` → `views.publish`; "More" pages through the watches."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.policy import refusal
from bot.blocks.home import (
    ACTION_HOME_MORE,
    RECENT_ALERTS,
    AgentHealth,
    AgentPoll,
    AlertLine,
    HomeData,
    HomeWatch,
    IncidentLine,
    home_view,
    refused_home_view,
)
from bot.deps import Deps
from bot.store import Store
from bot.store.records import Incident, OutboxRow

logger = logging.getLogger(__name__)

#: Slack resends an event it got no 2xx for within 3 s, with this header (design.md §3).
RETRY_HEADER = "x-slack-retry-num"


async def home_data(deps: Deps) -> HomeData:
    store = deps.alerts.store
    now = deps.clock.now()
    return HomeData(
        watches=[HomeWatch(**vars(w)) for w in await store.home_watches(now)],
        incidents=[_incident(i) for i in await store.all_open_incidents()],
        alerts=[_alert(r) for r in await store.recent_alerts(RECENT_ALERTS)],
        polls=[AgentPoll(**vars(p)) for p in await store.agent_polls()],
        health=await _health(store),
        poll_interval=deps.settings.poll_interval_seconds,
    )


async def _health(store: Store) -> list[AgentHealth]:
    """Each agent's open health conditions (Revision … is crash-looping, at capacity, …)."""
    titles: dict[str, list[str]] = {}
    for condition in await store.open_conditions():
        titles.setdefault(condition.agent, []).append(str(condition.finding.get("title") or condition.key))
    return [AgentHealth(agent, "; ".join(found), healthy=False) for agent, found in sorted(titles.items())]


def _incident(i: Incident) -> IncidentLine:
    return IncidentLine(i.agent, i.channel_id, i.parent_ts, i.session_count, i.first_failure_at, i.ack_by, i.ack_at)


def _alert(row: OutboxRow) -> AlertLine:
    session = row.payload.get("session") or {}
    status = str(session.get("completionStatus") or session.get("endState") or "failed")
    return AlertLine(row.agent, row.channel_id, row.session_id, status, row.created_at, row.posted_ts)


def home_refusal(deps: Deps, user_id: str) -> str | None:
    """The Home tab is in no channel: only the user allowlist applies to it."""
    lists = dataclasses.replace(deps.settings.access, channels=frozenset())
    return refusal(lists, user_id=user_id, channel_id="", action=ACTION_HOME_MORE)


async def publish(deps: Deps, client: AsyncWebClient, user_id: str, offset: int = 0) -> None:
    if (why := home_refusal(deps, user_id)) is not None:
        await client.views_publish(user_id=user_id, view=refused_home_view(why))
        return
    view = home_view(await home_data(deps), now=deps.clock.now(), offset=offset)
    await client.views_publish(user_id=user_id, view=view)


def is_retry(request: AsyncBoltRequest) -> bool:
    return bool(request.headers.get(RETRY_HEADER))


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient) -> None:
        # A retry means Slack missed our first answer, not that the first publish did not happen:
        # publishing again would only repeat the work (views.publish is the whole view, idempotent).
        if is_retry(request):
            logger.info("ignoring a retried app_home_opened (retry %s)", request.headers.get(RETRY_HEADER))
            return
        if event.get("tab", "home") != "home":
            return
        deps.after_ack.spawn(publish(deps, client, str(event.get("user", ""))))

    @app.action(ACTION_HOME_MORE)
    async def more(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        value = str(((body.get("actions") or [{}])[0]).get("value") or "0")
        offset = int(value) if value.isdigit() else 0
        deps.after_ack.spawn(more_page(client, str((body.get("user") or {}).get("id", "")), offset, value))

    async def more_page(client: AsyncWebClient, user_id: str, offset: int, value: str) -> None:
        result = "ok"
        try:
            await publish(deps, client, user_id, offset)
        except Exception:
            result = "publish_failed"
            logger.exception("could not publish page %d of the Home tab", offset)
        # Audited (and so counted) like every button; the Home tab is in no channel.
        await deps.gate.record(
            user_id=user_id, channel_id="", action=ACTION_HOME_MORE, detail=value[:40], result=result
        )
