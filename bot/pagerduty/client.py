"""A small typed async client for the Events API v2 `enqueue` endpoint.

One shared httpx.AsyncClient (built in bot/app.py) with explicit timeouts; the routing key is
added to the body here, at send time, so it is never stored with an event, logged or shown.
No retries inside: the outbox decides (429/5xx/connection errors back off, 400 is permanent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from bot.pagerduty.errors import PagerDutyError, RateLimited, Rejected, ServerError, Unreachable
from bot.retry_after import retry_after_seconds

#: PagerDuty answers an enqueue in well under a second; a slower answer is treated as lost and
#: resent (harmless: the same dedup_key updates the same alert).
PAGERDUTY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
PAGERDUTY_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)
#: The most of an unexpected answer body kept in an error (for logs and /session watches).
MAX_ERROR_BODY = 300
MASK = "[routing key]"


def build_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=PAGERDUTY_TIMEOUT, limits=PAGERDUTY_LIMITS, follow_redirects=False)


@dataclass(frozen=True)
class Accepted:
    """HTTP 202 `{status: "success", message, dedup_key}`."""

    dedup_key: str
    message: str


class PagerDutyClient:
    def __init__(self, http: httpx.AsyncClient, events_url: str, routing_key: SecretStr) -> None:
        self._http = http
        self._url = events_url
        self._key = routing_key

    async def send(self, event: Mapping[str, Any]) -> Accepted:
        """POST one event (trigger, acknowledge or resolve). Raises a PagerDutyError."""
        body = {**event, "routing_key": self._key.get_secret_value()}
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.TimeoutException as error:
            raise Unreachable(f"timed out ({type(error).__name__})") from error
        except httpx.TransportError as error:
            raise Unreachable(f"cannot reach PagerDuty ({type(error).__name__})") from error
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Accepted:
        data = _json(response)
        if response.status_code == 202:
            return Accepted(str(data.get("dedup_key") or ""), str(data.get("message") or ""))
        if response.status_code == 400:
            errors = data.get("errors")
            listed = tuple(self._mask(str(e)) for e in errors) if isinstance(errors, list) else ()
            raise Rejected(
                self._mask(str(data.get("status") or "invalid event")),
                self._mask(str(data.get("message") or "")),
                listed,
            )
        detail = f"HTTP {response.status_code} {self._mask(response.text[:MAX_ERROR_BODY])}".strip()
        if response.status_code == 429:
            # PagerDuty documents no Retry-After; honour one if it comes (an HTTP-date is measured
            # against this machine's clock, like the server's own).
            raise RateLimited(detail, retry_after_seconds(response.headers.get("Retry-After"), now=datetime.now(UTC)))
        if response.status_code >= 500:
            raise ServerError(detail, response.status_code)
        # Any other status (a proxy's 403 page, a 404 from a wrong PAGERDUTY_EVENTS_URL) is not an
        # answer from the Events API: treat it as a failure worth retrying, not as a verdict.
        raise ServerError(detail, response.status_code)

    def _mask(self, text: str) -> str:
        secret = self._key.get_secret_value()
        return text.replace(secret, MASK) if secret else text


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


__all__ = ["Accepted", "PagerDutyClient", "PagerDutyError", "build_http_client"]
