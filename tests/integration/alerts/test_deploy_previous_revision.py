"""What changed names the right deployments (bot/explain/deploys.py).

A bad deploy on an agent whose previous deployment the app never saw a session of (it started
watching after that deployment's sessions, or was restarted with a fresh database) is compared
side by side with that previous deployment: the agent's status names it in `previousRevision`,
Draining after the rollout, and `Explainer.note_status` records it as what the new deployment
replaced (`replaced_pair`, the deployments table's `replaced_deployment_id`), so `previous_of`
finds it and the rates of both are read. The agent's first deployment is never called a change,
however recently it went live."""

from __future__ import annotations

import json

from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
OLD = "19db578d-808c-420a-a047-87edde4410c1"
NEW = "7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01"


async def test_rates_compare_with_the_previous_revision_the_status_names(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=60)
    rig.sim.deploy(AGENT, deployment_id=OLD)
    rig.clock.advance(3600)
    for i in range(40):  # OLD served 40 sessions in the last hour, 1 failed: before anyone watched
        rig.sim.add_session(AGENT, "HTTP_ERROR" if i == 0 else "HTTP_COMPLETED", deployment_id=OLD)
    rig.clock.advance(20 * 60)
    rig.sim.deploy(AGENT, deployment_id=NEW)
    rig.clock.advance(60)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    await rig.jobs.status_cycle()  # the status names NEW (current, Active) and OLD (previousRevision)
    status = await rig.svc._pipecat.get_agent(AGENT)
    assert status.previous_revision is not None and status.previous_revision.deployment_id == OLD
    for _ in range(2):
        rig.sim.add_session(AGENT, "HTTP_COMPLETED", deployment_id=NEW)
    for _ in range(6):
        rig.sim.add_session(AGENT, "HTTP_ERROR", deployment_id=NEW)
    await rig.cycle()
    await rig.cycle()
    card = json.dumps(rig.top()[-1].blocks, ensure_ascii=False)
    rate_calls = {r.query.get("deploymentId") for r in rig.sim.requests if "deploymentId" in r.query}
    known = [d.deployment_id[:8] for d in await rig.store.deployments_of(AGENT)]
    print(
        "deployments known:",
        known,
        "| rate reads:",
        rate_calls,
        "| previousRevision phase:",
        status.previous_revision.phase,
    )
    assert "Started" in card and "7c1e2f90" in card  # the deploy is named as the change
    assert OLD in rate_calls, "no failure rate read for the previous deployment"
    assert "`19db578d`" in card


async def test_the_agents_first_deployment_is_not_called_a_change(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=60)
    first = rig.sim.serving_deployment(AGENT)  # live since the agent was created, a minute ago
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    await rig.jobs.status_cycle()  # the status dates it, and names no previous revision
    for _ in range(4):
        rig.sim.add_session(AGENT, "HTTP_ERROR", deployment_id=first)
    await rig.cycle()
    card = json.dumps(rig.top()[-1].blocks, ensure_ascii=False)
    assert f"Failing on deployment `{first[:8]}`" in card
    assert "Started" not in card and "went live" not in card
    assert not [r for r in rig.sim.requests if "deploymentId" in r.query]  # nothing to compare with


async def test_failures_that_outlive_a_new_deploy_say_so(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=60)
    rig.sim.deploy(AGENT, deployment_id=OLD)
    rig.clock.advance(3600)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    for _ in range(4):
        rig.sim.add_session(AGENT, "HTTP_ERROR", deployment_id=OLD)
    await rig.cycle()
    rig.clock.advance(5 * 60)
    rig.sim.deploy(AGENT, deployment_id=NEW)  # a fix that does not fix it
    await rig.jobs.status_cycle()
    for _ in range(3):
        rig.sim.add_session(AGENT, "HTTP_ERROR", deployment_id=NEW)
    await rig.cycle()
    card = json.dumps(rig.top()[-1].blocks, ensure_ascii=False)
    assert "Failures continue on the newer deployment `7c1e2f90`" in card
    assert "Started" not in card  # the incident began before NEW went live: NEW is not its cause
