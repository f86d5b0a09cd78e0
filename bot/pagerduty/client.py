"""A small typed async client for the Events API v2 `enqueue` endpoint.

One shared httpx.AsyncClient (built in bot/app.py) with explicit timeouts; the routing key is
added to the body here, at send time, so it is never stored with an event, logged or shown. Each
event goes to the routing key of its alert (the key that opened it, bot/store/pager.py), so a
changed PAGERDUTY_ROUTING_KEY still resolves the alerts the old one opened; `routing_key` is the
key new alerts open with. The caller's fence (its outbox claim) is checked last, right before the
request, so a paused worker whose claim passed to another sends nothing.
No retries inside: the outbox decides (429/5xx/connection errors back off, 400 is permanent).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from bot.pagerduty.errors import Fenced, PagerDutyError, RateLimited, Rejected, ServerError, Unreachable
from bot.retry_after import retry_after_seconds

#: PagerDuty answers an enqueue in well under a second; a slower answer is treated as lost and
#: resent (harmless: the same dedup_key updates the same alert).
PAGERDUTY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
PAGERDUTY_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)
#: The most of an unexpected answer body kept in an error (for logs and /session watches).
MAX_ERROR_BODY = 300
MASK = "[routing key]"
#: Checked right before the request: True while the event is still ours to send.
Fence = Callable[[], Awaitable[bool]]


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

    @property
    def routing_key(self) -> SecretStr:
        """PAGERDUTY_ROUTING_KEY: the integration new alerts open with."""
        return self._key

    async def send(self, event: Mapping[str, Any], *, routing_key: SecretStr, fence: Fence) -> Accepted:
        """POST one event (trigger, acknowledge or resolve) to `routing_key`'s integration, if
        `fence` still says it is ours. Raises a PagerDutyError, or Fenced (nothing sent)."""
        body = {**event, "routing_key": routing_key.get_secret_value()}
        if not await fence():
            raise Fenced()
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.TimeoutException as error:
            raise Unreachable(f"timed out ({type(error).__name__})") from error
        except httpx.TransportError as error:
            raise Unreachable(f"cannot reach PagerDuty ({type(error).__name__})") from error
        return self._answer(response, (routing_key, self._key))

    def _answer(self, response: httpx.Response, keys: tuple[SecretStr, ...]) -> Accepted:
        data = _json(response)
        if response.status_code == 202:
            return Accepted(str(data.get("dedup_key") or ""), str(data.get("message") or ""))
        if response.status_code == 400:
            errors = data.get("errors")
            listed = tuple(_mask(str(e), keys) for e in errors) if isinstance(errors, list) else ()
            raise Rejected(
                _mask(str(data.get("status") or "invalid event"), keys),
                _mask(str(data.get("message") or ""), keys),
                listed,
            )
        detail = f"HTTP {response.status_code} {_mask(response.text[:MAX_ERROR_BODY], keys)}".strip()
        if response.status_code == 429:
            # PagerDuty documents no Retry-After; honour one if it comes (an HTTP-date is measured
            # against this machine's clock, like the server's own).
            raise RateLimited(detail, retry_after_seconds(response.headers.get("Retry-After"), now=datetime.now(UTC)))
        if response.status_code >= 500:
            raise ServerError(detail, response.status_code)
        # Any other status (a proxy's 403 page, a 404 from a wrong PAGERDUTY_EVENTS_URL) is not an
        # answer from the Events API: treat it as a failure worth retrying, not as a verdict.
        raise ServerError(detail, response.status_code)


def _mask(text: str, keys: tuple[SecretStr, ...]) -> str:
    """PagerDuty may echo a routing key in an error: never keep one (the one sent, or ours)."""
    for key in keys:
        secret = key.get_secret_value()
        if secret:
            text = text.replace(secret, MASK)
    return text


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


__all__ = ["Accepted", "Fence", "Fenced", "PagerDutyClient", "PagerDutyError", "build_http_client"]
