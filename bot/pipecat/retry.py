"""Retry and timeout policy for the Pipecat client: named constants and the one tenacity policy."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot.pipecat.errors import RateLimited, ServerError, Unreachable

# The timeouts are defined in timeouts.py (no httpx there, for the one-shot CLI request); re-exported.
from bot.pipecat.timeouts import CONNECT_TIMEOUT as CONNECT_TIMEOUT
from bot.pipecat.timeouts import POOL_TIMEOUT as POOL_TIMEOUT
from bot.pipecat.timeouts import READ_TIMEOUT as READ_TIMEOUT
from bot.pipecat.timeouts import WRITE_TIMEOUT as WRITE_TIMEOUT

#: Connections kept to Pipecat; bounds concurrency across pollers and lookups.
MAX_CONNECTIONS = 20
#: All of them kept alive: a poll cycle uses POLL_CONCURRENCY at once, and a connection closed
#: after each burst is a new TCP (and TLS) handshake in the next.
MAX_KEEPALIVE_CONNECTIONS = MAX_CONNECTIONS

#: Attempts for an idempotent request (the first one included).
MAX_ATTEMPTS = 4
#: Full-jitter exponential backoff: sleep uniform(0, min(CAP, BASE * 2**n)).
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0
#: A Retry-After longer than this is not waited for inside one request; the error surfaces.
RETRY_AFTER_CAP_SECONDS = 10.0

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def timeouts() -> httpx.Timeout:
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT)


def limits() -> httpx.Limits:
    return httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS)


def backoff_seconds(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: attempt 1 waits up to BASE, attempt 2 up to 2*BASE, ... capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)))
    return (rng or random).uniform(0, ceiling)


def retryable(error: BaseException) -> bool:
    """Worth another try inside one request: the answer may differ in a moment. A Retry-After
    beyond RETRY_AFTER_CAP_SECONDS is not waited for: the RateLimited error surfaces instead."""
    if isinstance(error, RateLimited):
        return error.retry_after is None or error.retry_after <= RETRY_AFTER_CAP_SECONDS
    return isinstance(error, ServerError | Unreachable)


def wait_seconds(error: BaseException | None, attempt: int, rng: random.Random | None = None) -> float:
    """The wait before the next try: the server's Retry-After when it gave one, else full jitter."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return error.retry_after
    return backoff_seconds(attempt, rng)


def policy(
    *, idempotent: bool, sleep: Callable[[float], Awaitable[None]], rng: random.Random, after_attempts: int = 0
) -> AsyncRetrying:
    """The client's retry policy: MAX_ATTEMPTS for idempotent methods (one try otherwise), the
    server's Retry-After when it gave one, full-jitter backoff otherwise; the last error re-raised.
    `after_attempts`: tries already made outside it (the client makes its first try bare, so a
    request that succeeds costs no retry machinery); the policy makes the rest."""

    def wait(state: RetryCallState) -> float:
        attempt = state.attempt_number + after_attempts
        return wait_seconds(state.outcome.exception() if state.outcome else None, attempt, rng)

    return AsyncRetrying(
        stop=stop_after_attempt((MAX_ATTEMPTS if idempotent else 1) - after_attempts),
        retry=retry_if_exception(retryable),
        wait=wait,
        sleep=sleep,
        reraise=True,
    )
