"""Pydantic models for Pipecat Cloud responses (the shapes in tests/fixtures/pipecat).

Lenient by design: unknown fields are kept, numbers may arrive as strings, `completionStatus`
and `endState` are open strings (an unknown value is a value), and lists may be null.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from bot.contracts.names import SESSION_ID, is_agent_name
from bot.contracts.outcomes import is_failed
from bot.pipecat.errors import UnexpectedResponse

# The lenient readings are defined in facts.py, shared with the plain reading of bot.pipecat.plain.
from bot.pipecat.facts import as_utc as _as_utc
from bot.pipecat.facts import duration_between, peak_memory
from bot.pipecat.facts import none_to_empty as _none_to_empty
from bot.pipecat.facts import open_string as _open_string
from bot.pipecat.facts import with_session_id as with_session_id

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


def _uuid(value: str) -> str:
    """A session id is a UUID: anything else could never be fetched, stopped or linked (the client
    refuses it before any URL is built), so it is not a session we can track."""
    if not SESSION_ID.fullmatch(value):
        raise ValueError("sessionId is not a UUID")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
SessionId = Annotated[str, AfterValidator(_uuid)]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)


class Sample(ApiModel):
    #: Epoch seconds; the spec leaves it optional (a sample without it still counts for peaks).
    t: int | None = None
    c: float | None = None
    m: int | None = None


class ResourceMetrics(ApiModel):
    sample_count: int | None = None
    cpu_millicores_p50: float | None = None
    cpu_millicores_p90: float | None = None
    cpu_millicores_p95: float | None = None
    cpu_millicores_p99: float | None = None
    memory_bytes_p50: int | None = None
    memory_bytes_p90: int | None = None
    memory_bytes_p95: int | None = None
    memory_bytes_p99: int | None = None
    timeseries: list[Sample] = Field(default_factory=list)
    event_ts: UtcDatetime | None = None

    _empty_lists = field_validator("timeseries", mode="before")(_none_to_empty)

    @property
    def peak_memory_bytes(self) -> int | None:
        return peak_memory(self.memory_bytes_p99, self.timeseries)


class SessionEvent(ApiModel):
    event_code: str
    event_ts: UtcDatetime | None = None


class MeetingId(ApiModel):
    meeting_id: str | None = None
    participant_id: str | None = None


class Session(ApiModel):
    session_id: SessionId
    service_id: str | None = None
    organization_id: str | None = None
    deployment_id: str | None = None
    #: Optional in the spec: an absent start shows as "not reported", never refuses the session.
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    ended_at: UtcDatetime | None = None
    bot_start_seconds: float | None = None
    cold_start: bool | None = None
    completion_status: str | None = None
    end_state: str | None = None
    events: list[SessionEvent] = Field(default_factory=list)
    resource_metrics: ResourceMetrics | None = None
    meeting_ids: list[MeetingId] = Field(default_factory=list)

    _empty_lists = field_validator("events", "meeting_ids", mode="before")(_none_to_empty)
    _open = field_validator("completion_status", "end_state", mode="before")(_open_string)

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    @property
    def duration(self) -> timedelta | None:
        return duration_between(self.created_at, self.ended_at)

    @property
    def peak_memory_bytes(self) -> int | None:
        return self.resource_metrics.peak_memory_bytes if self.resource_metrics else None

    def matches(self, statuses: Iterable[str]) -> bool:
        """True when completionStatus or endState is one of `statuses` (case-insensitive): a watch's
        alert filter, not what "failed" means (`failed`)."""
        wanted = {s.upper() for s in statuses}
        return any(v is not None and v.upper() in wanted for v in (self.completion_status, self.end_state))

    @property
    def failed(self) -> bool:
        """Ended as an error or a timeout: the one definition (bot.contracts.outcomes)."""
        return is_failed(self.completion_status, self.end_state, active=self.is_active)


class SessionPage(ApiModel):
    #: Optional in the spec: without it, paging goes on until a page comes back empty.
    total_count: int | None = Field(default=None, alias="total_count")
    #: Required, though it may be null: an answer without it is not a page (an error body that
    #: came with a 200 must not read as "no sessions").
    sessions: list[Session]
    #: Items of this page that were not valid sessions and were skipped (they still count for paging).
    skipped: int = Field(default=0, exclude=True)

    _empty_lists = field_validator("sessions", mode="before")(_none_to_empty)

    def more_after(self, offset: int) -> bool:
        """Whether a page may follow once `offset` items were read (a total, when sent, says; an
        unknown total means ask until a page comes back empty)."""
        return self.total_count is None or offset < self.total_count

    @classmethod
    def from_payload(cls, payload: Any) -> SessionPage:
        """Validate item by item: one malformed session must not hide the rest of the page (a
        session without a usable `sessionId` cannot be tracked: it is skipped, and counted)."""
        if not isinstance(payload, dict) or "sessions" not in payload:
            raise ValueError("not a session page")
        if not isinstance(payload["sessions"] or [], list):
            raise ValueError("not a session page")
        good: list[Session] = []
        for item in payload.get("sessions") or []:
            try:
                good.append(Session.model_validate(item))
            except ValidationError:
                logger.warning("skipping a malformed session in a list page: %.200r", item)
        skipped = len(payload.get("sessions") or []) - len(good)
        total = payload.get("total_count")
        try:
            return cls(total_count=total, sessions=good, skipped=skipped)
        except ValidationError:
            logger.warning("a session page's total_count is not a count (%.50r): paging without it", total)
            return cls(total_count=None, sessions=good, skipped=skipped)


class AutoScaling(ApiModel):
    min_replicas: int | None = None
    max_replicas: int | None = None


class Deployment(ApiModel):
    id: str | None = None
    #: The deployment's PCService manifest (`spec.image`, `spec.resources`, ...), kept as sent.
    manifest: dict[str, Any] | None = None
    created_at: UtcDatetime | None = None

    @property
    def image(self) -> str | None:
        spec = (self.manifest or {}).get("spec")
        image = spec.get("image") if isinstance(spec, dict) else None
        return str(image) if image else None


class RevisionHealth(ApiModel):
    ready: bool | None = None
    #: running | waiting | terminated (open: an unknown state is shown as sent).
    state: str | None = None
    restart_count: int | None = None
    replicas_started: int | None = None
    #: CrashLoopBackOff, ImagePullBackOff, OOMKilled, Error, ... (open).
    reason: str | None = None
    last_exit_code: int | None = None
    last_termination_reason: str | None = None
    #: The crash's stdout/stderr, often a Python traceback.
    message: str | None = None

    _open = field_validator("state", "reason", "last_termination_reason", mode="before")(_open_string)


class RevisionInfo(ApiModel):
    # The API spells this one `deploymentID` (capital ID), unlike every other field.
    deployment_id: str | None = Field(default=None, alias="deploymentID")
    #: Creating, Validating, Active, Draining, Failed (open: an unknown phase renders as sent).
    phase: str | None = None
    ready_replicas: int | None = None
    phase_started_at: UtcDatetime | None = None
    #: Absent when healthy.
    has_infrastructure_issue: bool | None = None
    health: RevisionHealth | None = None

    _open = field_validator("phase", mode="before")(_open_string)


class Agent(ApiModel):
    """`GET /agents/{agent}` (ServiceDetailsResponse), and the items of `GET /agents`.

    `activeDeploymentId`/`activeDeploymentReady` are deprecated: kept when sent (extra fields),
    never relied on; the desired/reconciled pair and the revisions say what is running.
    """

    #: Optional in the spec; a listed agent without one cannot be addressed (AgentList skips it).
    name: str | None = None
    id: str | None = None
    region: str | None = None
    ready: bool | None = None
    available: bool | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    desired_deployment_id: str | None = None
    reconciled_deployment_id: str | None = None
    auto_scaling: AutoScaling | None = None
    active_session_count: int | None = None
    agent_profile: str | None = None
    deployment: Deployment | None = None
    current_revision: RevisionInfo | None = None
    previous_revision: RevisionInfo | None = None

    @property
    def max_replicas(self) -> int | None:
        return self.auto_scaling.max_replicas if self.auto_scaling else None

    @property
    def rolling_out(self) -> bool:
        """A deployment is still rolling out while the desired one is not the reconciled one."""
        return (
            self.desired_deployment_id is not None
            and self.reconciled_deployment_id is not None
            and self.desired_deployment_id != self.reconciled_deployment_id
        )


class AgentList(ApiModel):
    services: list[Agent] = Field(default_factory=list)

    @field_validator("services", mode="before")
    @classmethod
    def _usable(cls, value: Any) -> Any:
        """Item by item: an agent that is not an object, or has no usable name, is skipped (and
        logged), never the whole list."""
        if value is None:
            return []
        if not isinstance(value, list):
            return value  # not a list: the model refuses the answer
        kept = []
        for item in value:
            try:
                agent = Agent.model_validate(item)
            except ValidationError:
                logger.warning("skipping a malformed agent in the agent list: %.200r", item)
                continue
            if agent.name is None or not is_agent_name(agent.name):
                logger.warning("skipping an agent without a usable name in the agent list: %.200r", item)
                continue
            kept.append(agent)
        return kept


class LogTotal(ApiModel):
    value: int | None = None
    relation: str | None = None


class LogLine(ApiModel):
    log: str = ""
    timestamp: UtcDatetime | None = None
    deployment_id: str | None = None

    @field_validator("log", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else str(value)


class LogPage(ApiModel):
    total: LogTotal | None = None
    logs: list[LogLine] = Field(default_factory=list)

    _empty_lists = field_validator("logs", mode="before")(_none_to_empty)


class SessionLog(ApiModel):
    """What the client read of one session's log: oldest first, possibly cut at its bound."""

    lines: tuple[LogLine, ...] = ()
    #: False when the log holds more lines than were read.
    complete: bool = True

    @property
    def texts(self) -> list[str]:
        return [line.log for line in self.lines]


def parse(model: type[ModelT], payload: Any) -> ModelT:
    """A decoded answer as `model`; a shape that does not fit is UnexpectedResponse (not retried)."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise UnexpectedResponse(f"{model.__name__}: {error.error_count()} invalid field(s)") from None
