"""A health condition that flaps (on at one status read, off at the next, as a crash-looping pod
does between its CrashLoopBackOff wait and its few seconds of `Running`, or `available` flipping)
is alerted once in Slack and paged once, and stays open while it flaps.

Mechanism: bot/alerts/health/states.py `step` holds conditions: one opens once seen on
HEALTH_OPEN_AFTER_READS reads over HEALTH_OPEN_AFTER (sightings need not be consecutive), and an
open one only clears after reads have shown it gone for HEALTH_CLEAR_AFTER (bot/alerts/policy.py);
a read that shows it again meanwhile keeps the same occurrence (the same Slack post, the same
PagerDuty dedup key from bot/contracts/keys.py `condition_dedup_key`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.pagerduty.client import PagerDutyClient
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.agents import status_of
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
INTERVAL = 120.0


def flap_unavailable(rig: AlertRig, on: bool) -> None:
    rig.sim.set_available(AGENT, not on)


def flap_crash(rig: AlertRig, on: bool) -> None:
    status_of(rig.sim.agent(AGENT)).desired.crash = "CrashLoopBackOff" if on else None


@pytest.mark.parametrize("flap", [flap_unavailable, flap_crash], ids=["unavailable", "crash-loop"])
async def test_a_flapping_condition_pages_once(
    alert_rig: AlertRig,
    pagerduty_client: PagerDutyClient,
    pagerduty_standin: PagerDutyStandIn,
    flap: Callable[[AlertRig, bool], None],
) -> None:
    rig = alert_rig
    await rig.new_service(status_interval=INTERVAL, pagerduty=pagerduty_client)
    if flap is flap_crash:
        rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE", page=True)
    for read in range(6):  # 12 minutes: on, off, on, off, on, off
        flap(rig, read % 2 == 0)
        rig.clock.advance(INTERVAL)
        await rig.jobs.status_cycle()
    alerts = [m for m in rig.top() if "health" in str(m.metadata)]
    print(
        "Slack top-level health alerts:",
        len(alerts),
        "| PagerDuty alerts:",
        [(a.severity, a.status, a.dedup_key[-30:]) for a in pagerduty_standin.alerts],
    )
    assert len(pagerduty_standin.alerts) <= 1, "one flapping condition paged the on-call several times"
    assert len(alerts) <= 1
