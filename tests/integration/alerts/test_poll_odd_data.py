"""Polling survives odd Pipecat data (issue 10, items 5-6): no single item wedges an agent.

Over real HTTP: simulator → poller → outbox → Slack stand-in, on the simulator's clock.
"""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures_store import ALERT_CHANNEL, AlertRig
from tests.integration.alerts.test_poll_pipeline import reply_session_ids

AGENT = "voice-bot"
NAIVE_ID = "5b1f0c2e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


def naive(rig: AlertRig, seconds_ago: float) -> str:
    """A time with no offset, as `2025-01-01T00:00:00` (Pipecat's times are UTC)."""
    return (rig.clock.now() - timedelta(seconds=seconds_ago)).replace(tzinfo=None).isoformat()


async def test_a_naive_timestamp_alerts_like_any_other_and_does_not_stop_later_alerts(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.clock.advance(30)
    payload = {"sessionId": NAIVE_ID, "createdAt": naive(rig, 20), "endedAt": naive(rig, 5)}
    rig.sim.add_raw_session(AGENT, {**payload, "completionStatus": "HTTP_ERROR"})
    await rig.cycle()
    assert reply_session_ids(rig) == [NAIVE_ID]
    later = rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    assert reply_session_ids(rig) == [NAIVE_ID, later]
    state = await rig.store.poll_state(AGENT)
    assert state is not None and state.failures == 0 and state.watermark == rig.clock.now()


async def test_a_session_id_that_is_not_a_uuid_never_reads_as_an_outage(alert_rig: AlertRig) -> None:
    rig = alert_rig
    odd = {"sessionId": "not-a-uuid", "createdAt": rig.clock.now().isoformat(), "endedAt": None}
    rig.sim.add_raw_session(AGENT, odd)  # running when the watch starts: the seed sees it
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    for _ in range(5):
        await rig.cycle()  # it falls out of the list window, still listed active
    odd["endedAt"] = rig.clock.now().isoformat()  # now it leaves the active list
    failed = rig.sim.add_session(AGENT, "HTTP_ERROR")
    for _ in range(3):
        await rig.cycle()
    assert not any("Cannot reach" in m.text for m in rig.top())
    assert reply_session_ids(rig) == [failed]
    state = await rig.store.poll_state(AGENT)
    assert state is not None and state.failures == 0 and "not-a-uuid" not in state.active_set
    detail_calls = [r for r in rig.sim.requests if "not-a-uuid" in r.path]
    assert detail_calls == []
