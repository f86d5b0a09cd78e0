"""The simulator's agent status over real HTTP: the fixture shape, deployments over time, health
conditions that switch on and off, and 429 PCC-AGENT-AT-CAPACITY at capacity."""

from __future__ import annotations

import math
from typing import Any

import httpx

from bot.pipecat.client import PipecatClient
from bot.pipecat.models import Agent
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.fixtures_pipecat import load_pipecat_fixture

AGENT = "voice-bot"
TRACEBACK = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'pipecat.services.cartesia'"


async def _raw(url: str, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url + "/", headers={"Authorization": "Bearer sim-key"}) as http:
        return await http.request(method, path)


async def test_agent_status_has_the_fixture_shape(pipecat_sim: PipecatSimulator, pipecat_url: str) -> None:
    body = (await _raw(pipecat_url, "GET", f"agents/{AGENT}")).json()
    expected: dict[str, Any] = load_pipecat_fixture("agent-status-healthy.json")
    assert set(expected) - {"krispViva"} <= set(body)
    assert body["autoScaling"].keys() == {"minReplicas", "maxReplicas"}  # not minAgents/maxAgents
    assert set(expected["currentRevision"]) <= set(body["currentRevision"])
    assert set(expected["currentRevision"]["health"]) <= set(body["currentRevision"]["health"])
    assert body["deployment"]["manifest"]["spec"]["image"]
    listed = (await _raw(pipecat_url, "GET", "agents")).json()["services"][0]
    fixture_item = load_pipecat_fixture("agents-list.json")["services"][0]
    assert set(fixture_item) <= set(listed) and listed["id"]


async def test_a_crash_looping_deploy_restarts_more_as_time_passes_and_old_pods_keep_serving(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient, sim_clock: SimClock
) -> None:
    old = (await pipecat_client.get_agent(AGENT)).desired_deployment_id
    new = pipecat_sim.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK)
    sim_clock.advance(150)
    agent = await pipecat_client.get_agent(AGENT)
    revision = agent.current_revision
    assert agent.desired_deployment_id == agent.reconciled_deployment_id == new
    assert agent.ready is False and agent.available is True
    assert revision is not None and revision.phase == "Failed" and revision.health is not None
    assert revision.health.reason == "CrashLoopBackOff" and revision.health.message == TRACEBACK
    assert revision.health.restart_count == 3  # one at start, one per minute since
    assert agent.previous_revision is not None and agent.previous_revision.deployment_id == old
    assert agent.previous_revision.phase == "Active"
    # New sessions still land on the old deployment.
    session = pipecat_sim.session(AGENT, pipecat_sim.start_session(AGENT))
    assert session.deployment_id == old
    fixed = pipecat_sim.deploy(AGENT)
    agent = await pipecat_client.get_agent(AGENT)
    assert agent.current_revision is not None and agent.current_revision.phase == "Active"
    assert agent.previous_revision is not None and agent.previous_revision.phase == "Draining"
    assert pipecat_sim.session(AGENT, pipecat_sim.start_session(AGENT)).deployment_id == fixed


async def test_a_rollout_shows_desired_not_reconciled_until_it_finishes(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient, sim_clock: SimClock
) -> None:
    before = (await pipecat_client.get_agent(AGENT)).reconciled_deployment_id
    slow = pipecat_sim.deploy(AGENT, rollout_seconds=300)
    agent = await pipecat_client.get_agent(AGENT)
    assert agent.rolling_out and agent.reconciled_deployment_id == before
    assert agent.current_revision is not None and agent.current_revision.phase == "Validating"
    sim_clock.advance(300)
    agent = await pipecat_client.get_agent(AGENT)
    assert not agent.rolling_out and agent.reconciled_deployment_id == slow
    pipecat_sim.deploy(AGENT, rollout_seconds=math.inf)
    sim_clock.advance(3600)
    assert (await pipecat_client.get_agent(AGENT)).rolling_out
    pipecat_sim.finish_rollout(AGENT)
    assert not (await pipecat_client.get_agent(AGENT)).rolling_out


async def test_oom_infrastructure_and_availability_switch_on_and_off(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient
) -> None:
    pipecat_sim.oom_restart(AGENT, 2)
    pipecat_sim.set_infrastructure_issue(AGENT)
    pipecat_sim.set_available(AGENT, False)
    agent = await pipecat_client.get_agent(AGENT)
    health = agent.current_revision.health if agent.current_revision else None
    assert health is not None and (health.last_exit_code, health.reason, health.restart_count) == (137, "OOMKilled", 2)
    assert agent.current_revision is not None and agent.current_revision.has_infrastructure_issue is True
    assert agent.available is False
    pipecat_sim.clear_oom(AGENT)
    pipecat_sim.set_infrastructure_issue(AGENT, False)
    pipecat_sim.set_available(AGENT, True)
    agent = await pipecat_client.get_agent(AGENT)
    health = agent.current_revision.health if agent.current_revision else None
    assert health is not None and health.last_exit_code is None and health.restart_count == 2
    assert agent.current_revision is not None and agent.current_revision.has_infrastructure_issue is None
    assert agent.available is True


async def test_starts_are_refused_with_429_at_capacity(pipecat_sim: PipecatSimulator, pipecat_url: str) -> None:
    pipecat_sim.set_max_replicas(AGENT, 2)
    assert (await _raw(pipecat_url, "POST", f"public/{AGENT}/start")).status_code == 200
    pipecat_sim.start_session(AGENT)
    refused = await _raw(pipecat_url, "POST", f"public/{AGENT}/start")
    assert refused.status_code == 429 and refused.json()["code"] == "PCC-AGENT-AT-CAPACITY"
    status = Agent.model_validate((await _raw(pipecat_url, "GET", f"agents/{AGENT}")).json())
    assert (status.active_session_count, status.max_replicas) == (2, 2)
