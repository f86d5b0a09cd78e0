"""What the Pipecat spec leaves optional is read as absent, never as a broken answer: a session
without `sessionId` or `createdAt`, a sample without `t`, a page without `total_count`, an agent
without `name` (bot/pipecat/models.py, bot/pipecat/plain.py, bot/pipecat/client.py). A bad item is
skipped, never the page."""

from __future__ import annotations

from typing import Any

from bot.blocks.session import session_summary
from bot.pipecat.client import PipecatClient
from bot.terminal import render_session_text
from sandbox.pipecat.simulator import PipecatSimulator
from tests.fixtures_pipecat import load_pipecat_fixture

AGENT = "voice-bot"


def without(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in keys}


async def test_a_session_without_its_id_or_start_is_shown_with_what_it_has(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient
) -> None:
    payload = without(load_pipecat_fixture("session-detail-error.json"), "sessionId", "createdAt")
    pipecat_sim.add_raw_session(AGENT, payload)
    (sid,) = pipecat_sim.agent(AGENT).sessions  # the simulator's id for it, which the answer omits
    session = await pipecat_client.get_session(AGENT, sid)
    assert session.session_id == sid and session.created_at is None and session.failed
    assert session.duration is None and session.ended_at is not None
    summary = str(session_summary(AGENT, session).blocks)
    assert "HTTP_ERROR" in summary and "not reported" in summary
    assert "Created:      not reported" in render_session_text(AGENT, session)


async def test_a_sample_without_its_time_still_counts(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient
) -> None:
    payload = load_pipecat_fixture("session-detail-error.json")
    samples = payload["resourceMetrics"]["timeseries"]
    payload["resourceMetrics"]["timeseries"] = [without(s, "t") for s in samples[:1]] + samples[1:]
    pipecat_sim.add_raw_session(AGENT, payload)
    session = await pipecat_client.get_session(AGENT, payload["sessionId"])
    assert session.resource_metrics is not None and session.resource_metrics.timeseries[0].t is None
    assert session.peak_memory_bytes == 620756992


async def test_a_page_without_total_count_is_walked_until_empty(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient
) -> None:
    ids = [pipecat_sim.add_session(AGENT, "HTTP_ERROR") for _ in range(3)]
    good = load_pipecat_fixture("session-detail-seed.json")
    items = [{"sessionId": sid, "createdAt": good["createdAt"], "endedAt": good["createdAt"]} for sid in ids]
    # Two pages without total_count (one with an item that is no session), then an empty one.
    pipecat_sim.fail_next(1, status=200, body={"sessions": [*items[:2], {"createdAt": 5}]}, path_contains="/sessions")
    pipecat_sim.fail_next(1, status=200, body={"sessions": items[2:]}, path_contains="/sessions")
    pipecat_sim.fail_next(1, status=200, body={"sessions": []}, path_contains="/sessions")
    found = [s.session_id async for s in pipecat_client.iter_sessions(AGENT, page_size=3)]
    assert found == ids


async def test_a_nameless_agent_is_skipped_not_the_agent_list(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient
) -> None:
    listed = load_pipecat_fixture("agents-list.json")
    services = listed["services"]
    body = {**listed, "services": [without(services[0], "name"), "not an agent", *services[1:]]}
    pipecat_sim.fail_next(1, status=200, body=body, path_contains="/v1/agents")
    agents = await pipecat_client.list_agents()
    assert [a.name for a in agents] == [s["name"] for s in services[1:]]
    detail = without(load_pipecat_fixture("agent-status-healthy.json"), "name")
    pipecat_sim.fail_next(1, status=200, body=detail, path_contains="/v1/agents")
    status = await pipecat_client.get_agent(AGENT)  # a status without its name is still a status
    assert status.name is None and status.ready is not None
