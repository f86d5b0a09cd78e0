"""Retry and timeout policy for the Pipecat client, as named constants."""

from __future__ import annotations

import random

import httpx

#: Seconds to open a connection / wait for an answer / write / get a pooled connection.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 5.0

#: Connections kept to Pipecat; bounds concurrency across pollers and lookups.
MAX_CONNECTIONS = 20
MAX_KEEPALIVE_CONNECTIONS = 10

#: Attempts for an idempotent request (the first one included).
MAX_ATTEMPTS = 4
#: Full-jitter exponential backoff: sleep uniform(0, min(CAP, BASE * 2**n)).
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0
#: A Retry-After longer than this is not waited for inside one request; the error surfaces.
RETRY_AFTER_CAP_SECONDS = 10.0

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def timeouts() -> httpx.Timeout:
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT)


def limits() -> httpx.Limits:
    return httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS)


def backoff_seconds(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: attempt 1 waits up to BASE, attempt 2 up to 2*BASE, ... capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)))
    return (rng or random).uniform(0, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only); None if absent or odd."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
