"""Turns outbox rows and incidents into Block Kit messages (the builders live in bot/blocks)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from bot.alerts.delivery.ports import MessageStore
from bot.alerts.payloads import session_of
from bot.alerts.rates.watch import failure_now
from bot.blocks.alert_notices import (
    UndeliveredLine,
    bad_item_notice,
    outage_notice,
    poll_failed_notice,
    recovery_notice,
    undelivered_summary,
)
from bot.blocks.alerts import Background, IncidentView, RolledSession, incident_parent, rollup_reply, session_reply
from bot.blocks.digest import digest_message
from bot.blocks.health import AlertExtras, health_alert, health_back, health_recovery, health_resolved
from bot.blocks.message import Message
from bot.blocks.rates import rate_alert, rate_cleared_reply
from bot.blocks.triage import ReplyCause, with_change_events
from bot.clock import Clock
from bot.contracts.keys import legacy_parent_key
from bot.contracts.notices import NoticeKind
from bot.explain.changes import changes_before
from bot.explain.hints import hint_for
from bot.explain.views import incident_triage, reply_cause
from bot.rates.policy import RateRules
from bot.store.payloads import (
    AlertPayload,
    DigestPayload,
    HealthClearPayload,
    HealthPayload,
    NoticePayload,
    PagePayload,
    ParentPayload,
    RateClearPayload,
    RatePayload,
    RollupPayload,
    SummaryPayload,
)
from bot.store.records import CAUSE_FOUND, Incident, OutboxRow
from bot.webhooks.decide import is_webhook_condition

logger = logging.getLogger(__name__)

#: The agent-health slot of a parent: plain text about the agent's status, or None (filled by the
#: agent-status reader; escaped by the builder).
HealthSource = Callable[[str], Awaitable[str | None]]


async def no_health(agent: str) -> str | None:
    return None


class MessageFactory:
    def __init__(
        self, store: MessageStore, clock: Clock, health: HealthSource, dashboard: str | None, rules: RateRules
    ) -> None:
        """`dashboard`: PIPECAT_DASHBOARD_URL (validated by the settings), or None: no links.
        `rules`: the rate detectors' (a parent's failure rate is the failure-rate detector's reading)."""
        self._store = store
        self._clock = clock
        self._health = health
        self._dashboard = dashboard
        self._rules = rules

    async def for_row(self, row: OutboxRow) -> tuple[Message, int | None]:
        """The message to post for `row`, and (for a parent) the incident version it shows.
        Raises for a row that cannot be rendered (an unreadable payload, a missing incident)."""
        body = row.body()
        match body:
            case AlertPayload():
                session = session_of(body)
                cause = await self._reply_cause(row, session.session_id.lower())
                peak = body.peak_memory_bytes
                message = session_reply(
                    row.agent, session, row.dedup_key, peak_memory=peak, cause=cause, dashboard=self._dashboard
                )
                return message, None
            case RollupPayload():
                rolled = [RolledSession(s.session_id, s.status, s.failed_at) for s in body.sessions]
                background = None
                if body.periodic:
                    causes = [(c.label, c.count) for c in body.causes]
                    background = Background(rate=body.rate, causes=causes, causes_read=body.causes_read)
                return rollup_reply(row.agent, rolled, row.dedup_key, background=background), None
            case NoticePayload():
                return _notice(row, body), None
            case SummaryPayload():
                return _summary(row, body), None
            case HealthPayload():
                message = health_post(row, body, await self._extras(row))
                if not is_webhook_condition(str(body.finding.get("key", ""))):
                    # What changed in the hour before the condition opened (the webhook timeline).
                    message = with_change_events(message, await changes_before(self._store, row.agent, body.opened_at))
                return message, None
            case HealthClearPayload():
                return health_reply(row, body), None
            case RatePayload():
                # Open, it shows the channel's mute of the agent (Unmute); muting re-renders it.
                mute = None
                if body.cleared_at is None:
                    mute = await self._store.active_mute(row.channel_id, row.agent, self._clock.now())
                message = rate_alert(
                    row.agent,
                    body.episode,
                    body.opened_at,
                    row.dedup_key,
                    deployments=body.deployments,
                    causes=body.causes,
                    cleared_at=body.cleared_at,
                    cost=body.cost,
                    acknowledged_by=body.acknowledged_by,
                    acknowledged_at=body.acknowledged_at,
                    muted_until=mute.until if mute else None,
                )
                # What changed in the hour before the rate moved (the webhook timeline), as on
                # incidents and health alerts.
                return with_change_events(message, await changes_before(self._store, row.agent, body.opened_at)), None
            case RateClearPayload():
                message = rate_cleared_reply(
                    row.agent, body.episode, body.opened_at, body.cleared_at, body.cost, row.dedup_key
                )
                return message, None
            case DigestPayload():
                return digest_message(row.payload, row.dedup_key), None
            case PagePayload():
                raise ValueError(f"outbox row {row.id} is a PagerDuty event, not a Slack message")
            case ParentPayload():
                incident = await self._store.incident(row.incident_id) if row.incident_id is not None else None
                if incident is None:
                    raise ValueError(f"outbox row {row.id}: its incident is gone")
                return await self.parent(incident), incident.version

    async def _reply_cause(self, row: OutboxRow, sid: str) -> ReplyCause | None:
        """The reply's own cause, with its hint; "same cause as above" when the thread's previous
        reply had a cause of the same fingerprint (a thread that reads, not N copies of a quote)."""
        found = (await self._store.session_causes(row.agent, [sid])).get(sid)
        cause = reply_cause(found)
        if cause is None or found is None or not cause.quote:
            return cause
        hint = hint_for("\n".join(found.quote))
        cause = replace(cause, hint=hint.text if hint else None)
        if found.fingerprint and row.incident_id is not None:
            previous = await self._store.previous_reply_session(row.incident_id, row.id)
            if previous is not None:
                before = (await self._store.session_causes(row.agent, [previous])).get(previous)
                if before is not None and before.state == CAUSE_FOUND and before.fingerprint == found.fingerprint:
                    cause = replace(cause, same_as_above=True)
        return cause

    async def _extras(self, row: OutboxRow) -> AlertExtras:
        """A health alert's state and links: its watch's runbook, the channel's mute."""
        watch = await self._store.watch(row.channel_id, row.agent)
        mute = await self._store.active_mute(row.channel_id, row.agent, self._clock.now())
        return AlertExtras(
            runbook=watch.runbook if watch else None,
            dashboard=self._dashboard,
            muted_until=mute.until if mute else None,
        )

    async def parent(self, incident: Incident) -> Message:
        """The parent as it should look now: how bad, its state, the channel's mute and group
        mention, and what to do next."""
        now = self._clock.now()
        watch = await self._store.watch(incident.channel_id, incident.agent)
        mute = await self._store.active_mute(incident.channel_id, incident.agent, now)
        causes, change = await incident_triage(self._store, incident, now)
        # The share: the failures against every ended session the polls saw over the incident.
        calls = await self._store.sessions_seen(incident.agent, incident.first_failure_at, incident.closed_at or now)
        top = causes.lines[0].label if causes and causes.lines else None
        hint = hint_for(top) if top else None
        view = IncidentView(
            agent=incident.agent,
            session_count=incident.session_count,
            first_failure_at=incident.first_failure_at,
            last_failure_at=incident.last_failure_at,
            statuses=incident.statuses,
            latest_session_id=incident.latest_session_id,
            group=watch.group if watch else None,
            acknowledged_by=incident.ack_by,
            acknowledged_at=incident.ack_at,
            muted_until=mute.until if mute else None,
            closed=incident.closed_at is not None,
            causes=causes,
            change=change,
            health=await self._health(incident.agent),
            closed_at=incident.closed_at,
            resolved_by=incident.resolved_by,
            resolve_reason=incident.resolve_reason,
            now=now,
            calls=calls,
            runbook=watch.runbook if watch else None,
            dashboard=self._dashboard,
            hint=hint.text if hint else None,
            rate=await self._rate(incident, now),
        )
        return incident_parent(view, incident.parent_key or legacy_parent_key(incident.id))

    async def _rate(self, incident: Incident, now: datetime) -> str | None:
        """An open incident's agent's failure rate now against its usual (the rate counts); None
        once it closed (a "last 5 min" would go stale on it), for an agent without a usable rate,
        or when it cannot be read (the parent goes out without it)."""
        if incident.closed_at is not None:
            return None
        try:
            return await failure_now(self._store, incident.agent, now, self._rules)
        except Exception:  # broad: the rate is extra, the parent must still be rendered
            logger.exception("reading the failure rate of %s failed; its parent goes without it", incident.agent)
            return None


