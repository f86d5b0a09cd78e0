"""The demo's rate scenarios, played as a reader plays them (the page's POST /api/scenario) through
the whole demo stack, on the simulator's clock: the busy agent call-center, its history polled
through by the app at start, then a bad deploy (a rate alert naming the new deployment), its
rollback (the alert resolves), calls that stop (a silence alert) and resume (it clears), each
within about two minutes of the click (sandbox/demo/rates.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from sandbox.demo.rates import BUSY_AGENT, CALLS_PER_MINUTE
from sandbox.demo.stack import BUSY_CHANNEL, DemoStack, run_demo_stack
from sandbox.slack.model import StoredMessage
from tests.demo_time import live_for, seconds_until

#: The silence alert's headline: no calls at all in the window, or far fewer than usual.
SILENCE_HEADLINE = re.compile(rf"{re.escape(BUSY_AGENT)}: (no calls started|only \d+ calls? started)")


@pytest.fixture
async def demo() -> AsyncIterator[DemoStack]:
    async with run_demo_stack(port=0, traffic=False, scheduler=False, busy_history=True) as stack:
        yield stack


@pytest.fixture
async def page(demo: DemoStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=demo.page_url, timeout=10) as client:
        yield client


def rate_alerts(demo: DemoStack) -> list[StoredMessage]:
    """The busy channel's rate alerts (top level; its per-session incident says "sessions failed")."""
    return [
        m
        for m in demo.standin.messages_in(BUSY_CHANNEL)
        if "calls failing (last" in m.text or "calls started" in m.text
    ]


async def play(page: httpx.AsyncClient, name: str) -> str:
    answer = await page.post("/api/scenario", json={"name": name})
    assert answer.status_code == 200, answer.text
    said: str = answer.json()["said"]
    return said


def enabled(state: dict[str, Any]) -> dict[str, bool]:
    return {s["name"]: s["enabled"] for s in state["scenarios"]}


async def test_a_bad_deploy_alerts_on_the_rate_naming_it_and_its_rollback_resolves_the_alert(
    demo: DemoStack, page: httpx.AsyncClient
) -> None:
    await live_for(demo, 60)  # a live minute at the usual 2 %, after the replayed history
    assert rate_alerts(demo) == []  # neither raised a rate alert
    usual = demo.sim.serving_deployment(BUSY_AGENT)

    said = await play(page, "bad-deploy")
    bad = demo.sim.serving_deployment(BUSY_AGENT)
    assert bad != usual and f"Deployed {bad[:8]} to {BUSY_AGENT}" in said
    took = await seconds_until(demo, lambda: bool(rate_alerts(demo)), within=90)
    [alert] = rate_alerts(demo)
    assert alert.text.startswith(f"{BUSY_AGENT}: ") and "of calls failing (last 2 min), usually 2.0%" in alert.text
    detail = str(alert.blocks)
    assert f"`{bad[:8]}" in detail and f"`{usual[:8]}" in detail  # the deployments side by side
    assert "the model `gpt-realtime-mini` does not exist" in detail  # the new deployment's cause
    assert took <= 90

    said = await play(page, "rollback")
    assert demo.sim.serving_deployment(BUSY_AGENT) == usual and f"back to {usual[:8]}" in said
    took = await seconds_until(demo, lambda: "· Resolved after" in rate_alerts(demo)[0].text, within=180)
    [alert] = rate_alerts(demo)  # edited in place, not posted again
    assert alert.text.startswith(f"{BUSY_AGENT}: ") and "of calls failing" in alert.text
    # Beside it only the per-session incident: a call a second is far from the agent's capacity.
    [incident] = [m for m in demo.standin.messages_in(BUSY_CHANNEL) if m is not alert]
    assert f"{BUSY_AGENT}: " in incident.text and "sessions failed since" in incident.text
    [reply] = demo.standin.messages_in(BUSY_CHANNEL, thread_ts=alert.ts)
    assert "Back to usual" in str(reply.blocks)
    assert took <= 180


