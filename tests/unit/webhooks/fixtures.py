"""The webhook payload fixtures (tests/fixtures/pipecat/webhooks) as bodies and stored events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.contracts.times import parse_iso
from bot.webhooks.events import StoredEvent, agent_of
from tests.paths import PIPECAT_FIXTURES

WEBHOOKS = PIPECAT_FIXTURES / "webhooks"


def fixture_body(event_type: str) -> bytes:
    return (WEBHOOKS / f"{event_type}.json").read_bytes()


def fixture_names() -> list[str]:
    return sorted(p.stem for p in WEBHOOKS.glob("*.json"))


def stored(
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
    event_id: int = 1,
    webhook_id: str | None = None,
) -> StoredEvent:
    """A stored event: the fixture of `event_type` (its data replaced by `data` when given)."""
    if data is None:
        envelope = json.loads(fixture_body(event_type))
        data = envelope["data"]
        when = at or parse_iso(envelope["created_at"])
    else:
        when = at
    assert when is not None
    return StoredEvent(
        id=event_id,
        webhook_id=webhook_id or f"msg_{event_id}",
        event_type=event_type,
        created_at=when,
        received_at=when,
        org="acme-co",
        agent=agent_of(event_type, data),
        data=data,
    )
