"""`/session agent <agent>` end to end: a signed command, the simulator's status, the card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.app import Runtime
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.fixtures_app import SlackDriver, make_settings
from tests.fixtures_slack import ONCALL_CHANNEL

TRACEBACK = "Traceback (most recent call last):\nRuntimeError: <!channel> boom"


def text_of(body: dict[str, Any]) -> str:
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


async def test_the_card_shows_deployments_revision_health_capacity_and_error_rate(
    pipecat_sim: PipecatSimulator, slack: SlackDriver, runtime: Runtime, sim_clock: SimClock
) -> None:
    for status in ("HTTP_ERROR", "HTTP_COMPLETED", "HTTP_COMPLETED", "HTTP_COMPLETED"):
        pipecat_sim.add_session("voice-bot", status)
    old = pipecat_sim.serving_deployment("voice-bot")
    running = [pipecat_sim.start_session("voice-bot") for _ in range(3)]
    new = pipecat_sim.deploy("voice-bot", crash="CrashLoopBackOff", message=TRACEBACK)
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, "voice-bot", None, None, "U0STEVE")
    await runtime.jobs.health.read_once()
    sim_clock.advance(runtime.jobs.health.interval.total_seconds())
    await runtime.jobs.health.read_once()  # held across two reads: now an open condition
    before = len(pipecat_sim.requests)
    key = await slack.command("agent voice-bot")
    [post] = await slack.responses(key)
    shown = text_of(post.body)
    assert f"`{new[:8]}`" in shown and "*Failed*" in shown and "CrashLoopBackOff" in shown
    assert "restart(s)" in shown and "last exit code 1" in shown
    assert "3 of 10 (30%)" in shown and len(running) == 3
    assert "25.0% (1 of 4)" in shown  # the last hour's ended sessions
    assert "crash-looping" in shown and "Open health conditions" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert post.body["response_type"] == "in_channel"
    calls = [(r.method, r.path) for r in pipecat_sim.requests[before:]]
    assert calls == [("GET", "/v1/agents/voice-bot"), ("GET", "/v1/agents/voice-bot/sessions")]
    assert old != new


async def test_an_unknown_agent_gets_a_clear_answer(slack: SlackDriver) -> None:
    key = await slack.command("agent no-such-bot")
    [post] = await slack.responses(key)
    shown = text_of(post.body)
    assert "No agent named no-such-bot" in shown and "Traceback" not in shown
    assert post.body["response_type"] == "ephemeral"


@pytest.mark.parametrize(("interval", "scheduled"), [(120.0, True), (0.0, False)])
async def test_the_app_schedules_status_reads_on_their_own_interval(
    pipecat_url: str, slack_url: str, tmp_path: Path, interval: float, scheduled: bool
) -> None:
    from bot.alerts.scheduler import STATUS_JOB_ID
    from bot.app import build_runtime

    settings = make_settings(pipecat_url, slack_url, tmp_path, agent_status_interval_seconds=interval)
    runtime = build_runtime(settings)
    runtime.start_scheduler()
    try:
        job = runtime.scheduler.get_job(STATUS_JOB_ID)
        assert (job is not None) is scheduled
        if job is not None:
            assert job.trigger.interval.total_seconds() == interval
        assert runtime.jobs.health.enabled is scheduled
    finally:
        runtime.scheduler.shutdown(wait=False)
        await runtime.pipecat_http.aclose()
        await runtime.store.dispose()