def _notice(row: OutboxRow, body: NoticePayload) -> Message:
    if body.type == NoticeKind.BAD_ITEM:
        return bad_item_notice(row.agent, body.session_id or "", body.polls, body.problem, row.dedup_key)
    since = body.since or row.created_at
    if body.type == NoticeKind.POLL_FAILED:
        return poll_failed_notice(row.agent, since, body.polls, body.problem, row.dedup_key)
    if body.type == NoticeKind.RECOVERY:
        return recovery_notice(row.agent, since, body.until or since, row.dedup_key, data=body.data)
    return outage_notice(row.agent, since, body.problem, row.dedup_key)


def _summary(row: OutboxRow, body: SummaryPayload) -> Message:
    lines = [UndeliveredLine(i.agent, i.what, i.session_id, i.created_at, i.reason, i.detail) for i in body.items]
    return undelivered_summary(lines, body.since, body.until, row.dedup_key)


# -- agent health: the opening post shows its occurrence as it is now (open, resolved with its
# evidence, open again after it came back); the store re-renders it when that changes, muted or not:
# an edit notifies nobody, and a channel must not go on being told an agent refuses calls after it
# recovered. The reply under it says the condition cleared or came back.


def health_post(row: OutboxRow, body: HealthPayload, extras: AlertExtras) -> Message:
    """The opening post of a health condition as it is now; `extras`: its watch's runbook, the
    dashboard, the mute."""
    if body.cleared_at is not None:
        return health_resolved(row.agent, body.finding, body.opened_at, body.cleared_at, row.dedup_key, extras=extras)
    return health_alert(
        row.agent,
        body.finding,
        body.severity,
        body.opened_at,
        row.dedup_key,
        returned_at=body.returned_at,
        returns=body.returns,
        acknowledged_by=body.ack_by,
        acknowledged_at=body.ack_at,
        extras=extras,
    )


def health_reply(row: OutboxRow, body: HealthClearPayload) -> Message:
    """The reply under it: the condition cleared, or (`back`) came back."""
    if body.back:
        return health_back(row.agent, body.finding, body.opened_at, body.cleared_at, row.dedup_key)
    return health_recovery(row.agent, body.finding, body.opened_at, body.cleared_at, body.now, row.dedup_key)
