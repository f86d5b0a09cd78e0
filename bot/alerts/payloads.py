"""What an alert row carries about a session, and how it comes back out.

The payload (bot.store.payloads.AlertPayload) is the session as the API described it (camelCase
JSON, so `Session.model_validate` reads it back) minus the metrics time series, which would bloat
every row; the peak memory the series gave is kept beside it.
"""

from __future__ import annotations

from bot.pipecat.models import Session
from bot.store.payloads import AlertPayload
from bot.store.records import OutboxRow


def session_payload(session: Session) -> AlertPayload:
    data = session.model_dump(mode="json", by_alias=True, exclude_none=True)
    metrics = data.get("resourceMetrics")
    if isinstance(metrics, dict):
        metrics.pop("timeseries", None)
    return AlertPayload(session=data, peak_memory_bytes=session.peak_memory_bytes)


def session_of(payload: AlertPayload) -> Session:
    return Session.model_validate(payload.session)


def alert_body(row: OutboxRow) -> AlertPayload:
    body = row.body()
    if not isinstance(body, AlertPayload):
        raise ValueError(f"outbox row {row.id} is a {row.kind}, not an alert")
    return body
