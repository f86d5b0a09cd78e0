"""An agent-status read whose body parses but lacks fields (`available`, `currentRevision`: a
trimmed answer from a degraded API) is no recovery: nothing is resolved in Slack or PagerDuty, and
the conditions a complete read shows open once, each paging once.

Mechanism: bot/alerts/health/assess.py `silent_on` says which conditions a status says nothing about
(the fields they are judged on are missing); bot/alerts/health/states.py `step` moves such a
condition neither towards clearing nor towards opening. Only a read that positively shows a
condition gone clears it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.pagerduty.client import PagerDutyClient
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat import routes as pipecat_sim_routes
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
INTERVAL = 120.0


@pytest.fixture
def trimmed_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bool]]:
    real = pipecat_sim_routes.details  # type: ignore[attr-defined]  # imported there from pipecat_sim_agents
    state = {"armed": False}

    def details(agent: Any, now: Any) -> dict[str, Any]:
        body = real(agent, now)
        if state["armed"]:
            state["armed"] = False
            return {k: v for k, v in body.items() if k not in ("currentRevision", "available")}
        return body

    monkeypatch.setattr(pipecat_sim_routes, "details", details)
    yield state


async def test_a_trimmed_status_body_is_not_a_recovery(
    alert_rig: AlertRig,
    pagerduty_client: PagerDutyClient,
    pagerduty_standin: PagerDutyStandIn,
    trimmed_once: dict[str, bool],
) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=INTERVAL, pagerduty=pagerduty_client)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE", page=True)
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    rig.sim.set_available(AGENT, False)
    for trimmed in (False, True, False):
        trimmed_once["armed"] = trimmed
        rig.clock.advance(INTERVAL)
        await rig.jobs.status_cycle()
    recoveries = [m for t in rig.top() for m in rig.replies(t)]
    print(
        "Slack top-level:",
        len(rig.top()),
        "recovery replies:",
        len(recoveries),
        "| PagerDuty:",
        [(a.dedup_key.rsplit(":", 2)[-2][:12], a.status) for a in pagerduty_standin.alerts],
    )
    assert recoveries == [], "a trimmed status read was reported as a recovery"
    assert len(pagerduty_standin.alerts) == 2 and all(a.status == "triggered" for a in pagerduty_standin.alerts)
