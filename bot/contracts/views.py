"""Read models the store fills and the Block Kit builders render: defined once, below both
(blocks/ may not import store/), so neither copies the other's shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HomeWatch:
    """One watch as the Home tab lists it."""

    channel_id: str
    agent: str
    statuses: frozenset[str]
    group: str | None
    muted_until: datetime | None
    broken_reason: str | None
    last_alert_at: datetime | None
    undelivered: int
    page: bool = False


@dataclass(frozen=True)
class AgentPoll:
    """Polling as the App Home and the metrics see it, for one watched agent."""

    agent: str
    #: The last poll that reached Pipecat (any replica): the watermark, which only a successful
    #: poll advances (to its start) and a new watch seeds with the time of its first request.
    last_success_at: datetime | None
    failures: int
    last_error: str | None
