"""The demo stack without a browser: its page API, its signed requests to the app, its traffic."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.demo.run import serve_demo
from sandbox.demo.stack import ONCALL_CHANNEL, SUPPORT_CHANNEL, DemoStack, run_demo_stack
from sandbox.demo.traffic import HISTORY_SESSIONS, PROFILES, Traffic, pick_outcome
from sandbox.pipecat.simulator import PipecatSimulator, WallClock


@pytest.fixture
async def demo() -> AsyncIterator[DemoStack]:
    async with run_demo_stack(port=0, traffic=False, scheduler=False) as stack:
        yield stack


@pytest.fixture
async def page(demo: DemoStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=demo.page_url, timeout=10) as client:
        yield client


def texts(demo: DemoStack, channel: str, *, ephemeral: bool = False) -> list[str]:
    return [m.text for m in demo.standin.messages_in(channel, include_ephemeral=ephemeral)]


async def test_state_lists_channels_agents_and_the_watch(demo: DemoStack, page: httpx.AsyncClient) -> None:
    answer = await page.get("/api/state")
    assert answer.status_code == 200
    state = answer.json()
    oncall, support, busy = state["channels"]
    assert (oncall["name"], oncall["watching"]) == ("voice-oncall", ["voice-bot"])
    assert (support["name"], support["watching"]) == ("support", [])
    assert (busy["name"], busy["watching"]) == ("call-center", ["call-center"])
    assert "call dropped" in support["messages"][0]["text"]
    agents = {a["name"]: a for a in state["agents"]}
    assert set(agents) == {"voice-bot", "support-bot", "sales-bot", "call-center"}
    assert all(agents[p.name]["sessions"] >= HISTORY_SESSIONS for p in PROFILES)
    again = await page.get("/api/state", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


async def test_page_is_served_with_a_strict_csp(page: httpx.AsyncClient) -> None:
    answer = await page.get("/")
    assert answer.status_code == 200
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    for asset in ("/static/app.js", "/static/blocks.js", "/static/mrkdwn.js", "/static/demo.css"):
        assert (await page.get(asset)).status_code == 200


async def test_command_is_signed_and_answered_like_slack(demo: DemoStack, page: httpx.AsyncClient) -> None:
    sid = demo.sim.add_session("voice-bot", "HTTP_ERROR", duration_seconds=40)
    answer = await page.post("/api/command", json={"channel": ONCALL_CHANNEL, "text": f"/session voice-bot {sid}"})
    assert answer.status_code == 200, answer.text
    assert "Looking up" in answer.json()["ack"]["text"]
    await demo.standin.wait_until(lambda: any(sid in str(m.blocks) for m in demo.standin.messages_in(ONCALL_CHANNEL)))
    ephemeral = [m for m in demo.standin.messages_in(ONCALL_CHANNEL, include_ephemeral=True) if m.ephemeral_for]
    assert ephemeral and "Looking up" in ephemeral[0].text  # the ack, shown only to the user

    summary = next(m for m in demo.standin.messages_in(ONCALL_CHANNEL) if sid in str(m.blocks))
    action = {"type": "button", "action_id": "session_refresh", "value": f"voice-bot:{sid}"}
    body = {"channel": ONCALL_CHANNEL, "ts": summary.ts, "block_id": "session_actions", "action": action}
    clicked = await page.post("/api/action", json=body)
    assert clicked.status_code == 200, clicked.text
    await demo.standin.wait_until(lambda: summary.edited)


async def test_shortcut_and_plain_messages(demo: DemoStack, page: httpx.AsyncClient) -> None:
    said = await page.post("/api/message", json={"channel": SUPPORT_CHANNEL, "text": "sales-bot acting up?"})
    assert said.status_code == 200
    assert texts(demo, SUPPORT_CHANNEL)[-1] == "sales-bot acting up?"
    reported = demo.standin.messages_in(SUPPORT_CHANNEL)[0]
    answer = await page.post("/api/shortcut", json={"channel": SUPPORT_CHANNEL, "ts": reported.ts})
    assert answer.status_code == 200, answer.text
    await demo.standin.wait_until(lambda: bool(demo.standin.messages_in(SUPPORT_CHANNEL, thread_ts=reported.ts)))
    [reply] = demo.standin.messages_in(SUPPORT_CHANNEL, thread_ts=reported.ts)
    assert "support-bot" in str(reply.blocks)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/command", {"channel": ONCALL_CHANNEL, "text": "/deploy now"}, 400),
        ("/api/command", {"channel": "C0NOPE", "text": "/session help"}, 400),
        ("/api/message", {"channel": ONCALL_CHANNEL, "text": "   "}, 400),
        ("/api/action", {"channel": ONCALL_CHANNEL, "ts": "1.2", "action": {"action_id": "x"}}, 400),
        ("/api/action", {"channel": ONCALL_CHANNEL, "ts": "1.2", "action": "click"}, 400),
        ("/api/shortcut", {"channel": ONCALL_CHANNEL}, 400),
    ],
)
async def test_bad_input_is_refused_not_sent(
    page: httpx.AsyncClient, path: str, body: dict[str, object], status: int
) -> None:
    answer = await page.post(path, json=body)
    assert answer.status_code == status
    assert answer.json()["ok"] is False


async def test_posts_must_be_json(page: httpx.AsyncClient) -> None:
    answer = await page.post("/api/message", data={"channel": ONCALL_CHANNEL, "text": "hi"})
    assert answer.status_code == 415


async def test_with_its_scheduler_the_demo_alerts_on_its_own() -> None:
    async with run_demo_stack(port=0, traffic=False, scheduler=True) as demo:
        sid = demo.sim.start_session("voice-bot")
        demo.sim.end_session("voice-bot", sid, "HTTP_ERROR")
        # The scheduler's first cycle runs at once, the next one 5 s (the poll interval) later.
        await demo.standin.wait_until(
            lambda: any(sid in str(m.blocks) for m in demo.standin.messages_in(ONCALL_CHANNEL)), within=15
        )


async def test_a_busy_port_is_reported_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert await serve_demo(busy.getsockname()[1]) == 1
    assert "--port" in capsys.readouterr().err


async def test_traffic_starts_sessions_that_end_on_their_own() -> None:
    sim = PipecatSimulator(clock=WallClock())
    for profile in PROFILES:
        sim.add_agent(profile.name)
    traffic = Traffic(sim)
    sid = traffic.start_one(PROFILES[0])
    assert sim.session("voice-bot", sid).active
    await traffic.stop()  # ending tasks are cancelled with the rest
    assert traffic.started == 1


def test_outcomes_are_mostly_completed_with_some_errors_cold_starts_and_long_ones() -> None:
    rng = random.Random(1)
    outcomes = [pick_outcome(PROFILES[0], rng) for _ in range(2000)]
    share = {s: sum(o.status == s for o in outcomes) / len(outcomes) for s in {o.status for o in outcomes}}
    assert share["HTTP_COMPLETED"] > 0.8
    assert 0.05 < share["HTTP_ERROR"] < 0.15
    assert 0.15 < sum(o.cold_start for o in outcomes) / len(outcomes) < 0.35
    assert any(o.duration > 120 for o in outcomes)


def test_wall_clock_follows_real_time_and_can_be_moved() -> None:
    clock = WallClock()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
    clock.advance(60)
    assert timedelta(seconds=59) < clock.now() - datetime.now(UTC) < timedelta(seconds=61)


async def test_the_demo_pages_pagerduty_and_the_page_shows_it(demo: DemoStack, page: httpx.AsyncClient) -> None:
    assert (await page.get("/api/state")).json()["pagerduty"] == []
    demo.sim.add_session("voice-bot", "HTTP_ERROR")
    await demo.runtime.jobs.run_cycle()
    [paged] = (await page.get("/api/state")).json()["pagerduty"]
    assert (paged["status"], paged["severity"]) == ("triggered", "error")
    # The demo's failures carry a TTS error in their logs: the page names it, secrets masked.
    assert paged["summary"].startswith("voice-bot: 1 session failed (HTTP_ERROR) — likely cause: CartesiaTTSService")
    assert "ck_[masked]" in paged["summary"]
    assert paged["links"][0]["href"].startswith(demo.standin.base_url or "")


async def test_the_demo_tells_a_crash_looping_deploy_and_an_agent_at_capacity(demo: DemoStack) -> None:
    alerts = demo.runtime.jobs
    demo.health.bad_deploy()
    await alerts.status_cycle()
    demo.clock.advance(60)  # held a minute before it is alerted (bot/alerts/policy.py HEALTH_OPEN_AFTER)
    await alerts.status_cycle()
    [crash] = demo.standin.messages_in(ONCALL_CHANNEL)[-1:]
    assert "crash-looping" in crash.text and "ModuleNotFoundError" in str(crash.blocks)
    demo.health.fix()
    for _ in range(6):  # cleared once gone for HEALTH_CLEAR_AFTER (5 minutes)
        demo.clock.advance(60)
        await alerts.status_cycle()
    assert demo.standin.messages_in(ONCALL_CHANNEL, thread_ts=crash.ts)[0].text.startswith("Recovered")
    demo.health.squeeze()
    for _ in range(2):
        demo.clock.advance(60)
        await alerts.status_cycle()
    assert "At capacity" in demo.standin.messages_in(ONCALL_CHANNEL)[-1].text
    demo.health.relax()
    assert not demo.sim.at_capacity("voice-bot")
