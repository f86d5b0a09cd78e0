"""One blocking GET for `python -m bot lookup`, on the standard library's http.client.

A process that makes one request and exits pays for httpx, anyio and an event loop only to
import them (issue 15); this makes the same request with the same contract as PipecatClient:
names and ids checked and encoded by bot.pipecat.validation, the timeouts of
bot.pipecat.timeouts, statuses mapped by bot.pipecat.errors.error_for_status, transport failures
as Timeout / Unreachable and unreadable bodies as UnexpectedResponse(garbled=True), retried by
bot.pipecat.retry's policy (imported only once a try has failed: its module loads httpx).
"""

from __future__ import annotations

import http.client
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.pipecat.errors import (
    PipecatError,
    Timeout,
    UnexpectedResponse,
    Unreachable,
    error_detail,
    error_for_status,
)
from bot.pipecat.timeouts import CONNECT_TIMEOUT, READ_TIMEOUT
from bot.pipecat.validation import session_path
from bot.retry_after import retry_after_seconds


def get_session_payload(
    base_url: str,
    api_key: str,
    agent: str,
    session_id: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Any:
    """The decoded JSON of GET agents/{agent}/sessions/{id}; InvalidInput before any request."""
    return get_json(base_url, api_key, session_path(agent, session_id), sleep=sleep, rng=rng)


def get_json(
    base_url: str,
    api_key: str,
    path: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Any:
    """GET `path` (relative to `base_url`) with the client's retry policy; decoded JSON or None."""
    attempt = 1
    while True:
        try:
            return _once(base_url, api_key, path)
        except PipecatError as error:
            from bot.pipecat import retry

            if attempt >= retry.MAX_ATTEMPTS or not retry.retryable(error):
                raise
            sleep(retry.wait_seconds(error, attempt, rng))
            attempt += 1


def _connection(base_url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unreachable(f"not an http(s) URL: {parts.scheme}")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return cls(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT), parts.path.rstrip("/")


def _once(base_url: str, api_key: str, path: str) -> Any:
    connection, prefix = _connection(base_url)
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(READ_TIMEOUT)  # connecting had CONNECT_TIMEOUT; each read gets this
        connection.request("GET", f"{prefix}/{path}", headers=headers)
        response = connection.getresponse()
        body = response.read()
    except TimeoutError as error:
        raise Timeout(type(error).__name__) from None
    except (OSError, http.client.HTTPException) as error:
        # Refused, reset, DNS, TLS, a cut-off answer: as httpx's TransportError, no answer to read.
        raise Unreachable(type(error).__name__) from None
    finally:
        connection.close()
    _raise_for_status(response, body)
    return _decode(response.status, body)


def _raise_for_status(response: http.client.HTTPResponse, body: bytes) -> None:
    status = response.status
    if status < 400:
        return
    waited = None
    if status == 429:
        waited = retry_after_seconds(response.getheader("Retry-After"), now=datetime.now(UTC))
    try:
        detail = error_detail(json.loads(body)) if body else ""
    except ValueError:
        detail = ""
    error = error_for_status(status, detail, retry_after=waited)
    if error is not None:
        raise error


def _decode(status: int, body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise UnexpectedResponse("response body is not valid JSON", status=status, garbled=True) from None
