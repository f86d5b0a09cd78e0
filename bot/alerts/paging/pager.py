"""Escalation to PagerDuty (issue 14): incidents of paging watches become PagerDuty alerts.

Each cycle, after the Slack posts:
1. sync: for every incident that is (or was) paged, or is open on a paging watch, the pure
   `plan_page` picks the next step and the store enqueues its event (compare-and-set, so two
   replicas enqueue it once);
2. deliver: the oldest unfinished event of each alert is claimed (committed), sent, and recorded.
   A 400 is permanent: the row dies and the watch shows PagerDuty's error. 429, 5xx and connection
   errors are retried with back-off; resending is safe because PagerDuty folds events with the
   same dedup_key into one alert, and the key is stored with the alert, never re-derived.

Agent health conditions (the agent-health store's open conditions) page the same way, one
dedup_key per condition occurrence and channel, are acknowledged when someone acknowledges the
condition in Slack, and resolve when they clear.

Mute silences PagerDuty as it silences Slack: a channel that muted the agent opens no page for it
(a muted failure opens no incident; a condition occurrence that opens while muted is recorded
`muted` and never paged, not when the mute ends either). Alerts already open stay open and still
resolve.

Keys need nothing from Slack: they are made in the installation's namespace, stored in the
database once (bot/store/pager.py `pager_namespace`), so a replica that starts while Slack is
down pages all the same.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.delivery.slack_errors import SlackFailure, slack_call
from bot.alerts.health import assess as health
from bot.alerts.paging.delivery import PageDelivery
from bot.alerts.paging.plan import ACKNOWLEDGED, RESOLVED, TRIGGERED, PageStep, plan_page
from bot.alerts.paging.ports import PagingStore
from bot.alerts.payloads import alert_body, session_of
from bot.alerts.rates.watch import rate_pages
from bot.clock import Clock
from bot.contracts.keys import condition_alert_key, condition_dedup_key, incident_dedup_key
from bot.explain.secrets import mask_secrets
from bot.ops.events import PipelineEvents
from bot.pagerduty import events
from bot.pagerduty.client import PagerDutyClient
from bot.store.records import CAUSE_FOUND, Incident, Mute, OpenCondition, OutboxKind, PagerAlert

logger = logging.getLogger(__name__)

#: Health conditions that wake someone up; `warning` ones (a stuck rollout, nearing capacity) do not.
PAGED_SEVERITIES = frozenset({"critical", "error"})
#: A new installation's namespace in dedup keys: this many random bytes, in hex.
NAMESPACE_BYTES = 6


class Pager:
    def __init__(
        self,
        *,
        store: PagingStore,
        slack: AsyncWebClient,
        clock: Clock,
        client: PagerDutyClient | None,
        update_every: timedelta,
        give_up_after: timedelta,
        events: PipelineEvents,
    ) -> None:
        """`update_every`: policy.PAGE_UPDATE_EVERY; `give_up_after`: OUTBOX_GIVE_UP_HOURS (both
        passed by the service, no defaults here). `slack` only fetches permalinks."""
        self._store = store
        self._slack = slack
        self._clock = clock
        self._client = client
        self._update_every = update_every
        self._namespace_value: str | None = None
        self._delivery = PageDelivery(
            store=store, clock=clock, client=client, give_up_after=give_up_after, events=events
        )

    @property
    def enabled(self) -> bool:
        return self._client is not None

    async def run_once(self) -> None:
        if self._client is None:
            return
        for name, stage in (("sync", self.sync_once), ("delivery", self.deliver_once)):
            try:
                await stage()
            except Exception:  # broad: a stage's failure must not kill the job
                logger.exception("PagerDuty %s failed; the next cycle tries again", name)

    # -- sync: incidents → events ------------------------------------------------------------------

    async def sync_once(self) -> None:
        if self._client is None:
            return
        paging = {(channel, agent): sid for sid, channel, agent in await self._store.paging_watches()}
        mutes = await self._store.active_mutes(self._clock.now())
        done: set[int] = set()
        for alert in await self._store.unresolved_pager_alerts():
            if alert.incident_id is None:
                continue  # a health condition: _sync_conditions moves it
            done.add(alert.incident_id)
            incident = await self._store.incident(alert.incident_id)
            if incident is not None:
                where = (alert.channel_id, alert.agent)
                await self._step(incident, alert, paging=where in paging, muted=where in mutes)
        for channel in sorted({channel for channel, _ in paging}):
            for incident in await self._store.open_incidents(channel):
                sid = paging.get((channel, incident.agent))
                if sid is None or incident.id in done:
                    continue
                existing = await self._store.pager_alert_for_incident(incident.id)
                muted = (channel, incident.agent) in mutes
                await self._step(incident, existing, paging=True, muted=muted, subscription_id=sid)
        await self._sync_conditions(paging, mutes)

    async def _step(
        self,
        incident: Incident,
        alert: PagerAlert | None,
        *,
        paging: bool,
        muted: bool,
        subscription_id: int | None = None,
    ) -> None:
        now = self._clock.now()
        step = plan_page(incident, alert, paging=paging, muted=muted, now=now, update_every=self._update_every)
        if step is None or self._client is None:
            return
        if alert is None:
            key = incident_dedup_key(await self._namespace(), incident.channel_id, incident.id)
            opened = await self._store.open_pager_alert(
                dedup_key=key,
                subscription_id=subscription_id,
                channel_id=incident.channel_id,
                agent=incident.agent,
                incident_id=incident.id,
                condition=None,
                sent_count=step.sent_count,
                event=await self._trigger(key, incident),
                routing_key=self._client.routing_key,
                now=now,
            )
            if opened is not None:
                logger.info("paging PagerDuty for incident %d of %s (%s)", incident.id, incident.agent, key)
            return
        event = await self._trigger(alert.dedup_key, incident) if step.action == events.TRIGGER else None
        await self._advance(alert, step, event)

    async def _advance(self, alert: PagerAlert, step: PageStep, event: dict[str, object] | None) -> None:
        body = event if event is not None else events.follow_up(step.action, alert.dedup_key)
        if await self._store.advance_pager_alert(
            alert, action=step.action, state=step.state, sent_count=step.sent_count, event=body, now=self._clock.now()
        ):
            logger.info("PagerDuty %s queued for %s", step.action, alert.dedup_key)

    async def _trigger(self, key: str, incident: Incident) -> dict[str, object]:
        facts = events.IncidentFacts(
            agent=incident.agent,
            session_count=incident.session_count,
            statuses=incident.statuses,
            first_failure_at=incident.first_failure_at,
            last_failure_at=incident.last_failure_at,
            latest_session_id=incident.latest_session_id,
            deployment_id=await self._deployment(incident),
            top_cause=await self._top_cause(incident),
            permalink=await self._permalink(incident.channel_id, incident.parent_ts),
            channel_id=incident.channel_id,
        )
        return events.incident_trigger(key, facts, self._clock.now())

    async def _top_cause(self, incident: Incident) -> str | None:
        """The label of the incident's most frequent cause (what the triage card lists first)."""
        failures = await self._store.incident_failures(incident.id, incident.agent)
        counts = Counter(f.label for f in failures if f.state == CAUSE_FOUND and f.fingerprint and f.label)
        return counts.most_common(1)[0][0] if counts else None

    async def _deployment(self, incident: Incident) -> str | None:
        rows = await self._store.outbox_rows(incident.channel_id, OutboxKind.ALERT, incident_id=incident.id)
        for row in reversed(rows):
            if row.session_id == incident.latest_session_id:
                try:
                    deployment: str | None = session_of(alert_body(row)).deployment_id
                    return deployment
                except ValueError:  # an unreadable payload (pydantic's ValidationError is a ValueError)
                    logger.exception("outbox row %d has an unreadable session", row.id)
        return None

    async def _permalink(self, channel_id: str, ts: str | None) -> str | None:
        if ts is None:
            return None  # the parent is not posted yet: a later update carries the link
        try:
            response = await slack_call(self._slack.chat_getPermalink(channel=channel_id, message_ts=ts))
        except SlackFailure as error:
            logger.warning("no permalink for %s/%s (%s): paging without the link", channel_id, ts, error.detail)
            return None
        link = response.get("permalink")
        return str(link) if link else None

    async def _namespace(self) -> str:
        """The installation's namespace in dedup keys, from the database (learned once: the one
        existing keys were made with, for an installation that paged before it was stored; else a
        new random one). Nothing here asks Slack."""
        if self._namespace_value is None:
            existing = events.key_namespace(await self._store.latest_pager_key())
            candidate = existing or secrets.token_hex(NAMESPACE_BYTES)
            self._namespace_value = await self._store.pager_namespace(candidate, self._clock.now())
        return self._namespace_value

    # -- health conditions: open ones page, cleared ones resolve ----------------------------------

    async def _sync_conditions(self, paging: dict[tuple[str, str], int], mutes: dict[tuple[str, str], Mute]) -> None:
        """Mirror the agent-health store's open conditions (bot.alerts.health.watcher) on every
        paging watch of their agent: one alert per condition occurrence and channel, resolved when
        the condition clears or the watch stops paging. Warnings stay in Slack: only `error` and
        `critical` conditions page. An occurrence first seen while its channel mutes the agent is
        recorded `muted` instead, and never paged."""
        if self._client is None:
            return
        namespace = await self._namespace()
        wanted: dict[str, tuple[int, str, OpenCondition, health.Finding]] = {}
        for agent in sorted({agent for _, agent in paging}):
            for condition in await self._store.open_conditions(agent):
                finding = health.Finding.from_json(condition.finding)
                if finding.quiet or finding.severity not in PAGED_SEVERITIES:
                    continue
                occurrence = condition_dedup_key(agent, condition.key, condition.opened_at)
                for (channel, watched), sid in paging.items():
                    if watched == agent:
                        key = condition_alert_key(namespace, channel, occurrence)
                        wanted[key] = (sid, channel, condition, finding)
        rates = await rate_pages(self._store, paging, namespace, self._clock.now())
        for alert in await self._store.unresolved_pager_alerts():
            if alert.incident_id is None and alert.dedup_key not in wanted and alert.dedup_key not in rates:
                await self._advance(alert, PageStep(events.RESOLVE, RESOLVED, alert.sent_count), None)
        for key, (sid, channel, condition, finding) in wanted.items():
            existing = await self._store.pager_alert(key)
            if existing is not None and not _came_back(condition, existing):
                if existing.state == TRIGGERED and condition.ack_at is not None:
                    # Someone clicked Acknowledge on the condition's alert in Slack.
                    await self._advance(existing, PageStep(events.ACKNOWLEDGE, ACKNOWLEDGED, existing.sent_count), None)
                continue  # already paged (or muted, or resolved and not reopened since)
            now = self._clock.now()
            if (channel, condition.agent) in mutes:
                if await self._store.record_muted_pager_alert(
                    dedup_key=key,
                    subscription_id=sid,
                    channel_id=channel,
                    agent=condition.agent,
                    condition=finding.kind,
                    now=now,
                ):
                    logger.info("%s of %s not paged: %s mutes the agent", finding.kind, condition.agent, channel)
                continue
            facts = events.ConditionFacts(
                agent=condition.agent,
                condition=finding.kind,
                description=finding.title,
                since=condition.opened_at,
                severity=finding.severity,
                deployment_id=finding.deployment_id,
                facts=finding.facts,
                message=mask_secrets(finding.message) if finding.message else None,
            )
            if existing is not None:
                # The condition came back after clearing (bot/alerts/health/states.py): the same
                # dedup key is triggered again rather than a new alert opened.
                step = PageStep(events.TRIGGER, TRIGGERED, existing.sent_count)
                await self._advance(existing, step, events.condition_trigger(key, facts, now))
                continue
            opened = await self._store.open_pager_alert(
                dedup_key=key,
                subscription_id=sid,
                channel_id=channel,
                agent=condition.agent,
                incident_id=None,
                condition=finding.kind,
                sent_count=0,
                event=events.condition_trigger(key, facts, now),
                routing_key=self._client.routing_key,
                now=now,
            )
            if opened is not None:
                logger.info("paging PagerDuty for %s of %s (%s)", finding.kind, condition.agent, key)

        for key, page in rates.items():
            existing = await self._store.pager_alert(key)
            if existing is not None:
                # One alert per episode and channel: triggered once, acknowledged when someone
                # acknowledges the rate alert in Slack, resolved when it clears.
                if page.acknowledged and existing.state == TRIGGERED:
                    await self._advance(existing, PageStep(events.ACKNOWLEDGE, ACKNOWLEDGED, existing.sent_count), None)
                continue
            opened = await self._store.open_pager_alert(
                dedup_key=key,
                subscription_id=page.subscription_id,
                channel_id=page.channel_id,
                agent=page.facts.agent,
                incident_id=None,
                condition=page.facts.condition,
                sent_count=0,
                event=events.condition_trigger(key, page.facts, self._clock.now()),
                routing_key=self._client.routing_key,
                now=self._clock.now(),
            )
            if opened is not None:
                logger.info("paging PagerDuty for the %s of %s (%s)", page.facts.condition, page.facts.agent, key)

    async def deliver_once(self) -> None:
        await self._delivery.deliver_once()


def _came_back(condition: OpenCondition, alert: PagerAlert) -> bool:
    """A resolved condition alert whose occurrence reopened after the alert's last trigger."""
    return (
        alert.state == RESOLVED
        and condition.reopened_at is not None
        and (alert.last_trigger_at is None or condition.reopened_at > alert.last_trigger_at)
    )


__all__ = ["Pager"]
