"""Incidents: routing a channel's new alerts into them, closing quiet ones, keeping parents current.

Routing runs under the channel's delivery lease, so one worker decides per channel; the decisions
themselves are the pure `decide.plan_routing`. A parent is edited in place (chat.update) whenever
its incident's version moves past the version last rendered.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import decide
from bot.alerts.messages import MessageFactory
from bot.alerts.payloads import failure_of
from bot.alerts.slack_errors import Permanent, SlackFailure, slack_call
from bot.clock import Clock
from bot.store import Store
from bot.store.records import Incident, Watch

logger = logging.getLogger(__name__)


class IncidentKeeper:
    def __init__(
        self,
        *,
        store: Store,
        slack: AsyncWebClient,
        clock: Clock,
        messages: MessageFactory,
        window: timedelta,
        owner: str,
    ) -> None:
        self._store = store
        self._slack = slack
        self._clock = clock
        self._messages = messages
        self._window = window
        self._owner = owner

    async def close_quiet(self) -> int:
        closed = await self._store.close_quiet_incidents(self._clock.now(), self._window)
        if closed:
            logger.info("closed %d quiet incident(s)", closed)
        return closed

    async def route(self, channel_id: str) -> None:
        """Assign the channel's new alerts to incidents (opening them as needed) or mute them."""
        rows = await self._store.unrouted_alerts(channel_id)
        if not rows:
            return
        now = self._clock.now()
        watches: dict[str, Watch | None] = {}
        failures: list[decide.Failure] = []
        for row in rows:
            if row.agent not in watches:
                watches[row.agent] = await self._store.watch(channel_id, row.agent)
            watch = watches[row.agent]
            if watch is None or watch.id != row.subscription_id or watch.broken_reason:
                reason = f"watch broken: {watch.broken_reason}" if watch and watch.broken_reason else "unwatched"
                await self._store.mark_dead(row, None, reason, now)
                continue
            try:
                failures.append(failure_of(row))
            except Exception:
                logger.exception("outbox row %d has an unreadable payload; marking it dead", row.id)
                await self._store.mark_dead(row, None, "unreadable payload", now)
        agents = {f.agent for f in failures}
        muted = {a for a in agents if await self._store.active_mute(channel_id, a, now) is not None}
        current: dict[str, Incident] = {}
        for incident in await self._store.open_incidents(channel_id):
            current[incident.agent] = incident  # ordered by id: the newest open one wins
        plan = decide.plan_routing(channel_id, failures, current, muted, now, self._window)
        subscription_ids = {agent: w.id if w else None for agent, w in watches.items()}
        await self._store.apply_routing(
            channel_id, self._owner, plan.changes, plan.muted_row_ids, now, subscription_ids
        )
        if plan.muted_row_ids:
            logger.info("%d alert(s) in %s recorded without posting: muted", len(plan.muted_row_ids), channel_id)

    async def render_dirty(self, channel_id: str) -> None:
        """Edit every parent of the channel whose incident changed. Raises SlackFailure to stop."""
        for incident in await self._store.dirty_incidents(channel_id):
            await self.refresh(incident)

    async def refresh(self, incident: Incident) -> None:
        """chat.update the parent to the incident's current state (idempotent)."""
        if incident.parent_ts is None:
            return  # not posted yet: the post will show the current state
        message = await self._messages.parent(incident)
        try:
            await slack_call(
                self._slack.chat_update(channel=incident.channel_id, ts=incident.parent_ts, **message.to_post_kwargs())
            )
        except Permanent as error:
            if error.channel_level:
                raise
            # The parent was deleted or cannot be edited: nothing will fix that, stop trying.
            logger.warning("cannot edit the parent of incident %d: %s", incident.id, error.reason)
        await self._store.mark_rendered(incident.id, incident.version)

    async def refresh_now(self, incident: Incident | None) -> None:
        """Best effort for a button or command: on failure the next delivery cycle retries."""
        if incident is None:
            return
        try:
            await self.refresh(incident)
        except SlackFailure as error:
            logger.warning("could not update incident %d now (%s); will retry", incident.id, error.detail)
