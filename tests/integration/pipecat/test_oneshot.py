"""The terminal lookup's one blocking request (bot.pipecat.oneshot) against the simulator, held to
the async client's contract: for each answer the simulator can give, both end the same way (the
same typed error with the same status, or the same session), after the same number of requests
and the same waits."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.pipecat import retry
from bot.pipecat.errors import InvalidInput, PipecatError, Timeout, Unreachable
from bot.pipecat.models import Session, parse
from bot.pipecat.oneshot import Options, get_session_payload
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.fixtures_pipecat import ClientFactory, load_pipecat_fixture

AGENT = "voice-bot"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

Outcome = tuple[str, Any]


def _outcome(result: Session | PipecatError) -> Outcome:
    if isinstance(result, PipecatError):
        facts = (result.status, getattr(result, "retry_after", None), getattr(result, "garbled", None))
        return type(result).__name__, facts
    return "Session", result.session_id


async def _async_client(factory: ClientFactory, key: str, agent: str, sid: str) -> Session | PipecatError:
    try:
        return await factory(api_key=key).get_session(agent, sid)
    except PipecatError as error:
        return error


async def _oneshot(url: str, key: str, agent: str, sid: str, options: Options) -> Session | PipecatError:
    def call() -> Session:
        return parse(Session, get_session_payload(url, key, agent, sid, options))

    try:
        return await asyncio.to_thread(call)
    except PipecatError as error:
        return error


FAULTS: dict[str, Callable[[PipecatSimulator, SimClock], None]] = {
    "answered": lambda sim, clock: None,
    "server error twice, then the session": lambda sim, clock: sim.fail_next(2),
    "503 until attempts run out": lambda sim, clock: sim.fail_next(retry.MAX_ATTEMPTS, status=503),
    "429 with delta seconds": lambda sim, clock: sim.rate_limit_next(1, retry_after=1.5),
    "429 with an HTTP date": lambda sim, clock: sim.rate_limit_next(1, retry_at=clock.now() + timedelta(seconds=3)),
    "429 beyond the cap": lambda sim, clock: sim.rate_limit_next(1, retry_after=retry.RETRY_AFTER_CAP_SECONDS + 1),
    "429 without Retry-After": lambda sim, clock: sim.rate_limit_next(1),
    "malformed JSON": lambda sim, clock: sim.malformed_next(1),
    "an undecodable body": lambda sim, clock: sim.bad_encoding_next(1),
    "400": lambda sim, clock: sim.fail_next(1, status=400, body=load_pipecat_fixture("error-400-zod.json")),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_same_outcome_requests_and_waits_as_the_async_client(
    fault: str,
    pipecat_sim: PipecatSimulator,
    pipecat_url: str,
    pipecat_client_factory: ClientFactory,
    pipecat_sleeps: list[float],
    sim_clock: SimClock,
) -> None:
    sid = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    FAULTS[fault](pipecat_sim, sim_clock)
    expected = _outcome(await _async_client(pipecat_client_factory, "sim-key", AGENT, sid))
    expected_requests, expected_sleeps = len(pipecat_sim.requests), list(pipecat_sleeps)

    pipecat_sim.clear_faults()
    FAULTS[fault](pipecat_sim, sim_clock)
    sleeps: list[float] = []
    options = Options(sleep=sleeps.append, rng=random.Random(0), now=sim_clock.now)
    got = _outcome(await _oneshot(pipecat_url, "sim-key", AGENT, sid, options))

    assert got == expected
    assert len(pipecat_sim.requests) - expected_requests == expected_requests
    assert sleeps == expected_sleeps


@pytest.mark.parametrize(
    ("key", "sid", "error"),
    [("wrong", None, "Unauthorized"), ("sim-key", UNKNOWN_ID, "NotFound")],
)
async def test_refusals_are_the_same_typed_errors_and_not_retried(
    key: str,
    sid: str | None,
    error: str,
    pipecat_sim: PipecatSimulator,
    pipecat_url: str,
    pipecat_client_factory: ClientFactory,
) -> None:
    session_id = sid or pipecat_sim.add_session(AGENT)
    expected = _outcome(await _async_client(pipecat_client_factory, key, AGENT, session_id))
    got = _outcome(await _oneshot(pipecat_url, key, AGENT, session_id, Options(sleep=lambda _: None)))
    assert got == expected and got[0] == error
    assert len(pipecat_sim.requests) == 2


async def test_names_are_checked_before_any_request_and_the_path_is_the_api_path(
    pipecat_sim: PipecatSimulator, pipecat_url: str
) -> None:
    for agent, sid in (("../..", UNKNOWN_ID), ("voice-bot", "not-a-uuid"), ("a/b", UNKNOWN_ID)):
        with pytest.raises(InvalidInput):
            get_session_payload(pipecat_url, "sim-key", agent, sid)
    assert pipecat_sim.requests == []
    sid = pipecat_sim.add_session(AGENT)
    payload = await asyncio.to_thread(get_session_payload, pipecat_url, "sim-key", AGENT, sid.upper())
    assert payload["sessionId"] == sid  # the id is normalised to lower case, as the client does
    assert [(r.method, r.path) for r in pipecat_sim.requests] == [("GET", f"/v1/agents/{AGENT}/sessions/{sid}")]


async def test_a_hang_times_out_on_every_attempt(pipecat_sim: PipecatSimulator, pipecat_url: str) -> None:
    sid = pipecat_sim.add_session(AGENT)
    pipecat_sim.hang_next(retry.MAX_ATTEMPTS)
    sleeps: list[float] = []
    options = Options(sleep=sleeps.append, rng=random.Random(0), read_timeout=0.3)
    with pytest.raises(Timeout):
        await asyncio.to_thread(get_session_payload, pipecat_url, "sim-key", AGENT, sid, options)
    assert len(pipecat_sim.requests) == retry.MAX_ATTEMPTS and len(sleeps) == retry.MAX_ATTEMPTS - 1


def test_nothing_listening_is_unreachable_after_the_retries() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(Unreachable):
        get_session_payload(f"http://127.0.0.1:{port}/v1", "k", AGENT, UNKNOWN_ID, Options(sleep=sleeps.append))
    assert len(sleeps) == retry.MAX_ATTEMPTS - 1


def test_tls_verifies_certificates_and_host_names_with_httpx_s_default_roots() -> None:
    import ssl

    import certifi

    from bot.pipecat import oneshot

    connection, prefix = oneshot._connection("https://api.pipecat.daily.co/v1/", Options(connect_timeout=1.0))
    context = connection._context  # type: ignore[attr-defined]
    assert prefix == "/v1" and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    reference = ssl.create_default_context(cafile=certifi.where())
    assert len(context.get_ca_certs()) == len(reference.get_ca_certs()) > 0
