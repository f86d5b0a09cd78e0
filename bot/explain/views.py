"""From the cause cache and deployment records to the views an alert shows (bot/blocks/triage)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from bot.blocks.triage import (
    NO_ERROR,
    NOT_READ,
    READING,
    UNREADABLE,
    CauseLine,
    CausesView,
    Change,
    ChangeEvent,
    IncidentLink,
    ReplyCause,
)
from bot.explain.changes import changes_before
from bot.explain.deploys import explain_change
from bot.explain.explainer import MAX_CAUSE_ATTEMPTS
from bot.explain.ports import TriageStore
from bot.store.records import (
    CAUSE_FOUND,
    CAUSE_NONE,
    CAUSE_PENDING,
    CAUSE_SKIPPED,
    CauseStat,
    Incident,
    IncidentRef,
    SessionCause,
)


def reply_cause(cause: SessionCause | None) -> ReplyCause | None:
    """What a thread reply says about its own session (never another session's cause)."""
    if cause is None:
        return None
    if cause.state == CAUSE_FOUND and cause.quote:
        return ReplyCause(quote=cause.quote)
    if cause.state == CAUSE_NONE:
        return ReplyCause(note=NO_ERROR)
    if cause.state == CAUSE_SKIPPED:
        return ReplyCause(note=NOT_READ)
    if cause.state == CAUSE_PENDING and cause.attempts < MAX_CAUSE_ATTEMPTS:
        return ReplyCause(note=READING)
    return ReplyCause(note=UNREADABLE)


def link(ref: IncidentRef | None) -> IncidentLink | None:
    return IncidentLink(ref.channel_id, ref.parent_ts, ref.opened_at) if ref else None


def _line(stat: CauseStat, occurrences: int, incident: Incident) -> CauseLine:
    seen_before = stat.earlier_incident is not None or stat.first_seen_at < incident.first_failure_at
    when = stat.earlier_incident.opened_at if stat.earlier_incident else stat.first_seen_at
    return CauseLine(
        label=stat.label,
        occurrences=occurrences,
        seen_before=when if seen_before else None,
        earlier=link(stat.earlier_incident),
    )


async def incident_triage(
    store: TriageStore, incident: Incident, now: datetime
) -> tuple[CausesView | None, Change | None]:
    """The parent's likely causes (top fingerprints, new or seen before) and what changed."""
    failures = await store.incident_failures(incident.id, incident.agent)
    events = await changes_before(store, incident.agent, incident.first_failure_at)
    if not failures:
        return None, with_events(None, events)
    counts = Counter(f.fingerprint for f in failures if f.state == CAUSE_FOUND and f.fingerprint)
    ranked = [fp for fp, _ in counts.most_common()]
    await store.link_incident_causes(incident.agent, incident.id, incident.channel_id, ranked, now)
    stats = await store.cause_stats(incident.agent, ranked, before_incident=incident.id)
    states = Counter(f.state for f in failures)
    reading = sum(1 for f in failures if f.state == CAUSE_PENDING and f.attempts < MAX_CAUSE_ATTEMPTS)
    causes = CausesView(
        lines=[_line(stats[fp], counts[fp], incident) for fp in ranked if fp in stats],
        quiet=states[CAUSE_NONE],
        reading=reading,
        unread=states[CAUSE_SKIPPED] + states[CAUSE_PENDING] - reading,
    )
    known = await store.deployments_of(incident.agent)
    rates = await store.deploy_rates_of(incident.agent)
    change = explain_change([f.deployment_id for f in failures], known, incident.first_failure_at, rates, now)
    return causes, with_events(change, events)


def with_events(change: Change | None, events: tuple[ChangeEvent, ...]) -> Change | None:
    """The deployments' story plus the webhook timeline's changes of the hour before."""
    if not events:
        return change
    return replace(change, events=events) if change is not None else Change(failing=(), events=events)
