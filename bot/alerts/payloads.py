"""What an outbox row carries about a session, and how it comes back out.

The payload is the session as the API described it (camelCase JSON, so `Session.model_validate`
reads it back) minus the metrics time series, which would bloat every row; the peak memory the
series gave is kept beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.decide import Failure
from bot.pipecat.models import Session
from bot.store.records import OutboxRow

SESSION_KEY = "session"
PEAK_MEMORY_KEY = "peak_memory_bytes"


def session_payload(session: Session) -> dict[str, Any]:
    data = session.model_dump(mode="json", by_alias=True, exclude_none=True)
    metrics = data.get("resourceMetrics")
    if isinstance(metrics, dict):
        metrics.pop("timeseries", None)
    return {SESSION_KEY: data, PEAK_MEMORY_KEY: session.peak_memory_bytes}


def session_from_payload(payload: dict[str, Any]) -> Session:
    return Session.model_validate(payload[SESSION_KEY])


def peak_memory(payload: dict[str, Any]) -> int | None:
    value = payload.get(PEAK_MEMORY_KEY)
    return int(value) if isinstance(value, int | float) else None


def failure_of(row: OutboxRow) -> Failure:
    """The routing facts of an alert row."""
    session = session_from_payload(row.payload)
    failed_at: datetime = session.ended_at or session.created_at
    status = session.completion_status or session.end_state or "unknown"
    return Failure(row.id, row.agent, session.session_id, status, failed_at)
