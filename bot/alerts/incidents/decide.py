"""Pure decisions of the alert pipeline: no I/O, no clock reads; table-tested in tests/unit/alerts/test_decide.py.

- which watches a session alerts,
- whether an agent's outage deserves a notice,
- how new failures are routed into incidents (same incident within the quiet window), and how a
  burst (more than BURST_LIMIT sessions in BURST_WINDOW) rolls up into one message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.alerts import policy
from bot.contracts import keys
from bot.pipecat.models import Session
from bot.store.payloads import OutboxPayload, ParentPayload, RolledCause, RolledItem, RollupPayload
from bot.store.records import (
    CAUSE_FOUND,
    CAUSE_NONE,
    Incident,
    IncidentChange,
    NewPost,
    OutboxKind,
    SessionCause,
    Watch,
)

#: The outbox key of one (watch, session) alert (minted in bot/contracts/keys.py).
alert_dedup_key = keys.alert_key


def alerting_watches(session: Session, watches: Iterable[Watch]) -> list[Watch]:
    """Watches that hear about this ended session: its completionStatus or endState is one of the
    watch's statuses, and it ended after the watch was created (a watch never back-fills)."""
    ended = session.ended_at
    if ended is None:  # still running
        return []
    return [w for w in watches if session.matches(w.statuses) and ended >= w.created_at]


def outage_notice_due(
    failures: int, already_notified: bool, threshold: int = policy.OUTAGE_NOTICE_AFTER_FAILURES
) -> bool:
    """One notice per outage: the poll that reaches the threshold posts it, later ones do not."""
    return failures >= threshold and not already_notified


def incident_is_open(incident: Incident | None, now: datetime, window: timedelta) -> bool:
    """An incident takes new failures until it has been quiet for `window`."""
    return incident is not None and incident.closed_at is None and now - incident.last_activity_at < window


@dataclass(frozen=True)
class BurstSplit:
    replies: int
    rolled: int
    burst_started_at: datetime
    burst_replies: int


def split_burst(
    burst_started_at: datetime | None,
    burst_replies: int,
    now: datetime,
    count: int,
    *,
    limit: int = policy.BURST_LIMIT,
    window: timedelta = policy.BURST_WINDOW,
) -> BurstSplit:
    """How many of `count` new failures get their own reply; the rest roll up into one message.

    A burst minute allows `limit` individual replies; a new minute starts a new budget.
    """
    if burst_started_at is None or now - burst_started_at >= window:
        burst_started_at, burst_replies = now, 0
    replies = min(count, max(0, limit - burst_replies))
    return BurstSplit(replies, count - replies, burst_started_at, burst_replies + replies)


@dataclass(frozen=True)
class Failure:
    """One alert waiting to be routed (read from its outbox row)."""

    row_id: int
    agent: str
    session_id: str
    status: str
    failed_at: datetime


@dataclass
class RoutingPlan:
    changes: list[IncidentChange] = field(default_factory=list)
    muted_row_ids: list[int] = field(default_factory=list)


def plan_routing(
    channel_id: str,
    failures: Sequence[Failure],
    open_incidents: Mapping[str, Incident],
    muted_agents: Iterable[str],
    now: datetime,
    window: timedelta,
    subscription_ids: Mapping[str, int | None] | None = None,
    held_agents: Iterable[str] = (),
) -> RoutingPlan:
    """Group the channel's new failures per agent into its open incident (or a new one).

    The plan is complete: a new incident comes with its parent post, a burst with its roll-up
    post, keys minted; the store only persists it. `subscription_ids`: agent → the channel's watch.
    `held_agents` (busy agents, bot/alerts/policy.py BACKGROUND_MIN_FAILURES_PER_HOUR): their
    failures join an open incident held for its next periodic roll-up (`held_rollup_due`) instead
    of getting replies of their own; a new incident still opens (and posts) at once.
    """
    subs = subscription_ids or {}
    plan = RoutingPlan()
    muted = set(muted_agents)
    held = set(held_agents)
    by_agent: dict[str, list[Failure]] = {}
    for failure in failures:
        if failure.agent in muted:
            plan.muted_row_ids.append(failure.row_id)
        else:
            by_agent.setdefault(failure.agent, []).append(failure)
    for agent, group in by_agent.items():
        current = open_incidents.get(agent)
        incident = current if incident_is_open(current, now, window) else None
        hold = incident is not None and agent in held
        plan.changes.append(_change(channel_id, agent, group, incident, now, subs.get(agent), hold=hold))
    return plan


