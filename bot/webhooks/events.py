"""Pipecat Cloud webhook events: the envelope, one model per event type, and the stored event.

The envelope is `{"event_type", "org", "created_at", "data"}`; `data` is snake_case, entities as
`<thing>_id` + `<thing>_name`, money in `*_cents`. Every model ignores fields it does not know and
every field that is not the event's point is optional, so a field Pipecat adds (or leaves out)
never breaks a handler. An event type this module does not know is stored and ignored
(`model_for` answers None): subscribing to a new type in the dashboard must not break the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.contracts.names import is_agent_name
from bot.contracts.times import parse_iso

__all__ = [
    "EVENT_MODELS",
    "OTHER",
    "Envelope",
    "StoredEvent",
    "ValidationError",
    "agent_of",
    "metric_label",
    "model_for",
    "parse_data",
]

#: A webhook-id longer than this is refused as malformed (it goes into outbox dedup keys).
MAX_WEBHOOK_ID = 100
#: The metric label of every event type this module does not know (labels stay a bounded set).
OTHER = "other"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Envelope(_Model):
    """What every delivery carries. `created_at` that does not parse reads as None (the app then
    dates the event by when it arrived); `data` that is not an object refuses the delivery."""

    event_type: str = Field(min_length=1, max_length=100)
    org: str | None = Field(default=None, max_length=200)
    created_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at", mode="before")
    @classmethod
    def _lenient_time(cls, value: object) -> datetime | None:
        return parse_iso(value)


class BuildEvent(_Model):
    """build.started (best effort), build.succeeded, build.failed, build.timeout."""

    build_id: str
    region: str | None = None
    status: str | None = None
    triggered_by: str | None = None
    commit_sha: str | None = None
    ref: str | None = None
    repo_full_name: str | None = None
    image_uri: str | None = None
    build_duration_seconds: float | None = None
    error_message: str | None = None


class DeploymentEvent(_Model):
    """deployment.created, deployment.updated (only when pods were replaced)."""

    deployment_id: str
    service_id: str | None = None
    service_name: str
    region: str | None = None
    build_id: str | None = None


class ServiceEvent(_Model):
    """service.suspended (with `reason`: trial_exhausted | account_suspended), service.resumed."""

    service_id: str | None = None
    service_name: str
    region: str | None = None
    reason: str | None = None


class SpendThreshold(_Model):
    percent: float
    current_spend_cents: int | None = None
    limit_cents: int | None = None


class SpendLimitReached(_Model):
    current_spend_cents: int | None = None
    limit_cents: int | None = None


class SpendLimitCleared(_Model):
    previous_limit_cents: int | None = None


class SessionStarted(_Model):
    session_id: str | None = None
    service: str | None = None  # the agent's name, spelled `service` in this event
    region: str | None = None
    transport: str | None = None


class TrialEvent(_Model):
    """org.trial_started, org.trial_ended."""

    org_name: str | None = None
    amount_due_cents: int | None = None


class ApiKeyEvent(_Model):
    """api_key.created, api_key.rotated, api_key.deleted: never the key itself."""

    key_id: str | None = None
    name: str | None = None
    type: str | None = None
    actor_user_id: str | None = None


class SecretEvent(_Model):
    """secret.created, secret.updated, secret.deleted: the set and field names, never a value."""

    set_name: str
    region: str | None = None
    type: str | None = None
    scope: str | None = None
    actor_user_id: str | None = None
    field_names: list[str] | None = None


EVENT_MODELS: dict[str, type[_Model]] = {
    "build.started": BuildEvent,
    "build.succeeded": BuildEvent,
    "build.failed": BuildEvent,
    "build.timeout": BuildEvent,
    "deployment.created": DeploymentEvent,
    "deployment.updated": DeploymentEvent,
    "service.suspended": ServiceEvent,
    "service.resumed": ServiceEvent,
    "spend.threshold_reached": SpendThreshold,
    "spend.limit_reached": SpendLimitReached,
    "spend.limit_cleared": SpendLimitCleared,
    "session.started": SessionStarted,
    "org.trial_started": TrialEvent,
    "org.trial_ended": TrialEvent,
    "api_key.created": ApiKeyEvent,
    "api_key.rotated": ApiKeyEvent,
    "api_key.deleted": ApiKeyEvent,
    "secret.created": SecretEvent,
    "secret.updated": SecretEvent,
    "secret.deleted": SecretEvent,
}


def model_for(event_type: str) -> type[_Model] | None:
    return EVENT_MODELS.get(event_type)


def parse_data(event_type: str, data: dict[str, Any]) -> _Model | None:
    """The event's data as its model; None for a type this module does not know. Raises
    pydantic.ValidationError when a known type lacks what it is about (a deployment without ids)."""
    model = model_for(event_type)
    return model.model_validate(data) if model is not None else None


def metric_label(event_type: str) -> str:
    """The event type as a metric label: a known type, or OTHER (never free text)."""
    return event_type if event_type in EVENT_MODELS else OTHER


def agent_of(event_type: str, data: dict[str, Any]) -> str | None:
    """The agent an event is about (deployments, services, session starts), when it names one
    that is a valid agent name; None for organization-wide events."""
    name = data.get("service") if event_type == "session.started" else data.get("service_name")
    if event_type.split(".", 1)[0] not in ("deployment", "service", "session"):
        return None
    return name if is_agent_name(name) else None


@dataclass(frozen=True)
class StoredEvent:
    """One delivery as the store keeps it (`webhook_events`)."""

    id: int
    webhook_id: str
    event_type: str
    created_at: datetime
    received_at: datetime
    org: str | None = None
    agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    processed_at: datetime | None = None
