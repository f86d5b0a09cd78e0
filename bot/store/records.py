"""Plain values the store returns and takes: no SQLAlchemy types leak out of bot/store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Outbox row kinds.
KIND_ALERT = "alert"
KIND_PARENT = "parent"
KIND_ROLLUP = "rollup"
KIND_NOTICE = "notice"
#: A PagerDuty event (trigger/acknowledge/resolve), delivered by bot/alerts/pager.py, not to Slack.
KIND_PAGE = "page"
#: An agent health condition opened (top-level post) / cleared (a reply in its thread).
KIND_HEALTH = "health"
KIND_HEALTH_CLEAR = "health_clear"
#: A channel's daily digest (dedup "digest:<channel>:<day>").
KIND_DIGEST = "digest"

# Outbox row states.
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"
UNCERTAIN = "uncertain"
MUTED = "muted"
ROLLED_UP = "rolled_up"
#: States a delivery worker may pick up (a `sending` row only once its claim has expired).
DELIVERABLE = (PENDING, UNCERTAIN, SENDING)


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
    kind: str
    channel_id: str
    agent: str
    payload: Mapping[str, Any]
    subscription_id: int | None = None
    session_id: str | None = None
    incident_id: int | None = None
    state: str = PENDING
    #: Why a row is inserted already finished (dead, muted); shown by diagnostics.
    last_error: str | None = None


@dataclass(frozen=True)
class EndedSession:
    """An ended session the poller saw, and the posts to enqueue if this poll is the first to see it."""

    session_id: str
    posts: tuple[NewPost, ...] = ()


@dataclass(frozen=True)
class OutboxRow:
    id: int
    dedup_key: str
    kind: str
    channel_id: str
    agent: str
    subscription_id: int | None
    session_id: str | None
    incident_id: int | None
    state: str
    attempts: int
    next_attempt_at: datetime
    claim_token: str | None
    claimed_at: datetime | None
    claimed_until: datetime | None
    payload: dict[str, Any]
    posted_ts: str | None
    last_error: str | None
    created_at: datetime


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


@dataclass(frozen=True)
class Mute:
    channel_id: str
    agent: str
    until: datetime
    muted_by: str


@dataclass
class IncidentChange:
    """What routing does to one incident: open it (id None) or update it, and which rows go where.

    Built by the pure planner (bot/alerts/incidents_plan.py), applied in one transaction by the store.
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
    #: Payload of the roll-up reply when rolled_row_ids is not empty.
    rollup_payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class OpenCondition:
    """One open agent health condition (`finding` is bot.alerts.health.Finding as JSON)."""

    agent: str
    key: str
    opened_at: datetime
    finding: dict[str, Any]
    posted: bool


@dataclass(frozen=True)
class ConditionOpen:
    """A condition to open, and the posts that announce it (enqueued only if this opens it)."""

    key: str
    finding: Mapping[str, Any]
    posted: bool
    posts: tuple[NewPost, ...] = ()


@dataclass(frozen=True)
class ConditionClear:
    """A condition to clear (the occurrence opened at `opened_at`), and its recovery posts."""

    key: str
    opened_at: datetime
    posts: tuple[NewPost, ...] = ()


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
