"""What an outbox row carries, one pydantic model per row kind (a discriminated union on `kind`).

Stored as JSON in `alert_outbox.payload`. The row's `kind` column is the discriminator when a
payload is read back (`parse_payload`), so rows written before the models existed (without a
`kind` field in their JSON) read the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bot.contracts.notices import NoticeKind


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# -- where a row posts: declared by its payload, resolved by bot/alerts/delivery/threads.py -------


class IncidentReply(_Payload):
    """A reply in its incident's thread, under the incident's parent post: it waits while the
    parent is not posted yet, and goes to the top level once the parent was given up or deleted."""


class FollowsOpener(_Payload):
    """A reply under another row's post, its opener (`opener_key`: the opener's dedup key): it
    waits while the opener may still be posted, and is dropped when the channel never saw it."""

    opener_key: str


class AlertPayload(IncidentReply):
    """One ended session, as the API described it (camelCase JSON) minus the metrics series."""

    kind: Literal["alert"] = "alert"
    session: dict[str, Any]
    peak_memory_bytes: int | None = None


class ParentPayload(_Payload):
    """An incident's parent: rendered from the incident row at post time, so nothing to carry."""

    kind: Literal["parent"] = "parent"


class RolledItem(_Payload):
    session_id: str
    status: str
    failed_at: datetime


class RolledCause(_Payload):
    label: str
    count: int


class RollupPayload(IncidentReply):
    """A roll-up reply: a burst's sessions beyond the reply budget, or (`periodic`) a busy agent's
    background failures held for BACKGROUND_ROLLUP_EVERY (bot/alerts/incidents/keeper.py `flush_held`),
    with the agent's failure rate against its usual when it was made (`rate`, the detector's
    words) and the top causes the cause cache knows of its sessions (out of `causes_read` logs)."""

    kind: Literal["rollup"] = "rollup"
    count: int
    sessions: list[RolledItem]
    periodic: bool = False
    rate: str | None = None
    causes: list[RolledCause] = []
    causes_read: int = 0


class NoticePayload(_Payload):
    """Pipecat Cloud unreachable for an agent (`outage`), its polls failing on its data
    (`poll_failed`), one session given up (`bad_item`), or all well again (`recovery`)."""

    kind: Literal["notice"] = "notice"
    type: NoticeKind
    since: datetime | None = None
    until: datetime | None = None
    problem: str = ""
    polls: int = 0
    session_id: str | None = None
    #: A recovery from data failures (not reachability).
    data: bool = False


class UndeliveredItem(_Payload):
    """One given-up row, as the channel's summary lists it."""

    row_id: int
    agent: str
    what: str  # the row kind: alert, rollup, notice, health
    session_id: str | None = None
    created_at: datetime
    reason: str = ""
    #: What a health alert said ("Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)").
    detail: str | None = None


class SummaryPayload(_Payload):
    """ "N alerts could not be delivered between … and …", listing them."""

    kind: Literal["summary"] = "summary"
    since: datetime
    until: datetime
    items: list[UndeliveredItem]


class HealthPayload(_Payload):
    """An agent health condition opened (bot/alerts/health/posts.py; `finding` is its Finding JSON).

    The post shows the occurrence as it is now: the store updates this payload when it clears
    (`cleared_at`) or comes back (`returned_at`, `returns`; `cleared_at` unset again), and the
    message is re-rendered from it."""

    kind: Literal["health"] = "health"
    finding: dict[str, Any]
    severity: str
    opened_at: datetime
    cleared_at: datetime | None = None
    returned_at: datetime | None = None
    returns: int = 0
    #: Who acknowledged the occurrence and when (its Acknowledge button); unset when it reopens.
    ack_by: str | None = None
    ack_at: datetime | None = None


class HealthClearPayload(FollowsOpener):
    """An agent health condition cleared: a reply under its opener (`opener_key`). With `back`
    the reply says the condition came back instead (`cleared_at` is then when it returned)."""

    kind: Literal["health_clear"] = "health_clear"
    finding: dict[str, Any]
    opened_at: datetime
    cleared_at: datetime
    now: str = ""
    back: bool = False


class DigestPayload(_Payload):
    """A channel's daily digest; its sections are the digest builder's (bot/alerts/digest.py)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    kind: Literal["digest"] = "digest"


class PagePayload(_Payload):
    """A PagerDuty event (bot/alerts/paging/pager.py): the Events API v2 body, and the alert it belongs to."""

    kind: Literal["page"] = "page"
    alert_id: int
    event: dict[str, Any]


class RatePayload(_Payload):
    """A rate alert (bot/alerts/rates/watch.py): its episode (bot/rates/detectors.py Episode JSON,
    with the current and the peak reading), the deployments' rates side by side, the top causes.
    The store updates this payload as the episode evolves, is acknowledged and clears, and the
    post is re-rendered from it."""

    kind: Literal["rate"] = "rate"
    episode: dict[str, Any]
    opened_at: datetime
    deployments: list[dict[str, Any]] = []
    causes: list[dict[str, Any]] = []
    cleared_at: datetime | None = None
    #: Sessions it cost in all, once cleared (while open, the episode's own `cost` is the count so far).
    cost: int = 0
    #: Who acknowledged the episode and when (its Acknowledge, in any channel; bot/store/rates.py
    #: `rate_acks` is the record); unset again by Unacknowledge.
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


class RateClearPayload(FollowsOpener):
    """A rate alert cleared: a reply under its opener (`opener_key`)."""

    kind: Literal["rate_clear"] = "rate_clear"
    episode: dict[str, Any]
    opened_at: datetime
    cleared_at: datetime
    cost: int = 0


OutboxPayload = Annotated[
    AlertPayload
    | ParentPayload
    | RollupPayload
    | NoticePayload
    | SummaryPayload
    | HealthPayload
    | HealthClearPayload
    | DigestPayload
    | PagePayload
    | RatePayload
    | RateClearPayload,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[OutboxPayload] = TypeAdapter(OutboxPayload)


def parse_payload(kind: str, data: dict[str, Any]) -> OutboxPayload:
    """The stored JSON of a row of `kind` as its model; raises pydantic.ValidationError."""
    return _ADAPTER.validate_python({**data, "kind": kind})


def dump_payload(payload: OutboxPayload) -> dict[str, Any]:
    return payload.model_dump(mode="json")
