"""The one Retry-After reading, and the two callers that apply their own defaults and caps to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import policy
from bot.alerts.delivery.slack_errors import parse_retry_after
from bot.retry_after import retry_after_seconds

NOW = datetime(2026, 10, 21, 7, 27, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("0", 0.0),
        (None, None),
        ("-1", None),
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        # The HTTP-date form (RFC 9110): measured from now; a date already past means "now".
        ("Wed, 21 Oct 2026 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),
        ("Wed, 21 Oct 2026 07:28:00 -0000", 30.0),
        ("Wednesday, 21-Oct-26 07:28:00 GMT", 30.0),  # RFC 9110: recipients accept the obsolete form too
        ("Wed, 32 Oct 2026 07:28:00 GMT", None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == expected


def test_the_outbox_reads_the_http_date_form_and_keeps_its_default_and_cap() -> None:
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now=NOW) == 30.0
    assert parse_retry_after("7", now=NOW) == 7.0
    assert parse_retry_after("soon", now=NOW) == policy.DEFAULT_RETRY_AFTER_SECONDS
    far = (NOW + timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(far, now=NOW) == policy.MAX_RETRY_AFTER_SECONDS