async def test_calls_that_stop_alert_on_the_silence_and_it_clears_when_they_resume(
    demo: DemoStack, page: httpx.AsyncClient
) -> None:
    await live_for(demo, 60)
    said = await play(page, "stop-calls")
    assert "no call starts" in said
    started = demo.rates.traffic.started
    took = await seconds_until(demo, lambda: bool(rate_alerts(demo)), within=150)
    assert demo.rates.traffic.started == started  # nothing started meanwhile
    [alert] = rate_alerts(demo)
    # Calls that started before the click may still be in the window: "only 4 calls started" is
    # the same alert (far fewer than usual), told as it is.
    assert SILENCE_HEADLINE.match(alert.text), alert.text
    assert re.search(rf"usually ({CALLS_PER_MINUTE - 1}|{CALLS_PER_MINUTE}) a minute\b", alert.text), alert.text
    assert took <= 150

    await play(page, "resume-calls")
    took = await seconds_until(demo, lambda: "· Resolved after" in rate_alerts(demo)[0].text, within=150)
    [alert] = rate_alerts(demo)
    assert SILENCE_HEADLINE.match(alert.text) and "· Resolved after" in alert.text
    assert took <= 150


async def test_the_page_offers_only_the_steps_that_apply_and_refuses_the_others() -> None:
    async with (
        run_demo_stack(port=0, traffic=False, scheduler=False) as demo,
        httpx.AsyncClient(base_url=demo.page_url, timeout=10) as page,
    ):
        state = (await page.get("/api/state")).json()
        assert enabled(state) == {"bad-deploy": True, "rollback": False, "stop-calls": True, "resume-calls": False}
        refused = await page.post("/api/scenario", json={"name": "rollback"})
        assert refused.status_code == 400
        assert refused.json()["error"] == f"nothing to roll back: {BUSY_AGENT} runs its usual deployment"
        unknown = await page.post("/api/scenario", json={"name": "meteor"})
        assert unknown.status_code == 400 and "bad-deploy" in unknown.json()["error"]

        await play(page, "bad-deploy")
        await play(page, "stop-calls")
        state = (await page.get("/api/state")).json()
        assert enabled(state) == {"bad-deploy": False, "rollback": True, "stop-calls": False, "resume-calls": True}
        again = await page.post("/api/scenario", json={"name": "bad-deploy"})
        assert again.status_code == 400 and "roll it back first" in again.json()["error"]


def test_live_traffic_runs_each_call_its_20_seconds_and_a_stop_starts_none() -> None:
    from datetime import UTC, datetime

    from sandbox.pipecat.simulator import PipecatSimulator, SimClock
    from sandbox.pipecat.traffic import SESSION_SECONDS, Traffic

    clock = SimClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    sim = PipecatSimulator(clock=clock)
    sim.add_agent("busy")
    traffic = Traffic(sim, "busy", per_minute=60, fail_share=0.02)
    for _ in range(300):  # five minutes, a tick a second
        clock.advance(1)
        traffic.tick(1)
    sessions = list(sim.agent("busy").sessions.values())
    assert len(sessions) == traffic.started == 300
    running = [s for s in sessions if s.ended_at is None]
    assert traffic.running == len(running) > 0
    assert all((clock.now() - s.created_at).total_seconds() < SESSION_SECONDS for s in running)
    ended = [s for s in sessions if s.ended_at is not None]
    assert {(s.ended_at - s.created_at).total_seconds() for s in ended if s.ended_at} == {SESSION_SECONDS}
    failed = {s.session_id for s in ended if s.completion_status == "HTTP_ERROR"}
    assert traffic.failed in (5, 6) and failed <= set(traffic.failed_ids)  # 2 % of 300 (floating sums)

    traffic.per_minute = 0  # calls stop: none starts, the running ones still end
    for _ in range(30):
        clock.advance(1)
        traffic.tick(1)
    assert traffic.started == 300 and traffic.running == 0
    assert all(s.ended_at is not None for s in sim.agent("busy").sessions.values())


def test_the_replayed_history_is_long_enough_for_call_center_to_count_as_busy() -> None:
    """Its usual failures an hour are known only from USUAL_FAILURES_MIN_HISTORY before the short
    window: a shorter replay would post its background failures one by one."""
    from bot.rates.policy import DEMO_RATE_RULES, USUAL_FAILURES_MIN_HISTORY
    from sandbox.demo.rates import HISTORY

    assert USUAL_FAILURES_MIN_HISTORY + DEMO_RATE_RULES.short + timedelta(minutes=1) <= HISTORY
