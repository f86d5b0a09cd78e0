"""Pure builders for Events API v2 events: dedup keys, summaries, payloads.

An event is built without its routing key (the client adds it when sending), so it can be stored
in the outbox as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.contracts.keys import PAGERDUTY_CLIENT
from bot.contracts.secrets import mask_secrets

#: PagerDuty's limits: a summary of at most 1024 characters, a dedup_key of at most 255.
SUMMARY_LIMIT = 1024
#: Who sends the events (PagerDuty shows it on the alert).

TRIGGER = "trigger"
ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
ACTIONS = (TRIGGER, ACKNOWLEDGE, RESOLVE)

SEVERITY_SESSIONS = "error"
SEVERITIES = ("critical", "error", "warning", "info")
#: At most this much of a crash's output goes into an alert's details.
MESSAGE_LIMIT = 2000


def key_namespace(dedup_key: str | None) -> str | None:
    """The namespace an existing key was made with: "pipecat-ops/T0001/C1/incident/7" → "T0001".
    Installations that paged before the namespace was stored used their Slack team id; reading it
    back from their keys keeps the keys of their open alerts the same."""
    if dedup_key is None:
        return None
    client, _, rest = dedup_key.partition("/")
    namespace = rest.partition("/")[0]
    return namespace if client == PAGERDUTY_CLIENT and namespace else None


@dataclass(frozen=True)
class IncidentFacts:
    """What a page says about a session-failure incident."""

    agent: str
    session_count: int
    statuses: Sequence[str]
    first_failure_at: datetime
    last_failure_at: datetime
    latest_session_id: str
    deployment_id: str | None = None
    top_cause: str | None = None
    #: The Slack parent message (chat.getPermalink); None while it is not posted.
    permalink: str | None = None
    channel_id: str | None = None


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def masked(details: dict[str, Any]) -> dict[str, Any]:
    """custom_details with every text (and text in a list) through the one masker: PagerDuty
    shows them to everyone on the service, and they quote Pipecat's text (causes, health.message)."""

    def one(value: Any) -> Any:
        if isinstance(value, str):
            return mask_secrets(value)
        if isinstance(value, list):
            return [one(v) for v in value]
        return value

    return {k: one(v) for k, v in details.items()}


def incident_summary(facts: IncidentFacts) -> str:
    """ "voice-bot: 6 sessions failed (HTTP_ERROR) — likely cause: CartesiaTTSService error …"."""
    noun = "session" if facts.session_count == 1 else "sessions"
    statuses = ", ".join(sorted(set(facts.statuses))) or "unknown"
    summary = f"{facts.agent}: {facts.session_count} {noun} failed ({statuses})"
    if facts.top_cause:
        summary += f" — likely cause: {' '.join(facts.top_cause.split())}"
    return truncate(mask_secrets(summary), SUMMARY_LIMIT)


def incident_trigger(dedup_key: str, facts: IncidentFacts, now: datetime) -> dict[str, Any]:
    details: dict[str, Any] = {
        "failed_sessions": facts.session_count,
        "statuses": sorted(set(facts.statuses)),
        "deployment": facts.deployment_id,
        "top_cause": facts.top_cause,
        "first_failure": facts.first_failure_at.isoformat(),
        "last_failure": facts.last_failure_at.isoformat(),
        "latest_session": facts.latest_session_id,
        "slack_channel": facts.channel_id,
    }
    payload: dict[str, Any] = {
        "summary": incident_summary(facts),
        "source": facts.agent,
        "severity": SEVERITY_SESSIONS,
        "timestamp": now.isoformat(),
        "class": "session failures",
        "custom_details": masked({k: v for k, v in details.items() if v is not None}),
    }
    if facts.deployment_id:
        payload["component"] = facts.deployment_id
        payload["group"] = facts.deployment_id
    return _trigger(dedup_key, payload, facts.permalink)


@dataclass(frozen=True)
class ConditionFacts:
    """An agent health condition (crash loop, out of memory, unavailable, at capacity)."""

    agent: str
    #: The condition's kind (revision, oom, unavailable, at-capacity, ...): the alert's class.
    condition: str
    #: Its headline: "Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)".
    description: str
    since: datetime
    #: critical, error, warning or info (the health module decides per kind).
    severity: str
    deployment_id: str | None = None
    facts: tuple[str, ...] = ()
    #: health.message (often a traceback), already masked of secret-shaped text.
    message: str | None = None


def condition_trigger(dedup_key: str, facts: ConditionFacts, now: datetime) -> dict[str, Any]:
    if facts.severity not in SEVERITIES:
        raise ValueError(f"not a PagerDuty severity: {facts.severity!r}")
    details: dict[str, Any] = {"condition": facts.condition, "since": facts.since.isoformat()}
    if facts.facts:
        details["facts"] = list(facts.facts)
    if facts.message:
        details["message"] = truncate(mask_secrets(facts.message), MESSAGE_LIMIT)
    if facts.deployment_id:
        details["deployment"] = facts.deployment_id
    payload: dict[str, Any] = {
        "summary": truncate(mask_secrets(f"{facts.agent}: {' '.join(facts.description.split())}"), SUMMARY_LIMIT),
        "source": facts.agent,
        "severity": facts.severity,
        "timestamp": now.isoformat(),
        "class": facts.condition,
        "custom_details": masked(details),
    }
    if facts.deployment_id:
        payload["component"] = facts.deployment_id
        payload["group"] = facts.deployment_id
    return _trigger(dedup_key, payload, None)


def _trigger(dedup_key: str, payload: dict[str, Any], permalink: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_action": TRIGGER,
        "dedup_key": dedup_key,
        "client": PAGERDUTY_CLIENT,
        "payload": payload,
    }
    if permalink:
        event["links"] = [{"href": permalink, "text": "Incident thread in Slack"}]
    return event


def follow_up(action: str, dedup_key: str) -> dict[str, Any]:
    """An acknowledge or resolve: only the key (PagerDuty takes no payload for these)."""
    if action not in (ACKNOWLEDGE, RESOLVE):
        raise ValueError(f"not a follow-up action: {action!r}")
    return {"event_action": action, "dedup_key": dedup_key}
