"""Reading the ISO-8601 times Pipecat Cloud writes ("…Z" or an offset), from raw JSON."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(value: object) -> datetime | None:
    """Best effort for raw payloads (which may hold anything): aware UTC, or None when not a date."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
