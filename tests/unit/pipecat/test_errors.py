"""HTTP status → typed error, on the recorded error bodies; and the retry policy's arithmetic."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.pipecat import retry
from bot.pipecat.client import _error_detail
from bot.pipecat.client import _raise_for_response as _raise_for_response_at
from bot.pipecat.errors import (
    BadRequest,
    NotFound,
    PipecatError,
    RateLimited,
    ServerError,
    Unauthorized,
)
from tests.fixtures_pipecat import load_pipecat_fixture

NOW = datetime(2026, 10, 21, 7, 27, 30, tzinfo=UTC)


class _Fixed:
    def now(self) -> datetime:
        return NOW


def _raise_for_response(response: httpx.Response) -> None:
    _raise_for_response_at(response, _Fixed())


ZOD_MESSAGE = "Invalid enum value. Expected 'active' | 'ended' | 'all', received 'failed'"


def _response(status: int, fixture: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if fixture is None:
        return httpx.Response(status, text="<html>Bad gateway</html>", headers=headers)
    return httpx.Response(status, json=load_pipecat_fixture(fixture), headers=headers)


@pytest.mark.parametrize(
    ("fixture", "status", "error", "detail"),
    [
        ("error-404.json", 404, NotFound, "Session not found"),
        ("error-401.json", 401, Unauthorized, "Unauthorized / token expired"),
        ("error-401.json", 403, Unauthorized, "Unauthorized / token expired"),
        ("error-400-zod.json", 400, BadRequest, f"Invalid parameters: {ZOD_MESSAGE}"),
        ("error-429.json", 429, RateLimited, "Rate limit exceeded. Please try again later"),
        ("error-500.json", 500, ServerError, load_pipecat_fixture("error-500.json")["error"]),
        ("error-500.json", 502, ServerError, load_pipecat_fixture("error-500.json")["error"]),
        ("error-500.json", 503, ServerError, load_pipecat_fixture("error-500.json")["error"]),
        (None, 502, ServerError, ""),  # a proxy's HTML page: no detail, still a server error
        ("error-404.json", 422, BadRequest, "Session not found"),  # other 4xx: the request was wrong
    ],
)
def test_status_maps_to_typed_error(fixture: str | None, status: int, error: type[PipecatError], detail: str) -> None:
    response = _response(status, fixture)
    with pytest.raises(error) as raised:
        _raise_for_response(response)
    assert type(raised.value) is error
    assert raised.value.detail == detail == _error_detail(response)
    assert raised.value.status == status


@pytest.mark.parametrize("status", [200, 201, 204, 302])
def test_success_and_redirect_statuses_do_not_raise(status: int) -> None:
    _raise_for_response(httpx.Response(status, json={}))


def test_zod_bad_request_tells_the_user_what_was_wrong() -> None:
    with pytest.raises(BadRequest) as raised:
        _raise_for_response(_response(400, "error-400-zod.json"))
    assert ZOD_MESSAGE in raised.value.user_message


@pytest.mark.parametrize(
    ("header", "expected"),
    [("1.5", 1.5), ("120", 120.0), (None, None), ("Wed, 21 Oct 2026 07:28:00 GMT", 30.0)],
)
def test_rate_limited_carries_retry_after(header: str | None, expected: float | None) -> None:
    headers = {"Retry-After": header} if header is not None else None
    with pytest.raises(RateLimited) as raised:
        _raise_for_response(_response(429, "error-429.json", headers))
    assert raised.value.retry_after == expected
    assert raised.value.status == 429


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (Unauthorized(), ["PIPECAT_API_KEY"]),
        (NotFound(), ["check"]),
        (RateLimited(), ["try again"]),
        (ServerError(), ["try again"]),
        (BadRequest(), ["rejected"]),
    ],
)
def test_user_messages_say_what_to_do(error: PipecatError, words: list[str]) -> None:
    for word in words:
        assert word in error.user_message


def test_user_message_does_not_leak_raw_detail_for_auth_errors() -> None:
    with pytest.raises(Unauthorized) as raised:
        _raise_for_response(httpx.Response(401, json={"error": "token sk_live_123 expired"}))
    assert "sk_live_123" not in raised.value.user_message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([1, 2], ""),
        ({"message": "only message"}, "only message"),
        ({"err": {"issues": [{"message": "a"}, {"message": "b"}, "junk"]}}, "a; b"),
        ({"error": "x" * 2000}, "x" * 500),  # capped
    ],
)
def test_error_detail_edge_shapes(body: object, expected: str) -> None:
    assert _error_detail(httpx.Response(400, json=body)) == expected


@given(attempt=st.integers(min_value=1, max_value=40), seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_the_capped_exponential_ceiling(attempt: int, seed: int) -> None:
    ceiling = min(retry.BACKOFF_CAP_SECONDS, retry.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    assert 0 <= retry.backoff_seconds(attempt, random.Random(seed)) <= ceiling


def test_backoff_is_jittered_across_its_whole_range() -> None:
    rng = random.Random(1)
    samples = [retry.backoff_seconds(3, rng) for _ in range(500)]
    ceiling = retry.BACKOFF_BASE_SECONDS * 4
    assert min(samples) < ceiling * 0.1
    assert max(samples) > ceiling * 0.9
    assert max(retry.backoff_seconds(30, rng) for _ in range(500)) <= retry.BACKOFF_CAP_SECONDS
