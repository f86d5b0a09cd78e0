"""The App Home tab: `app_home_opened` → `views.publish`; "More" pages through the watches."""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.policy import refusal
from bot.alerts.rates.view import slo_lines
from bot.blocks.home import (
    ACTION_HOME_MORE,
    RECENT_ALERTS,
    AgentHealth,
    AlertLine,
    HomeData,
    IncidentLine,
    home_view,
    refused_home_view,
)
from bot.deps import Deps, SurfaceStore
from bot.store.records import Incident, OutboxRow

logger = logging.getLogger(__name__)

#: Slack resends an event it got no 2xx for within 3 s, with this header (Events API retries).
RETRY_HEADER = "x-slack-retry-num"
#: With ALLOWED_CHANNELS set, a viewer's channels are read with `users.conversations`: pages of
#: Slack's largest size, at most this many of them per Home publish.
MEMBERSHIP_PAGE_SIZE = 1000
MEMBERSHIP_PAGES = 5
MEMBERSHIP_TYPES = "public_channel,private_channel"
NOT_IN_ALLOWED_CHANNELS = (
    "You are in none of the channels pipecat-ops is enabled in (ALLOWED_CHANNELS): the Home tab shows "
    "only what those channels' members see."
)


async def home_data(deps: Deps) -> HomeData:
    store = deps.store
    now = deps.clock.now()
    polls = await store.agent_polls()
    return HomeData(
        watches=await store.home_watches(now),
        incidents=[_incident(i) for i in await store.all_open_incidents()],
        alerts=[_alert(r) for r in await store.recent_alerts(RECENT_ALERTS)],
        polls=polls,
        health=await _health(store),
        poll_interval=deps.settings.poll_interval_seconds,
        slo=await slo_lines(store, [p.agent for p in polls], now),
    )


async def _health(store: SurfaceStore) -> list[AgentHealth]:
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
    """The Home tab is in no channel: the user allowlist applies to it as it is; the channel
    allowlist decides what it shows (`visible_only`)."""
    lists = dataclasses.replace(deps.settings.access, channels=frozenset())
    return refusal(lists, user_id=user_id, channel_id="", action=ACTION_HOME_MORE)


def visible_only(data: HomeData, channels: frozenset[str]) -> HomeData:
    """What a viewer who may see only `channels` sees: those channels' watches, incidents and
    alerts, and the agents watched there (their polls and health). Pure."""
    watches = [w for w in data.watches if w.channel_id in channels]
    agents = {w.agent for w in watches}
    return dataclasses.replace(
        data,
        watches=watches,
        incidents=[i for i in data.incidents if i.channel_id in channels],
        alerts=[a for a in data.alerts if a.channel_id in channels],
        polls=[p for p in data.polls if p.agent in agents],
        health=[h for h in data.health if h.agent in agents],
        slo={agent: line for agent, line in data.slo.items() if agent in agents},
    )


async def member_channels(client: AsyncWebClient, user_id: str, wanted: frozenset[str]) -> frozenset[str]:
    """Which of `wanted` the user is a member of (`users.conversations`, bounded: at most
    MEMBERSHIP_PAGES pages; a channel not found by then is not shown). Raises SlackApiError."""
    found: set[str] = set()
    cursor: str | None = None
    for _ in range(MEMBERSHIP_PAGES):
        answer = await client.users_conversations(
            user=user_id, types=MEMBERSHIP_TYPES, limit=MEMBERSHIP_PAGE_SIZE, cursor=cursor
        )
        found |= {str(c.get("id")) for c in answer.get("channels") or [] if isinstance(c, dict)} & wanted
        cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
        if found == wanted or cursor is None:
            break
    return frozenset(found)


def membership_unknown(error: SlackApiError) -> str:
    code = re.sub(r"[^a-z_]", "", str(error.response.get("error") or "error"))[:60]
    hint = " An admin should reinstall the app with the manifest's scopes." if code == "missing_scope" else ""
    return (
        f"pipecat-ops could not check which of its channels you are in (Slack said `{code}`), so the "
        f"Home tab shows nothing for now.{hint}"
    )


async def publish(deps: Deps, client: AsyncWebClient, user_id: str, offset: int = 0) -> None:
    if (why := home_refusal(deps, user_id)) is not None:
        await client.views_publish(user_id=user_id, view=refused_home_view(why))
        return
    data = await home_data(deps)
    allowed = deps.settings.access.channels
    if allowed:
        # The app works only in these channels, and only their members see what it posts there:
        # the Home tab shows a viewer no more than that.
        try:
            mine = await member_channels(client, user_id, allowed)
        except SlackApiError as error:
            logger.warning("Home tab of %s: cannot read their channels (%s)", user_id, error.response.get("error"))
            await client.views_publish(user_id=user_id, view=refused_home_view(membership_unknown(error)))
            return
        if not mine:
            await client.views_publish(user_id=user_id, view=refused_home_view(NOT_IN_ALLOWED_CHANNELS))
            return
        data = visible_only(data, mine)
    view = home_view(data, now=deps.clock.now(), offset=offset)
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
        except Exception:  # broad: a failed publish is logged and audited, never raised after the ack
            result = "publish_failed"
            logger.exception("could not publish page %d of the Home tab", offset)
        # Audited (and so counted) like every button; the Home tab is in no channel.
        await deps.gate.record(
            user_id=user_id, channel_id="", action=ACTION_HOME_MORE, detail=value[:40], result=result
        )
