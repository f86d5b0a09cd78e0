"""What changed (issue 12 §3): a bad deploy is named, with its failure rate beside the previous one's."""

from __future__ import annotations

import json

from sandbox.slack.model import StoredMessage
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
OLD = "19db578d-808c-420a-a047-87edde4410c1"
NEW = "7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01"


def texts(message: StoredMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


async def test_a_bad_deploy_is_named_with_both_failure_rates(alert_rig: AlertRig) -> None:
    rig = alert_rig
    rig.sim.deploy(AGENT, deployment_id=OLD)  # the agent's status names its deployments: OLD went
    rig.clock.advance(2 * 3600)  # live long before anything here
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.clock.advance(5)
    # The old deployment: 40 sessions in the hour, one failed.
    for i in range(40):
        rig.sim.add_session(AGENT, "HTTP_ERROR" if i == 0 else "HTTP_COMPLETED", deployment_id=OLD)
    await rig.cycle()
    for _ in range(31):  # its incident goes quiet and closes
        await rig.cycle()
    old_incident = rig.top()[-1]
    assert "19db578d" in texts(old_incident) and "Started" not in texts(old_incident)
    # The new deployment goes live: its first sessions are fine, then 6 minutes later they fail.
    rig.sim.deploy(AGENT, deployment_id=NEW)
    for _ in range(2):
        rig.sim.add_session(AGENT, "HTTP_COMPLETED", deployment_id=NEW, duration_seconds=10)
    await rig.cycle(advance=6 * 60)
    for _ in range(6):
        rig.sim.add_session(AGENT, "HTTP_ERROR", deployment_id=NEW, duration_seconds=10)
    await rig.cycle()
    parent = rig.top()[-1]
    card = texts(parent)
    assert parent.ts != old_incident.ts
    assert "*What changed*" in card and "Failing on deployment `7c1e2f90` (6 failed, live since" in card
    assert "Started 6 min after deployment `7c1e2f90` went live" in card
    assert "75% of 8 sessions on `7c1e2f90` · 2.5% of 40 on `19db578d` (last hour)" in card
    rate_calls = [r for r in rig.sim.requests if r.path.endswith("/sessions") and "deploymentId" in r.query]
    assert {r.query["deploymentId"] for r in rate_calls} == {NEW, OLD}
    # The rates are not read again on every cycle while the incident goes on.
    rig.sim.add_session(AGENT, "HTTP_ERROR", deployment_id=NEW)
    await rig.cycle()
    assert len([r for r in rig.sim.requests if "deploymentId" in r.query]) == len(rate_calls)


async def test_the_status_job_dates_the_deployment_and_the_failure_path_reads_no_status(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=60)
    rig.sim.deploy(AGENT, deployment_id=OLD)
    rig.clock.advance(2 * 3600)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    for _ in range(20):
        rig.sim.add_session(AGENT, "HTTP_COMPLETED", deployment_id=OLD)
    await rig.cycle()
    rig.sim.deploy(AGENT, deployment_id=NEW)
    went_live = rig.clock.now()
    rig.clock.advance(9 * 60)
    await rig.jobs.status_cycle()  # the status job's read tells when NEW went live
    status_reads = sum(1 for r in rig.sim.requests if r.path.endswith(f"/agents/{AGENT}"))
    for _ in range(4):
        rig.sim.add_session(AGENT, "HTTP_ERROR", deployment_id=NEW, duration_seconds=10)
    await rig.cycle()
    card = texts(rig.top()[-1])
    assert "Started 9 min after deployment `7c1e2f90` went live" in card
    assert f"live since <!date^{int(went_live.timestamp())}^" in card
    # Dated by the status job: the failure path asked for no status of its own.
    assert sum(1 for r in rig.sim.requests if r.path.endswith(f"/agents/{AGENT}")) == status_reads
