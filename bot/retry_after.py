"""The one reading of an HTTP `Retry-After` header, shared by the Pipecat client and the Slack outbox.

RFC 9110 §10.2.3 allows two forms: delta-seconds (`120`) and an HTTP-date
(`Wed, 21 Oct 2026 07:28:00 GMT`). Both callers want "how many seconds from now"; what they do
when the header is missing or unreadable (surface it, or fall back to a default) and how long
they are willing to wait is theirs to decide, so this returns None for "no usable value".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: object, *, now: datetime) -> float | None:
    """Seconds to wait, measured from `now` for the HTTP-date form; a date already past is 0.

    None when the header is absent, blank, negative, not a number and not a date.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_date(text, now)
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until_date(text: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return max((when - reference).total_seconds(), 0.0)
