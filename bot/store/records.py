"""Plain values the store returns and takes: no SQLAlchemy types leak out of bot/store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.store.payloads import OutboxPayload, parse_payload


class OutboxKind(StrEnum):
    """What an outbox row posts."""

    ALERT = "alert"  # one session's reply in its incident's thread
    PARENT = "parent"  # an incident's parent message
    ROLLUP = "rollup"  # several sessions of a burst in one reply
    NOTICE = "notice"  # an outage or recovery notice (top-level)
    SUMMARY = "summary"  # "N alerts could not be delivered between … and …" (top-level)
    HEALTH = "health"  # an agent health condition opened (top-level)
    HEALTH_CLEAR = "health_clear"  # ... and cleared (a reply in the opener's thread)
    DIGEST = "digest"  # a channel's daily digest (dedup "digest:<channel>:<day>")
    PAGE = "page"  # a PagerDuty event (trigger/acknowledge/resolve), delivered by bot/alerts/paging/pager.py
    RATE = "rate"  # a rate alert opened (top-level; edited as it evolves and when it clears)
    RATE_CLEAR = "rate_clear"  # ... and cleared (a reply in the opener's thread)


class OutboxState(StrEnum):
    """Where an outbox row is in its life; the moves between them are bot.alerts.delivery.transitions."""

    PENDING = "pending"  # to post; surely not in Slack yet
    SENDING = "sending"  # claimed by a worker for one attempt
    SENT = "sent"
    DEAD = "dead"  # given up (kept, with the reason; given-up alerts are summarised to the channel)
    UNCERTAIN = "uncertain"  # may have reached Slack: look for it before posting again
    MUTED = "muted"  # recorded, not posted (the agent was muted)
    ROLLED_UP = "rolled_up"  # posted as part of a roll-up row


# The names the rest of the code base uses (a StrEnum member equals its value as a string).
#: States a delivery worker may pick up (a `sending` row only once its claim has expired).
DELIVERABLE = (OutboxState.PENDING, OutboxState.UNCERTAIN, OutboxState.SENDING)


@dataclass(frozen=True)
class Watch:
    """One subscription: `channel_id` hears about `statuses` of `agent`."""

    id: int
    channel_id: str
    agent: str
    statuses: frozenset[str]
    group: str | None = field(metadata={"column": "group_mention"})
    created_by: str
    created_at: datetime
    broken_reason: str | None = None
    broken_at: datetime | None = None
    last_alert_at: datetime | None = None
    #: Incidents of this watch also page PagerDuty (`/session watch … page`).
    page: bool = False
    #: PagerDuty's error for the last event it refused (HTTP 400), until the watch is set again.
    page_error: str | None = None
    #: `/session watch … runbook <url>`: shown as a button on every alert of the watch.
    runbook: str | None = None


@dataclass(frozen=True)
class PagerAlert:
    """A PagerDuty alert we opened (see schema.pager_alerts)."""

    id: int
    dedup_key: str
    subscription_id: int | None
    channel_id: str
    agent: str
    incident_id: int | None
    condition: str | None
    state: str
    sent_count: int
    triggers: int
    last_trigger_at: datetime | None


@dataclass(frozen=True)
class PollState:
    agent: str
    watermark: datetime
    active_set: frozenset[str]
    failures: int = 0
    outage_since: datetime | None = None
    outage_notified: bool = False
    last_error: str | None = None
    #: FAILURE_REACHABILITY or FAILURE_DATA while a failure streak runs.
    failure_kind: str | None = None
    backfill_until: datetime | None = None
    backfill_from: datetime | None = None


#: Why polls of an agent fail: Pipecat did not answer, or answered something unusable.
FAILURE_REACHABILITY = "reachability"
FAILURE_DATA = "data"


@dataclass(frozen=True)
class ItemFailure:
    """One ended session whose processing raised, as the store keeps it between polls."""

    session_id: str
    attempts: int
    error: str
    session_created_at: datetime
    gave_up_at: datetime | None = None
    first_failed_at: datetime | None = None


@dataclass(frozen=True)
class NewPost:
    """A row to insert into the outbox (ignored if its dedup key is already there)."""

    dedup_key: str
    kind: OutboxKind
    channel_id: str
    agent: str
    payload: OutboxPayload
    subscription_id: int | None = None
    session_id: str | None = None
    incident_id: int | None = None
    state: OutboxState = OutboxState.PENDING
    #: Why a row is inserted already finished (dead, muted); shown by diagnostics.
    last_error: str | None = None


@dataclass(frozen=True)
class ScopedPost:
    """A post for a channel that watches `agents`: made only if the change reached one of them
    here and, for an opening, none of them had the alert open already."""

    agents: frozenset[str]
    post: NewPost


@dataclass(frozen=True)
class EndedSession:
    """An ended session the poller saw, and the posts to enqueue if this poll is the first to see it."""

    session_id: str
    posts: tuple[NewPost, ...] = ()


@dataclass(frozen=True)
class OutboxRow:
    id: int
    dedup_key: str
    kind: OutboxKind
    channel_id: str
    agent: str
    subscription_id: int | None
    session_id: str | None
    incident_id: int | None
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    claim_token: str | None
    claimed_at: datetime | None
    claimed_until: datetime | None
    payload: dict[str, Any]
    posted_ts: str | None
    last_error: str | None
    created_at: datetime
    #: Failed attempts that were Slack trouble (a 429 is not one): they set the back-off.
    failures: int = 0
    #: When the current stretch of Slack trouble began for this row; shifted forward by every
    #: 429's wait, so rate limiting never uses up the OUTBOX_GIVE_UP_HOURS budget.
    failing_since: datetime | None = None
    #: The first claim: a copy of the post, if Slack stored one, is no older than this.
    first_claimed_at: datetime | None = None
    #: Post at the top level instead of in the incident's thread (its parent cannot be posted).
    top_level: bool = False
    #: When the row was given up in a way its channel must hear about (the undelivered summary).
    given_up_at: datetime | None = None
    #: The summary row that reported this given-up row.
    summary_id: int | None = None

    def body(self) -> OutboxPayload:
        """The payload as its model; raises pydantic.ValidationError for an unreadable one."""
        return parse_payload(self.kind, self.payload)

    @property
    def maybe_posted(self) -> bool:
        """Whether the last attempt may have reached Slack (a dead claimer's row counts)."""
        return self.state in (OutboxState.UNCERTAIN, OutboxState.SENDING)


@dataclass(frozen=True)
class Transition:
    """What one attempt's outcome changes (decided by bot.alerts.delivery.transitions.next_state); `apply`
    writes it in one fenced transaction."""

    state: OutboxState
    next_attempt_at: datetime
    error: str | None
    failures: int
    failing_since: datetime | None
    posted_ts: str | None = None
    top_level: bool = False
    #: Set when the row is given up in a way the channel must hear about (summary, /session watches).
    given_up: bool = False
    #: Nobody posts to the channel before this (a 429's Retry-After), across replicas.
    channel_backoff_until: datetime | None = None
    #: The channel cannot be posted to at all: its watches are broken with this reason.
    break_channel: str | None = None
    #: Leave the channel for this pass (Slack is unwell, or the channel is backed off).
    stop_channel: bool = False
    #: The destination's failed attempts in a row after this one (None: unchanged).
    streak: int | None = None
    #: The first success after a streak: every held row of the destination comes due now, and a
    #: broken channel's watches are healed.
    recovered: bool = False


@dataclass(frozen=True)
class Incident:
    id: int
    channel_id: str
    agent: str
    parent_ts: str | None
    opened_at: datetime
    first_failure_at: datetime
    last_failure_at: datetime
    last_activity_at: datetime
    session_count: int
    statuses: tuple[str, ...]
    latest_session_id: str
    burst_started_at: datetime
    burst_replies: int
    ack_by: str | None
    ack_at: datetime | None
    closed_at: datetime | None
    version: int
    rendered_version: int
    #: The parent post's dedup key (None only for incidents opened before it was stored).
    parent_key: str | None = None
    #: Resolved by hand (the Resolve button): who, and why (None: it went quiet by itself).
    resolved_by: str | None = None
    resolve_reason: str | None = None


@dataclass(frozen=True)
class Mute:
    channel_id: str
    agent: str
    until: datetime
    muted_by: str


@dataclass
class IncidentChange:
    """What routing does to one incident: open it (id None) or update it, and which rows go where.

    Built by the pure planner (bot/alerts/incidents/decide.py plan_routing, posts and keys included),
    persisted in one transaction by the store.
    """

    channel_id: str
    agent: str
    incident_id: int | None
    first_failure_at: datetime
    last_failure_at: datetime
    session_count: int
    statuses: tuple[str, ...]
    latest_session_id: str
    burst_started_at: datetime
    burst_replies: int
    reply_row_ids: list[int] = field(default_factory=list)
    rolled_row_ids: list[int] = field(default_factory=list)
    #: A new incident's parent post (the store fills in the incident id it gets).
    parent_post: NewPost | None = None
    #: The roll-up reply of `rolled_row_ids` (the store fills in the incident id).
    rollup_post: NewPost | None = None


@dataclass(frozen=True)
class OpenCondition:
    """One open agent health condition (`finding` is bot.alerts.health.Finding as JSON)."""

    agent: str
    key: str = field(metadata={"column": "condition_key"})
    opened_at: datetime
    finding: dict[str, Any]
    posted: bool
    #: When it last came back after clearing (its alert reopened), None if it never did.
    reopened_at: datetime | None = None
    #: Who acknowledged the occurrence (its Acknowledge button) and when; unset again when it reopens.
    ack_by: str | None = None
    ack_at: datetime | None = None


@dataclass(frozen=True)
class ConditionOpen:
    """A condition to open, and the posts that announce it (enqueued only if this opens it)."""

    key: str
    finding: Mapping[str, Any]
    posted: bool
    posts: tuple[NewPost, ...] = ()
    #: When the occurrence opened (its identity); None: now.
    opened_at: datetime | None = None
    #: Set when a cleared occurrence reopens (it keeps `opened_at`). Its openers (`posts`) that are
    #: in the outbox already get `opener_changes` merged into their payload and are re-rendered,
    #: and each gets its reply from `replies` (by the opener's dedup key); one that is not (the
    #: channel never got it) is inserted, without a reply.
    reopened_at: datetime | None = None
    opener_changes: Mapping[str, Any] = field(default_factory=dict)
    replies: Mapping[str, NewPost] = field(default_factory=dict)


@dataclass(frozen=True)
class ConditionClear:
    """A condition to clear (the occurrence opened at `opened_at`), and its recovery posts."""

    key: str
    opened_at: datetime
    posts: tuple[NewPost, ...] = ()
    #: The occurrence's openers (dedup keys): `opener_changes` is merged into their payload and
    #: each one posted (or still to be) is re-rendered, muted channel or not.
    openers: tuple[str, ...] = ()
    opener_changes: Mapping[str, Any] = field(default_factory=dict)


# -- explanations ----------------------------------------------------------------------------------

# session_causes states.
CAUSE_FOUND = "found"
CAUSE_NONE = "none"
CAUSE_PENDING = "pending"
CAUSE_SKIPPED = "skipped"


@dataclass(frozen=True)
class NewCause:
    """One failure's entry in the cause cache (state found/none/pending/skipped)."""

    session_id: str
    state: str
    failed_at: datetime
    deployment_id: str | None = None
    fingerprint: str | None = None
    label: str | None = None
    quote: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionCause:
    agent: str
    session_id: str
    state: str
    failed_at: datetime
    deployment_id: str | None
    fingerprint: str | None
    label: str | None
    quote: tuple[str, ...]
    attempts: int


@dataclass(frozen=True)
class IncidentRef:
    """Enough of an incident to link its parent."""

    incident_id: int
    channel_id: str
    parent_ts: str | None
    opened_at: datetime


@dataclass(frozen=True)
class CauseStat:
    """One fingerprint: its counts overall and (for an incident) within it."""

    fingerprint: str
    label: str
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    example_session_id: str
    #: Sessions of the incident (or window) with this cause; `count` is the agent's all-time count.
    occurrences: int = 0
    last_incident: IncidentRef | None = None
    #: The latest other incident, before this one, that had the same cause.
    earlier_incident: IncidentRef | None = None


@dataclass(frozen=True)
class DeploymentSeen:
    deployment_id: str
    first_seen_at: datetime
    went_live_at: datetime | None
    #: The deployment this one replaced, from the agent's status (None when it never said).
    replaced: str | None = field(default=None, metadata={"column": "replaced_deployment_id"})

    @property
    def live_since(self) -> datetime:
        return self.went_live_at or self.first_seen_at


@dataclass(frozen=True)
class DeployRate:
    deployment_id: str
    sessions: int
    failures: int


@dataclass(frozen=True)
class DeployRates:
    computed_at: datetime
    window_seconds: int
    rates: tuple[DeployRate, ...]
