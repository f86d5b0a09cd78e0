"""PipecatClient against the simulator over real loopback HTTP: endpoints, faults, input safety."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.pipecat import retry
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import (
    BadRequest,
    InvalidInput,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
    UnexpectedResponse,
)
from bot.pipecat.models import Session
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.fixtures_pipecat import SIM_START, ClientFactory, load_pipecat_fixture

Sim = PipecatSimulator
Client = PipecatClient
AGENT = "voice-bot"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def _ts(value: datetime) -> int:
    return int(value.timestamp())


async def _raw_get(url: str, path: str, key: str = "sim-key", **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url + "/", headers={"Authorization": f"Bearer {key}"}) as http:
        return await http.get(path, params=params)


def _assert_backoff(delays: list[float]) -> None:
    for attempt, delay in enumerate(delays, start=1):
        assert 0 <= delay <= min(retry.BACKOFF_CAP_SECONDS, retry.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))


# -- endpoints ------------------------------------------------------------------------------------


async def test_get_ended_session(pipecat_sim: Sim, pipecat_client: Client) -> None:
    sid = pipecat_sim.add_session(AGENT, "HTTP_ERROR", duration_seconds=57, cold_start=True, bot_start_seconds=7)
    session = await pipecat_client.get_session(AGENT, sid)
    assert session.session_id == sid
    assert session.completion_status == "HTTP_ERROR" and session.end_state == "agent_error"
    assert session.failed
    assert session.duration == timedelta(seconds=57)
    assert session.created_at == SIM_START - timedelta(seconds=57)
    assert session.cold_start is True and session.bot_start_seconds == 7
    assert [e.event_code for e in session.events] == [
        "SESSION_START_INITIATED",
        "REQUEST_ARRIVED_AT_BOT",
        "SESSION_COMPLETED",
    ]
    metrics = session.resource_metrics
    assert metrics is not None and metrics.sample_count == len(metrics.timeseries) == 12
    assert session.peak_memory_bytes == max(s.m for s in metrics.timeseries if s.m is not None)


async def test_get_active_session_reports_nulls(pipecat_sim: Sim, pipecat_client: Client) -> None:
    sid = pipecat_sim.start_session(AGENT)
    session = await pipecat_client.get_session(AGENT, sid)
    assert session.is_active and session.duration is None and session.peak_memory_bytes is None
    assert session.cold_start is None and session.completion_status is None


@pytest.mark.parametrize(
    ("fixture", "make"),
    [("session-detail-error.json", "ended"), ("session-detail-active.json", "active")],
)
async def test_simulated_detail_has_the_fixture_shape(
    pipecat_sim: Sim, pipecat_url: str, fixture: str, make: str
) -> None:
    ended = make == "ended"
    sid = pipecat_sim.add_session(AGENT, "HTTP_ERROR") if ended else pipecat_sim.start_session(AGENT)
    body = (await _raw_get(pipecat_url, f"agents/{AGENT}/sessions/{sid}")).json()
    expected = load_pipecat_fixture(fixture)
    assert body.keys() == expected.keys()
    if expected["resourceMetrics"]:
        assert body["resourceMetrics"].keys() == expected["resourceMetrics"].keys()
        assert body["createdAt"].endswith(".000Z")


async def test_simulated_list_items_have_the_fixture_shape(pipecat_sim: Sim, pipecat_url: str) -> None:
    pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    body = (await _raw_get(pipecat_url, f"agents/{AGENT}/sessions")).json()
    expected = load_pipecat_fixture("sessions-list-page.json")
    assert body.keys() == expected.keys()
    assert body["sessions"][0].keys() == expected["sessions"][0].keys()


async def test_raw_fixture_is_served_as_is(pipecat_sim: Sim, pipecat_client: Client) -> None:
    payload = load_pipecat_fixture("session-detail-odd.json")
    pipecat_sim.add_raw_session(AGENT, payload)
    session = await pipecat_client.get_session(AGENT, payload["sessionId"])
    assert session == Session.model_validate(payload)
    listed = await pipecat_client.list_sessions(AGENT)
    assert [s.session_id for s in listed.sessions] == [payload["sessionId"]]
    assert listed.sessions[0].resource_metrics is None  # list items never carry metrics


async def test_list_sessions_newest_first_with_limit_offset_and_cap(
    pipecat_sim: Sim, pipecat_client: Client, sim_clock: SimClock
) -> None:
    ids = []
    for _ in range(12):
        ids.append(pipecat_sim.add_session(AGENT))
        sim_clock.advance(60)
    newest_first = ids[::-1]
    page = await pipecat_client.list_sessions(AGENT, limit=3, offset=2)
    assert page.total_count == 12
    assert [s.session_id for s in page.sessions] == newest_first[2:5]
    capped = await pipecat_client.list_sessions(AGENT, limit=100)
    assert [s.session_id for s in capped.sessions] == newest_first[:5]  # max_page_size=5
    pipecat_sim.max_page_size = 100
    default = await pipecat_client.list_sessions(AGENT)
    assert [s.session_id for s in default.sessions] == newest_first[:10]  # documented default limit


async def test_list_sessions_status_filter(pipecat_sim: Sim, pipecat_client: Client) -> None:
    ended = {pipecat_sim.add_session(AGENT), pipecat_sim.add_session(AGENT, "HTTP_ERROR")}
    active = {pipecat_sim.start_session(AGENT)}
    pipecat_sim.add_session("support-bot")  # another agent's session never leaks in
    cases = (("active", active), ("ended", ended), ("all", ended | active), (None, ended | active))
    for status, expected in cases:
        page = await pipecat_client.list_sessions(AGENT, status=status)  # type: ignore[arg-type]
        assert {s.session_id for s in page.sessions} == expected
        assert page.total_count == len(expected)


async def test_list_sessions_time_window_is_inclusive_on_created_at(pipecat_sim: Sim, pipecat_client: Client) -> None:
    t0 = SIM_START
    a, b, c = (pipecat_sim.start_session(AGENT, created_at=t0 + timedelta(seconds=s)) for s in (0, 60, 120))

    async def ids(**kwargs: Any) -> list[str]:
        return [s.session_id for s in (await pipecat_client.list_sessions(AGENT, **kwargs)).sessions]

    assert await ids(start_time=_ts(t0) + 60) == [c, b]
    assert await ids(end_time=_ts(t0) + 60) == [b, a]
    assert await ids(start_time=_ts(t0) + 60, end_time=_ts(t0) + 60) == [b]
    assert await ids(start_time=_ts(t0) + 121) == []


async def test_list_sessions_deployment_and_start_type_filters(pipecat_sim: Sim, pipecat_client: Client) -> None:
    cold = pipecat_sim.add_session(AGENT, cold_start=True, deployment_id="dep-b")
    warm = pipecat_sim.add_session(AGENT, cold_start=False)
    by_dep = await pipecat_client.list_sessions(AGENT, deployment_id="dep-b")
    assert [s.session_id for s in by_dep.sessions] == [cold]
    for start_type, expected in (("cold", cold), ("warm", warm)):
        page = await pipecat_client.list_sessions(AGENT, start_type=start_type)  # type: ignore[arg-type]
        assert [s.session_id for s in page.sessions] == [expected]
    assert (await pipecat_client.list_sessions(AGENT, start_type="all")).total_count == 2


async def test_bad_status_is_a_bad_request_with_the_zod_message(
    pipecat_client: Client, pipecat_url: str, pipecat_sim: Sim
) -> None:
    raw = await _raw_get(pipecat_url, f"agents/{AGENT}/sessions", status="failed")
    assert raw.status_code == 400 and raw.json() == load_pipecat_fixture("error-400-zod.json")
    with pytest.raises(BadRequest) as raised:
        await pipecat_client.list_sessions(AGENT, status="failed")  # type: ignore[arg-type]
    assert "received 'failed'" in raised.value.user_message
    assert len(pipecat_sim.requests) == 2  # a 400 is not retried


@pytest.mark.parametrize("params", [{"limit": "ten"}, {"limit": "1.5"}, {"offset": "-1"}, {"limit": "0"}])
async def test_non_integer_paging_is_refused(pipecat_url: str, params: dict[str, str]) -> None:
    response = await _raw_get(pipecat_url, f"agents/{AGENT}/sessions", **params)
    assert response.status_code == 400
    assert response.json()["err"]["issues"][0]["path"] == list(params)


async def test_all_sessions_walks_every_page_exactly_once(
    pipecat_sim: Sim, pipecat_client: Client, sim_clock: SimClock
) -> None:
    ids = set()
    for i in range(12):
        ids.add(pipecat_sim.add_session(AGENT, "HTTP_ERROR" if i % 3 else "HTTP_COMPLETED"))
        sim_clock.advance(1)
    sessions = await pipecat_client.all_sessions(AGENT)
    assert len(sessions) == 12 and {s.session_id for s in sessions} == ids
    offsets = [r.query.get("offset") for r in pipecat_sim.requests]
    assert offsets == ["0", "5", "10"]
    streamed = [s.session_id async for s in pipecat_client.iter_sessions(AGENT, status="ended", page_size=4)]
    assert sorted(streamed) == sorted(ids)


async def test_list_agents_and_get_agent(pipecat_sim: Sim, pipecat_client: Client) -> None:
    pipecat_sim.add_agent("paused-bot", region="eu-central", ready=False)
    pipecat_sim.start_session(AGENT)
    pipecat_sim.start_session(AGENT)
    pipecat_sim.add_session(AGENT)
    agents = await pipecat_client.list_agents()
    assert [(a.name, a.ready, a.region) for a in agents] == [
        ("voice-bot", True, "us-west"),
        ("support-bot", True, "us-west"),
        ("paused-bot", False, "eu-central"),
    ]
    agent = await pipecat_client.get_agent(AGENT)
    assert agent.active_session_count == 2 and agent.available is True
    assert agent.desired_deployment_id is not None
    assert agent.desired_deployment_id == agents[0].desired_deployment_id == agent.reconciled_deployment_id
    with pytest.raises(NotFound):
        await pipecat_client.get_agent("no-such-bot")


async def test_get_logs(pipecat_sim: Sim, pipecat_client: Client, sim_clock: SimClock) -> None:
    sid = pipecat_sim.add_session(AGENT, "HTTP_ERROR", cold_start=True)
    other = pipecat_sim.add_session(AGENT)
    sim_clock.advance(5)
    pipecat_sim.add_log(AGENT, sid, "custom line")
    page = await pipecat_client.get_logs(AGENT, sid)
    # Start, pipeline, the ERROR line and its 4-line traceback, "Bot finished", and ours.
    assert page.total is not None and page.total.value == len(page.logs) == 9
    assert page.logs[0].log == "custom line"  # newest first by default
    assert any("| ERROR    |" in line.log for line in page.logs)
    assert all(other not in line.log for line in page.logs)
    oldest = await pipecat_client.get_logs(AGENT, sid, limit=1, order="asc")
    assert oldest.total is not None and oldest.total.value == 9
    [first] = oldest.logs
    assert first.log.endswith(f"| INFO     | bot:main:88 - Starting bot for session {sid} (cold start)")


async def test_stop_session(pipecat_sim: Sim, pipecat_client: Client) -> None:
    sid = pipecat_sim.start_session(AGENT)
    await pipecat_client.stop_session(AGENT, sid)
    assert pipecat_sim.requests[-1].method == "DELETE"
    session = await pipecat_client.get_session(AGENT, sid)
    assert not session.is_active
    assert (session.completion_status, session.end_state) == ("HTTP_COMPLETED", "terminated")
    with pytest.raises(NotFound):
        await pipecat_client.stop_session(AGENT, UNKNOWN_ID)


async def test_pcc_cli_alias_routes(pipecat_sim: Sim, pipecat_url: str) -> None:
    sid = pipecat_sim.add_session(AGENT)
    direct = await _raw_get(pipecat_url, f"agents/{AGENT}/sessions/{sid}")
    alias = await _raw_get(pipecat_url, f"organizations/sim-org/services/{AGENT}/sessions/{sid}")
    assert alias.status_code == 200 and alias.json() == direct.json()
    listed = await _raw_get(pipecat_url, f"organizations/sim-org/services/{AGENT}/sessions")
    assert [s["sessionId"] for s in listed.json()["sessions"]] == [sid]
    assert (await _raw_get(pipecat_url, f"organizations/other/services/{AGENT}/sessions")).status_code == 404


# -- errors and faults ----------------------------------------------------------------------------


async def test_not_found_bodies(pipecat_client: Client, pipecat_url: str) -> None:
    with pytest.raises(NotFound):
        await pipecat_client.get_session(AGENT, UNKNOWN_ID)
    raw = await _raw_get(pipecat_url, f"agents/{AGENT}/sessions/{UNKNOWN_ID}")
    assert raw.status_code == 404 and raw.json() == load_pipecat_fixture("error-404.json")
    with pytest.raises(NotFound):
        await pipecat_client.list_sessions("no-such-bot")


async def test_wrong_key_is_unauthorized_and_not_retried(
    pipecat_sim: Sim, pipecat_client_factory: ClientFactory, pipecat_url: str
) -> None:
    with pytest.raises(Unauthorized):
        await pipecat_client_factory(api_key="wrong").list_agents()
    assert len(pipecat_sim.requests) == 1  # refused requests are recorded too
    raw = await _raw_get(pipecat_url, "agents", key="wrong")
    assert raw.status_code == 401 and raw.json() == load_pipecat_fixture("error-401.json")
    async with httpx.AsyncClient() as http:  # no Authorization header at all
        assert (await http.get(f"{pipecat_url}/agents")).status_code == 401


async def test_server_error_twice_then_success(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]
) -> None:
    sid = pipecat_sim.add_session(AGENT)
    pipecat_sim.fail_next(2)
    session = await pipecat_client.get_session(AGENT, sid)
    assert session.session_id == sid
    assert len(pipecat_sim.requests) == 3
    assert len(pipecat_sleeps) == 2
    _assert_backoff(pipecat_sleeps)


async def test_server_error_until_attempts_are_exhausted(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]
) -> None:
    pipecat_sim.fail_next(retry.MAX_ATTEMPTS + 5, status=503)
    with pytest.raises(ServerError) as raised:
        await pipecat_client.list_agents()
    assert raised.value.status == 503
    assert len(pipecat_sim.requests) == retry.MAX_ATTEMPTS
    assert len(pipecat_sleeps) == retry.MAX_ATTEMPTS - 1


async def test_rate_limit_honours_retry_after(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]
) -> None:
    pipecat_sim.rate_limit_next(1, retry_after=1.5)
    assert len(await pipecat_client.list_agents()) == 2
    assert pipecat_sleeps == [1.5]
    assert len(pipecat_sim.requests) == 2


async def test_rate_limit_honours_an_http_date_retry_after(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float], sim_clock: SimClock
) -> None:
    pipecat_sim.rate_limit_next(1, retry_at=sim_clock.now() + timedelta(seconds=3))
    assert len(await pipecat_client.list_agents()) == 2
    assert pipecat_sleeps == [3.0]  # the date, measured on the client's clock
    pipecat_sim.rate_limit_next(1, retry_at=sim_clock.now() + timedelta(minutes=5))
    with pytest.raises(RateLimited) as raised:
        await pipecat_client.list_agents()  # beyond the cap: surfaces, with the wait it asked for
    assert raised.value.retry_after == 300.0
    assert pipecat_sleeps == [3.0]


async def test_an_undecodable_body_is_a_typed_garbled_answer(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]
) -> None:
    pipecat_sim.bad_encoding_next(1)
    with pytest.raises(UnexpectedResponse) as raised:
        await pipecat_client.list_agents()
    assert raised.value.garbled
    assert "DecodingError" in str(raised.value) and pipecat_sleeps == []
    assert len(await pipecat_client.list_agents()) == 2


async def test_a_walk_cut_at_max_pages_says_so(
    pipecat_sim: Sim, pipecat_client_factory: ClientFactory, sim_clock: SimClock
) -> None:
    for _ in range(12):
        pipecat_sim.add_session(AGENT)
        sim_clock.advance(1)
    walk = await pipecat_client_factory(max_pages=2).walk_sessions(AGENT)
    assert (len(walk.sessions), walk.complete) == (10, False)
    walk = await pipecat_client_factory(max_pages=3).walk_sessions(AGENT)
    assert (len(walk.sessions), walk.complete) == (12, True)


async def test_rate_limit_without_retry_after_backs_off(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]
) -> None:
    pipecat_sim.rate_limit_next(1)
    await pipecat_client.list_agents()
    assert len(pipecat_sleeps) == 1
    _assert_backoff(pipecat_sleeps)


async def test_rate_limit_beyond_the_cap_surfaces_without_sleeping(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]
) -> None:
    pipecat_sim.rate_limit_next(1, retry_after=retry.RETRY_AFTER_CAP_SECONDS + 1)
    with pytest.raises(RateLimited) as raised:
        await pipecat_client.list_agents()
    assert raised.value.retry_after == retry.RETRY_AFTER_CAP_SECONDS + 1
    assert pipecat_sleeps == []
    assert len(pipecat_sim.requests) == 1


async def test_malformed_json_is_unexpected_and_not_retried(
    pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]
) -> None:
    pipecat_sim.malformed_next(1)
    with pytest.raises(UnexpectedResponse):
        await pipecat_client.list_sessions(AGENT)
    assert len(pipecat_sim.requests) == 1 and pipecat_sleeps == []


async def test_wrong_typed_json_is_unexpected(pipecat_sim: Sim, pipecat_client: Client) -> None:
    payload = {**load_pipecat_fixture("session-detail-error.json"), "createdAt": "yesterday"}
    pipecat_sim.add_raw_session(AGENT, payload)
    with pytest.raises(UnexpectedResponse):
        await pipecat_client.get_session(AGENT, payload["sessionId"])
    page = await pipecat_client.list_sessions(AGENT)  # in a list, the bad item is skipped, not fatal
    assert (page.sessions, page.skipped, page.total_count) == ([], 1, 1)


async def test_faults_follow_the_path_filter(pipecat_sim: Sim, pipecat_client: Client) -> None:
    pipecat_sim.fail_next(1, status=500, path_contains="/logs")
    await pipecat_client.list_agents()  # not matched: answered normally
    sid = pipecat_sim.add_session(AGENT)
    await pipecat_client.get_logs(AGENT, sid)  # matched once, then retried successfully
    assert [r.path.endswith("/logs") for r in pipecat_sim.requests] == [False, True, True]


async def test_a_hang_times_out_on_every_attempt(
    pipecat_sim: Sim, pipecat_client_factory: ClientFactory, pipecat_sleeps: list[float]
) -> None:
    client = pipecat_client_factory(timeout=httpx.Timeout(0.3, connect=1.0))
    pipecat_sim.hang_next(retry.MAX_ATTEMPTS)
    with pytest.raises(Timeout):
        await client.list_agents()
    assert len(pipecat_sim.requests) == retry.MAX_ATTEMPTS
    assert len(pipecat_sleeps) == retry.MAX_ATTEMPTS - 1
    # The client hung up each time; the simulator notices and parks nothing (server can stop).
    for _ in range(200):
        if not pipecat_sim.hanging:
            break
        await asyncio.sleep(0.005)
    assert pipecat_sim.hanging == 0
    # Every attempt ended by the client giving up on its read timeout: none was answered.
    assert pipecat_sim.abandoned_hangs == retry.MAX_ATTEMPTS


async def test_a_released_hang_answers_normally(pipecat_sim: Sim, pipecat_client: Client) -> None:
    pipecat_sim.hang_next(1)
    pending = asyncio.create_task(pipecat_client.list_agents())
    for _ in range(200):
        if pipecat_sim.hanging:
            break
        await asyncio.sleep(0.005)
    assert pipecat_sim.hanging == 1 and not pending.done()
    pipecat_sim.release_hangs()
    assert len(await asyncio.wait_for(pending, timeout=2)) == 2
    assert len(pipecat_sim.requests) == 1


async def test_latency_beyond_the_read_timeout_times_out(
    pipecat_sim: Sim, pipecat_client_factory: ClientFactory
) -> None:
    pipecat_sim.latency = 0.2
    with pytest.raises(Timeout):
        await pipecat_client_factory(timeout=httpx.Timeout(0.05, connect=1.0)).list_agents()
    pipecat_sim.latency = 0.01
    assert len(await pipecat_client_factory().list_agents()) == 2


async def test_delete_is_not_retried(pipecat_sim: Sim, pipecat_client: Client, pipecat_sleeps: list[float]) -> None:
    sid = pipecat_sim.start_session(AGENT)
    pipecat_sim.fail_next(1)
    with pytest.raises(ServerError):
        await pipecat_client.stop_session(AGENT, sid)
    assert [r.method for r in pipecat_sim.requests] == ["DELETE"]
    assert pipecat_sleeps == []
    assert pipecat_sim.session(AGENT, sid).active


async def test_a_retried_request_is_logged_once(
    pipecat_sim: Sim, pipecat_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.pipecat.client")
    pipecat_sim.fail_next(2)
    await pipecat_client.list_agents()
    assert len([r for r in caplog.records if r.name == "bot.pipecat.client"]) == 1
    caplog.clear()
    pipecat_sim.fail_next(retry.MAX_ATTEMPTS)
    with pytest.raises(ServerError):
        await pipecat_client.list_agents()
    records = [r for r in caplog.records if r.name == "bot.pipecat.client"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING


# -- input safety ---------------------------------------------------------------------------------

BAD_AGENTS = ["..", "a/b", "", "x" * 64, "<!channel>"]
BAD_IDS = ["../../etc", "not-a-uuid"]


@pytest.mark.parametrize("agent", BAD_AGENTS)
async def test_bad_agent_names_never_reach_the_network(pipecat_sim: Sim, pipecat_client: Client, agent: str) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: pipecat_client.get_session(agent, UNKNOWN_ID),
        lambda: pipecat_client.list_sessions(agent),
        lambda: pipecat_client.all_sessions(agent),
        lambda: pipecat_client.get_agent(agent),
        lambda: pipecat_client.get_logs(agent, UNKNOWN_ID),
        lambda: pipecat_client.stop_session(agent, UNKNOWN_ID),
    ]
    for call in calls:
        with pytest.raises(InvalidInput):
            await call()
    assert pipecat_sim.requests == []


@pytest.mark.parametrize("session_id", BAD_IDS)
async def test_bad_session_ids_never_reach_the_network(
    pipecat_sim: Sim, pipecat_client: Client, session_id: str
) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: pipecat_client.get_session(AGENT, session_id),
        lambda: pipecat_client.get_logs(AGENT, session_id),
        lambda: pipecat_client.stop_session(AGENT, session_id),
    ]
    for call in calls:
        with pytest.raises(InvalidInput):
            await call()
    assert pipecat_sim.requests == []


async def test_upper_case_uuids_are_normalised(pipecat_sim: Sim, pipecat_client: Client) -> None:
    sid = pipecat_sim.add_session(AGENT)
    session = await pipecat_client.get_session(AGENT, sid.upper())
    assert session.session_id == sid
    assert pipecat_sim.requests[-1].path == f"/v1/agents/{AGENT}/sessions/{sid}"
    await pipecat_client.get_logs(AGENT, sid.upper())
    assert pipecat_sim.requests[-1].query["sessionId"] == sid


# -- the simulator's own contract -----------------------------------------------------------------


def test_sim_clock() -> None:
    clock = SimClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(90.5)
    assert clock.now() == datetime(2026, 1, 1, 0, 1, 30, 500000, tzinfo=UTC)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2027
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2027, 1, 1))
    default = SimClock().now()
    assert default.tzinfo is not None and default.microsecond == 0


def test_simulator_is_deterministic_per_seed() -> None:
    def build(seed: int) -> tuple[list[str], Any]:
        sim = PipecatSimulator(clock=SimClock(SIM_START), seed=seed)
        sim.add_agent(AGENT)
        ids = [sim.add_session(AGENT, "HTTP_ERROR", duration_seconds=40) for _ in range(3)]
        return ids, sim.session(AGENT, ids[0]).resource_metrics

    assert build(7) == build(7)
    assert build(7)[0] != build(8)[0]


def test_end_session_defaults_and_refusals(pipecat_sim: Sim, sim_clock: SimClock) -> None:
    sid = pipecat_sim.start_session(AGENT)
    sim_clock.advance(12)
    pipecat_sim.end_session(AGENT, sid, "WS_CONNECTION_CLOSED")
    session = pipecat_sim.session(AGENT, sid)
    assert session.end_state is None and session.ended_at == sim_clock.now()
    assert session.cold_start is not None and session.bot_start_seconds is not None
    with pytest.raises(ValueError, match="not an active"):
        pipecat_sim.end_session(AGENT, sid)
    with pytest.raises(ValueError, match="already exists"):
        pipecat_sim.start_session(AGENT, session_id=sid)


async def test_requests_are_recorded_with_the_sim_time(
    pipecat_sim: Sim, pipecat_client: Client, sim_clock: SimClock
) -> None:
    sim_clock.advance(3600)
    await pipecat_client.list_sessions(AGENT, status="ended", limit=2)
    (recorded,) = pipecat_sim.requests
    assert (recorded.method, recorded.path) == ("GET", f"/v1/agents/{AGENT}/sessions")
    assert recorded.query == {"status": "ended", "limit": "2"}
    assert recorded.at == SIM_START + timedelta(hours=1)


async def test_one_malformed_item_does_not_hide_the_rest_of_the_page(pipecat_sim: Sim, pipecat_client: Client) -> None:
    good = [pipecat_sim.add_session("voice-bot", "HTTP_ERROR") for _ in range(6)]
    bad = {"sessionId": "11111111-2222-4333-8444-555555555555", "createdAt": "yesterday"}
    pipecat_sim.add_raw_session("voice-bot", bad)
    seen = [s.session_id for s in await pipecat_client.all_sessions("voice-bot")]
    assert sorted(seen) == sorted(good)
