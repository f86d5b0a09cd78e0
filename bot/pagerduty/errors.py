"""The one place where PagerDuty answers become typed errors (raised by bot/pagerduty/client.py).

- Rejected:    HTTP 400, PagerDuty refused the event for good (its `errors` say why); never retried.
- RateLimited: HTTP 429, nothing was ingested; retry after a back-off.
- ServerError: HTTP 5xx (or any other unexpected status); retry with back-off.
- Unreachable: connect error or timeout; retry with back-off.

- Fenced:      the caller's fence said no right before the request: nothing was sent.

Every Retryable is safe to resend: PagerDuty folds events with the same `dedup_key` into one alert.
`detail` never carries the routing key (the client masks it out of anything PagerDuty echoes).
"""

from __future__ import annotations


class PagerDutyError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Rejected(PagerDutyError):
    """400 `{status, message, errors}`: the event is invalid; sending it again cannot help."""

    def __init__(self, status: str, message: str, errors: tuple[str, ...]) -> None:
        parts = [p for p in (message or status, "; ".join(errors)) if p]
        super().__init__(": ".join(parts) or "invalid event")
        self.status = status
        self.message = message
        self.errors = errors


class Retryable(PagerDutyError):
    pass


class RateLimited(Retryable):
    def __init__(self, detail: str, retry_after: float | None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServerError(Retryable):
    def __init__(self, detail: str, status: int) -> None:
        super().__init__(detail)
        self.status = status


class Unreachable(Retryable):
    pass


class Fenced(Exception):
    """The fence (the outbox claim, checked right before the request) said the event is no longer
    ours to send: nothing went to PagerDuty. Whoever holds the claim now sends it."""
