"""The one place where Slack Web API failures become delivery outcomes (transitions.Failed).

Every failed call raises one SlackFailure whose `outcome` says whether the request may have
reached Slack, in the words the outbox's state machine decides with (transitions.py):
- RateLimited: it did not (HTTP 429); wait `retry_after` seconds before posting to the channel again.
- NotSent:     it did not (the connection was never made, a proxy's 4xx); try again later.
- MaybeSent:   it may have (read timeout, 5xx, dropped connection after sending); reconcile first.
- Refused:     Slack refused it for good; `channel_level` when nothing will ever post to the channel.
Callers test the outcome (`isinstance(error.outcome, Refused)`), never a subclass: there is none.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError

from bot.alerts import policy
from bot.alerts.delivery.transitions import Failed, MaybeSent, NotSent, RateLimited, Refused
from bot.contracts.slack_errors import CHANNEL_ERRORS, UNCERTAIN_ERRORS, error_code
from bot.retry_after import retry_after_seconds

T = TypeVar("T")


class SlackFailure(Exception):
    """A Slack call failed; `outcome` is what that means for delivery. `detail` is for logs,
    never for users (Slack's error code, or the transport error's name)."""

    def __init__(self, outcome: Failed) -> None:
        self.outcome = outcome
        self.detail = outcome.reason if isinstance(outcome, Refused) else outcome.detail
        super().__init__(self.detail)


async def slack_call(call: Awaitable[T], *, now: datetime | None = None) -> T:
    """Await one slack_sdk call, turning every failure into a SlackFailure.

    `now` (the caller's clock) measures a Retry-After given as an HTTP-date."""
    try:
        return await call
    except SlackApiError as error:
        raise SlackFailure(from_api_error(error, now=now)) from error
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, httpx.ConnectError) as error:
        # The TCP/TLS connection was never established: nothing was sent.
        raise SlackFailure(NotSent(type(error).__name__)) from error
    except (TimeoutError, aiohttp.ClientError, httpx.TransportError) as error:
        # Sent, then the answer was lost (read timeout, reset, disconnect): it may have landed.
        raise SlackFailure(MaybeSent(type(error).__name__)) from error


def from_api_error(error: SlackApiError, *, now: datetime | None = None) -> Failed:
    """What Slack's answer (an HTTP status, an API error code, a Retry-After) says about the call."""
    response = error.response
    status = getattr(response, "status_code", None)
    code = error_code(getattr(response, "data", None))
    if status == 429 or code == "ratelimited":
        headers = getattr(response, "headers", None) or {}
        return RateLimited(parse_retry_after(headers.get("Retry-After"), now=now), code or "HTTP 429")
    if code in CHANNEL_ERRORS:  # the bot cannot post to the channel at all: the watch is broken
        return Refused(code, channel_level=True)
    if (isinstance(status, int) and status >= 500) or code in UNCERTAIN_ERRORS:
        return MaybeSent(f"HTTP {status} {code}".strip())
    if isinstance(status, int) and status != 200:
        # Any other HTTP failure without an API error (a proxy's 4xx page): surely not stored.
        return NotSent(f"HTTP {status} {code}".strip())
    return Refused(code or "unknown_error", channel_level=False)


def parse_retry_after(value: Any, *, now: datetime | None = None) -> float:
    """The outbox's wait after a 429: Slack's Retry-After (seconds or HTTP-date, read by the one
    shared parser), DEFAULT_RETRY_AFTER_SECONDS when unusable, never more than MAX_RETRY_AFTER_SECONDS."""
    seconds = retry_after_seconds(value, now=now or datetime.now(UTC))
    if seconds is None:
        return policy.DEFAULT_RETRY_AFTER_SECONDS
    return min(seconds, policy.MAX_RETRY_AFTER_SECONDS)
