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
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Options(NamedTuple):
    """What tests change: the waits (recorded, not slept), the jitter, the clock a Retry-After
    date is measured with, the timeouts (seconds to connect, seconds per read) and the TLS roots
    (bot.config_plain reads them as httpx does; neither: certifi's bundle). A NamedTuple,
    not a dataclass: `dataclasses` would import `inspect`, a tenth of this path's imports."""

    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None
    now: Callable[[], datetime] = _utc_now
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    ca_file: str | None = None
    ca_dir: str | None = None


DEFAULT = Options()


def get_session_payload(base_url: str, api_key: str, agent: str, session_id: str, options: Options = DEFAULT) -> Any:
    """The decoded JSON of GET agents/{agent}/sessions/{id}; InvalidInput before any request."""
    return get_json(base_url, api_key, session_path(agent, session_id), options)


def get_json(base_url: str, api_key: str, path: str, options: Options = DEFAULT) -> Any:
    """GET `path` (relative to `base_url`) with the client's retry policy; decoded JSON or None."""
    attempt = 1
    while True:
        try:
            return _once(base_url, api_key, path, options)
        except PipecatError as error:
            from bot.pipecat import retry

            if attempt >= retry.MAX_ATTEMPTS or not retry.retryable(error):
                raise
            options.sleep(retry.wait_seconds(error, attempt, options.rng))
            attempt += 1


def _connection(base_url: str, options: Options) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unreachable(f"not an http(s) URL: {parts.scheme}")
    host, port, timeout, prefix = parts.hostname, parts.port, options.connect_timeout, parts.path.rstrip("/")
    if parts.scheme == "http":
        return http.client.HTTPConnection(host, port, timeout=timeout), prefix
    context = _tls(options.ca_file, options.ca_dir)
    return http.client.HTTPSConnection(host, port, timeout=timeout, context=context), prefix


def _tls(ca_file: str | None, ca_dir: str | None) -> ssl.SSLContext:
    """Verifying with the roots httpx would use (its create_ssl_context), so both trust the same CAs."""
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    if ca_dir:
        return ssl.create_default_context(capath=ca_dir)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _once(base_url: str, api_key: str, path: str, options: Options) -> Any:
    connection, prefix = _connection(base_url, options)
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(options.read_timeout)  # connecting had its own bound; each read gets this
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
    body = _decoded_body(response, body)
    _raise_for_status(response, body, options.now)
    return _decode(response.status, body)


def _decoded_body(response: http.client.HTTPResponse, body: bytes) -> bytes:
    """Undo a Content-Encoding (none was asked for, but a proxy may add one), as httpx would;
    one that cannot be undone is a garbled answer, like httpx's DecodingError."""
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity" or not body:
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise UnexpectedResponse(f"DecodingError: Content-Encoding {encoding}", garbled=True)
    import zlib

    try:
        if encoding == "deflate" and body[:1] != b"x":
            return zlib.decompress(body, -15)  # a raw deflate stream, as some servers send
        return zlib.decompress(body, 47)  # 32 + 15: a gzip or a zlib header, whichever it has
    except zlib.error:
        raise UnexpectedResponse("DecodingError", garbled=True) from None


def _raise_for_status(response: http.client.HTTPResponse, body: bytes, now: Callable[[], datetime]) -> None:
    status = response.status
    if status < 400:
        return
    waited = None
    if status == 429:
        waited = retry_after_seconds(response.getheader("Retry-After"), now=now())
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
