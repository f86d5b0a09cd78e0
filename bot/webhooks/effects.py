"""Running a stored webhook event's effects (bot.webhooks.decide says which), after the answer.

The endpoint answers once the event is stored, then hands the stored row here. Each effect is
idempotent (alerts are rows keyed by the event and the channel, a deployment's date is a value, a
status read is a read), so running an event twice (the sweep after a crash, two replicas) changes
nothing more; `processed_at` is set last. Every replica sweeps for events still unprocessed a
little after they arrived, and prunes events past WEBHOOK_RETENTION.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.alerts import policy
from bot.alerts.health.posts import cleared_changes
from bot.clock import Clock
from bot.explain.changes import TIMELINE_WINDOW
from bot.webhooks import decide as d
from bot.webhooks.events import StoredEvent
from bot.webhooks.ports import EffectsStore
from bot.webhooks.posts import channel_scopes, clearing_posts, label, opening_posts
from bot.webhooks.timeline import ORG_WIDE, family, timeline

if TYPE_CHECKING:
    from bot.alerts.health.watcher import AgentStatusWatcher

logger = logging.getLogger(__name__)


class WebhookEffects:
    def __init__(
        self, *, store: EffectsStore, health: AgentStatusWatcher, wake_delivery: Callable[[], None], clock: Clock
    ) -> None:
        """`health`: reads a redeployed agent's status now; `wake_delivery`: posts what an event
        enqueued now, not at the delivery job's next tick."""
        self._store = store
        self._health = health
        self._wake = wake_delivery
        self._clock = clock
        self._pruned_at: datetime | None = None

    async def run(self, event: StoredEvent) -> None:
        """The effects of one newly stored event (called right after the answer, with the row the
        store returned: no read back). Never raises: an event whose effects failed stays
        unprocessed and the sweep runs it again."""
        try:
            await self.apply(event)
        except Exception:  # broad: never raises; the sweep runs the event again
            logger.exception("webhook event %d: its effects failed; the sweep runs them again", event.id)

    async def apply(self, event: StoredEvent) -> None:
        """Run the event's effects, then mark it processed. Raises when an effect could not run."""
        effects = d.decide(event)
        for effect in effects:
            match effect:
                case d.OpenAlert():
                    await self._open(event, effect)
                case d.Warn():
                    await self._warn(event, effect)
                case d.ResolveAlert():
                    await self._resolve(event, effect)
                case d.DateDeployment():
                    await self._store.set_deployment_live(effect.agent, effect.deployment_id, effect.at)
                case d.ReadStatus():
                    await self._read_status(effect.agent)
        await self._late_change(event)
        await self._store.mark_webhook_processed(event.id, self._clock.now())
        if effects:
            logger.info("webhook %s (%s): %d effect(s) applied", event.event_type, event.webhook_id, len(effects))

    async def sweep(self) -> None:
        """The scheduler's job: events whose effects did not run (a crash after the answer), then
        pruning. Never raises."""
        now = self._clock.now()
        try:
            pending = await self._store.pending_webhook_events(
                now - policy.WEBHOOK_SWEEP_GRACE, policy.WEBHOOK_SWEEP_BATCH
            )
        except Exception:  # broad: a sweep must not kill the job
            logger.exception("webhook sweep: could not read pending events; the next sweep tries again")
            return
        for event in pending:
            try:
                await self.apply(event)
            except Exception:  # broad: one event's failure must not stop the others
                logger.exception("webhook event %d (%s) failed; the next sweep retries", event.id, event.event_type)
        if self._pruned_at is None or now - self._pruned_at >= policy.PRUNE_EVERY:
            self._pruned_at = now
            try:
                pruned = await self._store.prune_webhook_events(now - policy.WEBHOOK_RETENTION)
            except Exception:  # broad: pruning is housekeeping; the next sweep tries again
                logger.exception("webhook sweep: pruning failed; the next sweep tries again")
            else:
                if pruned:
                    logger.info("forgot %d webhook event(s) older than %s", pruned, policy.WEBHOOK_RETENTION)

    # -- effects -----------------------------------------------------------------------------------

    async def _late_change(self, event: StoredEvent) -> None:
        """A change delivered after an incident's parent was posted still belongs in its "What
        changed" when the incident began within the hour after it: re-render those parents."""
        entries = timeline([event])
        if not entries or (entries[0].agent is None and family(event.event_type) not in ORG_WIDE):
            return  # no change, or a build (whose agent only its deployment tells)
        until = event.created_at + TIMELINE_WINDOW
        if await self._store.rerender_incidents_begun(event.created_at, until, entries[0].agent):
            self._wake()

    async def _open(self, event: StoredEvent, effect: d.OpenAlert) -> None:
        now = self._clock.now()
        watches = await self._store.all_watches()
        agents = [effect.agent] if effect.agent else sorted(watches)
        agents = [a for a in agents if a in watches]
        if not agents:
            return  # nobody watches what it stops: the timeline has it
        mutes = await self._store.active_mutes(now)
        finding = {**d.finding_json(effect.alert, event.webhook_id), "label": label(event.org)}
        posts = opening_posts(
            finding,
            effect.alert.severity,
            event.created_at,
            channel_scopes(watches, agents, mutes),
            event.webhook_id,
            agent=effect.agent,
            org_label=label(event.org),
        )
        opened = await self._store.open_webhook_alert(
            key=effect.alert.key, finding=finding, agents=agents, opened_at=event.created_at, posts=posts, now=now
        )
        if opened:
            logger.info("%s opened on %s", effect.alert.title, ", ".join(opened))
            self._wake()

    async def _warn(self, event: StoredEvent, effect: d.Warn) -> None:
        now = self._clock.now()
        watches = await self._store.all_watches()
        mutes = await self._store.active_mutes(now)
        finding = d.finding_json(effect.alert, event.webhook_id)
        posts = opening_posts(
            finding,
            effect.alert.severity,
            event.created_at,
            channel_scopes(watches, sorted(watches), mutes),
            event.webhook_id,
            agent=None,
            org_label=label(event.org),
        )
        if await self._store.enqueue([p.post for p in posts], now):
            self._wake()

    async def _resolve(self, event: StoredEvent, effect: d.ResolveAlert) -> None:
        now = self._clock.now()
        key = d.condition_key(effect.kind)
        opened = [c for c in await self._store.open_alerts(key) if effect.agent in (None, c.agent)]
        if not opened:
            return
        watches = await self._store.all_watches()
        mutes = await self._store.active_mutes(now)
        scopes = channel_scopes(watches, [c.agent for c in opened], mutes)
        posts = clearing_posts(opened, event.created_at, effect.note, scopes, event.webhook_id, agent=effect.agent)
        cleared = await self._store.clear_webhook_alert(
            key=key, opened=opened, posts=posts, opener_changes=cleared_changes(event.created_at), now=now
        )
        if cleared:
            logger.info("%s resolved on %s", effect.kind, ", ".join(cleared))
            self._wake()

    async def _read_status(self, agent: str) -> None:
        """A deployment changed the agent: read its status now instead of at the next interval
        (only if it is watched and status reads are on; polling stays the backstop)."""
        health = self._health
        if not health.enabled:
            return
        watches = await self._store.all_watches()
        if agent not in watches:
            return
        now = self._clock.now()
        await self._store.make_status_read_due(agent, now)
        await health.read_agent(agent, watches[agent], await self._store.active_mutes(now))
        self._wake()
