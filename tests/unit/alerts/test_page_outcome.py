"""page_outcome: PagerDuty's answers as the outbox's delivery outcomes, as a table."""

from __future__ import annotations

import pytest

from bot.alerts import policy
from bot.alerts.delivery.transitions import Failed, NotSent, RateLimited, Refused
from bot.alerts.paging.delivery import page_outcome
from bot.pagerduty.errors import PagerDutyError, Rejected, ServerError, Unreachable
from bot.pagerduty.errors import RateLimited as PagerDutyRateLimited

BACKOFF = policy.PAGE_RATE_LIMIT_BACKOFF.total_seconds()


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        # A 400: the event is invalid, sending it again cannot help (the row dies, the watch says why).
        (
            Rejected("invalid event", "Event object is invalid", ("'routing_key' is missing",)),
            Refused("PagerDuty refused the trigger: Event object is invalid: 'routing_key' is missing"),
        ),
        # A 429 waits PagerDuty's Retry-After, or PAGE_RATE_LIMIT_BACKOFF without one.
        (PagerDutyRateLimited("HTTP 429", retry_after=12.0), RateLimited(12.0, "HTTP 429")),
        (PagerDutyRateLimited("HTTP 429", retry_after=None), RateLimited(BACKOFF, "HTTP 429")),
        # A 5xx or no connection: nothing was ingested (resending is safe: PagerDuty dedups), never "maybe".
        (ServerError("HTTP 503", status=503), NotSent("HTTP 503")),
        (Unreachable("ConnectError"), NotSent("ConnectError")),
    ],
)
def test_pagerduty_answers_map_to_delivery_outcomes(error: PagerDutyError, outcome: Failed) -> None:
    assert page_outcome(error, "trigger") == outcome
