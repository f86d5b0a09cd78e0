"""A session's log over real HTTP: the simulator serves loguru lines with tracebacks and the API's
filters; the client reads a session's log oldest first, paged, bounded."""

from __future__ import annotations

import re
from typing import Any

import httpx

from bot.pipecat.client import PipecatClient
from sandbox.pipecat.simulator import PipecatSimulator, SimClock

AGENT = "voice-bot"
LOGURU = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \| [A-Z]+ +\| \S+ - ")
NANOS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")


async def raw_get(url: str, path: str, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url + "/", headers={"Authorization": "Bearer sim-key"}) as http:
        answer = await http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_failed_sessions_log_is_loguru_with_its_traceback(
    pipecat_sim: PipecatSimulator, pipecat_url: str
) -> None:
    sid = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    page = await raw_get(pipecat_url, f"agents/{AGENT}/logs", sessionId=sid, order="asc")
    lines = [entry["log"] for entry in page["logs"]]
    error = next(i for i, line in enumerate(lines) if "| ERROR    |" in line)
    assert LOGURU.match(lines[error]) and lines[error + 1] == "Traceback (most recent call last):"
    assert lines[error + 2].startswith('  File "') and lines[error + 4].startswith("RuntimeError: ")
    assert all(NANOS.match(entry["timestamp"]) for entry in page["logs"])
    assert [e["timestamp"] for e in page["logs"]] == sorted(e["timestamp"] for e in page["logs"])
    newest_first = await raw_get(pipecat_url, f"agents/{AGENT}/logs", sessionId=sid)
    assert [e["log"] for e in newest_first["logs"]] == lines[::-1]  # order defaults to desc


async def test_logs_filter_on_deployment_query_and_time(
    pipecat_sim: PipecatSimulator, pipecat_url: str, sim_clock: SimClock
) -> None:
    old = pipecat_sim.add_session(AGENT, "HTTP_ERROR", deployment_id="dep-old")
    sim_clock.advance(600)
    new = pipecat_sim.add_session(AGENT, "HTTP_COMPLETED", deployment_id="dep-new")
    by_deploy = await raw_get(pipecat_url, f"agents/{AGENT}/logs", deploymentId="dep-new")
    assert by_deploy["logs"] and all(e["deploymentId"] == "dep-new" for e in by_deploy["logs"])
    assert any(new in e["log"] for e in by_deploy["logs"]) and not any(old in e["log"] for e in by_deploy["logs"])
    errors = await raw_get(pipecat_url, f"agents/{AGENT}/logs", query="pipeline error")
    assert errors["total"]["value"] == 1 and old in errors["logs"][0]["log"]
    recent = await raw_get(pipecat_url, f"agents/{AGENT}/logs", startTime=int(sim_clock.now().timestamp()) - 60)
    assert recent["logs"] and not any(old in e["log"] for e in recent["logs"])


async def test_session_lists_take_end_state_and_agents_carry_ids(
    pipecat_sim: PipecatSimulator, pipecat_url: str
) -> None:
    failed = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    pipecat_sim.add_session(AGENT, "HTTP_COMPLETED")
    page = await raw_get(pipecat_url, f"agents/{AGENT}/sessions", endState="AGENT_ERROR,terminated")
    assert [s["sessionId"] for s in page["sessions"]] == [failed] and page["total_count"] == 1
    agents = await raw_get(pipecat_url, "agents")
    assert all(re.fullmatch(r"[0-9a-f-]{36}", a["id"]) for a in agents["services"])


async def test_the_client_reads_a_session_log_oldest_first_paged_and_bounded(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient
) -> None:
    sid = pipecat_sim.add_session(AGENT, "HTTP_COMPLETED")
    for i in range(250):
        pipecat_sim.add_log(AGENT, sid, f"line {i}")
    log = await pipecat_client.session_log(AGENT, sid, max_lines=120, page_size=50)
    assert len(log.lines) == 120 and not log.complete
    assert f"Starting bot for session {sid}" in log.texts[0]  # oldest first
    calls = [r for r in pipecat_sim.requests if r.path.endswith("/logs")]
    assert [(r.query["order"], r.query["offset"], r.query["limit"]) for r in calls] == [
        ("asc", "0", "50"),
        ("asc", "50", "50"),
        ("asc", "100", "20"),
    ]
    short = await pipecat_client.session_log(AGENT, pipecat_sim.add_session(AGENT, "HTTP_ERROR"))
    assert short.complete and any("Traceback" in t for t in short.texts)