def _change(
    channel_id: str,
    agent: str,
    group: Sequence[Failure],
    incident: Incident | None,
    now: datetime,
    subscription_id: int | None,
    *,
    hold: bool = False,
) -> IncidentChange:
    times = [f.failed_at for f in group]
    statuses = list(incident.statuses) if incident else []
    for failure in group:
        if failure.status not in statuses:
            statuses.append(failure.status)
    latest = max(group, key=lambda f: (f.failed_at, f.row_id))
    # A late arrival (an outage back-log) must not replace a newer latest session.
    keep_latest = incident is not None and incident.last_failure_at > latest.failed_at
    split = split_burst(
        incident.burst_started_at if incident else None,
        incident.burst_replies if incident else 0,
        now,
        len(group),
    )
    if hold:  # all of them wait for the incident's next periodic roll-up; the burst budget is untouched
        split = BurstSplit(0, len(group), split.burst_started_at, incident.burst_replies if incident else 0)
    replies, rolled = group[: split.replies], group[split.replies :]
    parent = None
    if incident is None:
        parent = _post(
            keys.parent_key(group[0].row_id), OutboxKind.PARENT, channel_id, agent, ParentPayload(), subscription_id
        )
    rollup = None
    if rolled and not hold:
        payload = rollup_payload(rolled)
        rollup = _post(
            keys.rollup_key(rolled[0].row_id), OutboxKind.ROLLUP, channel_id, agent, payload, subscription_id
        )
    return IncidentChange(
        channel_id=channel_id,
        agent=agent,
        incident_id=incident.id if incident else None,
        first_failure_at=min([*times, incident.first_failure_at] if incident else times),
        last_failure_at=max([*times, incident.last_failure_at] if incident else times),
        session_count=(incident.session_count if incident else 0) + len(group),
        statuses=tuple(statuses),
        latest_session_id=incident.latest_session_id if incident and keep_latest else latest.session_id,
        burst_started_at=split.burst_started_at,
        burst_replies=split.burst_replies,
        reply_row_ids=[f.row_id for f in replies],
        rolled_row_ids=[f.row_id for f in rolled],
        parent_post=parent,
        rollup_post=rollup,
    )


def _post(
    key: str, kind: OutboxKind, channel_id: str, agent: str, payload: OutboxPayload, subscription_id: int | None
) -> NewPost:
    return NewPost(key, kind, channel_id, agent, payload, subscription_id)


def held_rollup_due(oldest_held_at: datetime, now: datetime, *, closed: bool, every: timedelta) -> bool:
    """Held failures of a busy agent are posted (one roll-up) once the oldest has waited `every`,
    or at once when their incident closed."""
    return closed or now - oldest_held_at >= every


def rollup_payload(rolled: Sequence[Failure]) -> RollupPayload:
    """What a roll-up message lists: every rolled session's id, status and failure time."""
    return RollupPayload(
        count=len(rolled),
        sessions=[RolledItem(session_id=f.session_id, status=f.status, failed_at=f.failed_at) for f in rolled],
    )


def rolled_causes(
    causes: Iterable[SessionCause], limit: int = policy.ROLLUP_TOP_CAUSES
) -> tuple[list[RolledCause], int]:
    """The most frequent causes among a roll-up's sessions the cause cache has (by fingerprint,
    most first, then by label), at most `limit`, and how many of the sessions' logs were read (a
    busy agent's logs are read only a few a cycle: the rest are counted, not explained)."""
    read = [c for c in causes if c.state in (CAUSE_FOUND, CAUSE_NONE)]
    tally: dict[str, tuple[str, int]] = {}
    for cause in read:
        if cause.state != CAUSE_FOUND or not cause.fingerprint:
            continue
        label, n = tally.get(cause.fingerprint, (cause.label or cause.fingerprint, 0))
        tally[cause.fingerprint] = (label, n + 1)
    ranked = sorted(tally.values(), key=lambda item: (-item[1], item[0]))
    return [RolledCause(label=label, count=n) for label, n in ranked[:limit]], len(read)


def periodic_rollup_payload(
    rolled: Sequence[Failure], rate: str | None, causes: Iterable[SessionCause]
) -> RollupPayload:
    """A busy agent's periodic roll-up: every held session, the failure rate against its usual
    (None when there is no usable rate) and the top causes among the sessions."""
    top, read = rolled_causes(causes)
    listed = rollup_payload(rolled)
    return RollupPayload(
        count=listed.count, sessions=listed.sessions, periodic=True, rate=rate, causes=top, causes_read=read
    )
