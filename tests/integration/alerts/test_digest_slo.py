"""The daily digest shows the SLO budget of an agent with an SLO (the line `/session rates` shows,
same numbers, same words) and none for an agent without one: through the poller's counts, the
digest service, the outbox and the Slack stand-in."""

from __future__ import annotations

from datetime import time, timedelta

from bot.alerts.digest import DigestService
from bot.blocks.rates import slo_budget_text
from tests.fixtures_store import ALERT_CHANNEL, AlertRig
from tests.rate_traffic import Traffic


async def test_the_digest_shows_the_slo_budget_of_an_agent_with_an_slo_only(alert_rig: AlertRig) -> None:
    svc, jobs = alert_rig.svc, alert_rig.jobs
    await svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U1")
    await svc.watch(ALERT_CHANNEL, "support-bot", None, None, "U1")
    await svc.set_slo("voice-bot", 0.99, "28d", "U1")
    digests = DigestService(store=alert_rig.store, pipecat=alert_rig.pipecat, clock=alert_rig.clock)
    at = (alert_rig.clock.now() + timedelta(minutes=20)).replace(second=0, microsecond=0)
    await digests.turn_on(ALERT_CHANNEL, time(at.hour, at.minute), "U1")
    voice = Traffic(alert_rig.sim, "voice-bot", per_minute=30, fail_share=0.005)
    support = Traffic(alert_rig.sim, "support-bot", per_minute=10, fail_share=0.1)
    while alert_rig.clock.now() + timedelta(minutes=1) <= at:
        alert_rig.clock.advance(60)
        voice.minute()
        support.minute()
        await jobs.poll_once()
    alert_rig.clock.set(at)  # the digest's time: its budget is as of now, as /session rates says it

    assert await digests.run_due() == 1
    await jobs.deliver_once()
    [digest] = [m for m in alert_rig.top() if m.text.startswith("Daily digest")]
    sections = [b["text"]["text"] for b in digest.blocks or [] if b["type"] == "section"]
    [voice_bot] = [s for s in sections if s.startswith("*voice-bot*")]
    [support_bot] = [s for s in sections if s.startswith("*support-bot*")]

    shown = (await svc.rates_view("voice-bot")).slo
    assert shown is not None and shown.budget_left is not None and 0 < shown.budget_left < 1
    assert slo_budget_text(shown) in voice_bot.split("\n")
    assert "SLO 99% over 28d: " in voice_bot and "of its error budget left" in voice_bot
    assert "SLO" not in support_bot and "error budget" not in support_bot
