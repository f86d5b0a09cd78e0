"""Cheaper mistakes and the cause in lookups, end to end: signed `/session` commands through the
real app against the Pipecat simulator (bot/slack/parsing.py, bot/lookup.py, bot/slack/commands.py,
bot/explain/lookup.py)."""

from __future__ import annotations

import json
from typing import Any

from bot.app import Runtime
from bot.contracts.actions import Action, session_value
from sandbox.pipecat.simulator import PipecatSimulator
from tests.fixtures_app import SlackDriver, load_payload
from tests.fixtures_pipecat import load_pipecat_fixture
from tests.fixtures_slack import ONCALL_CHANNEL

AGENT = "voice-bot"
ERROR_ID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
TTS = "ERROR    | pipecat.services.cartesia.tts:_receive_messages:{line} - CartesiaTTSService#{n} error: quota exceeded"


def text_of(body: dict[str, Any]) -> str:
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


def unescaped(body: dict[str, Any]) -> str:
    return text_of(body).replace("&lt;", "<").replace("&gt;", ">")


async def answer(slack: SlackDriver, text: str) -> dict[str, Any]:
    [post] = await slack.responses(await slack.command(text))
    return post.body


# -- short ids ------------------------------------------------------------------------------------


async def test_the_short_id_the_app_prints_is_looked_up(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    pipecat_sim.add_raw_session(AGENT, load_pipecat_fixture("session-detail-error.json"))
    for _ in range(3):
        pipecat_sim.add_session(AGENT, "HTTP_COMPLETED")
    for text in (f"{AGENT} 0b6f2c1e…", f"{AGENT}/0B6F2C1E", f"{AGENT} 0b6f2c1e..."):
        body = await answer(slack, text)
        shown = text_of(body)
        assert body["response_type"] == "in_channel", shown
        assert ERROR_ID in shown and "HTTP_ERROR" in shown


async def test_a_short_id_alone_resolves_through_the_channels_watches(
    pipecat_sim: PipecatSimulator, slack: SlackDriver, runtime: Runtime
) -> None:
    pipecat_sim.add_raw_session(AGENT, load_pipecat_fixture("session-detail-error.json"))
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, "support-bot", None, None, "U1")
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, "U1")
    shown = text_of(await answer(slack, "0b6f2c1e…"))
    assert ERROR_ID in shown and "HTTP_ERROR" in shown


async def test_an_ambiguous_short_id_names_the_candidates(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    twins = ["3e896c64-0000-4000-8000-000000000001", "3e896c64-0000-4000-8000-000000000002"]
    for sid in twins:
        pipecat_sim.add_session(AGENT, "HTTP_ERROR", session_id=sid)
    body = await answer(slack, f"{AGENT} 3e896c64…")
    shown = text_of(body)
    assert body["response_type"] == "ephemeral"
    assert "matches 2 sessions" in shown and all(f"{AGENT}/{sid}" in shown for sid in twins)


async def test_a_short_id_matching_nothing_says_so(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    pipecat_sim.add_session(AGENT, "HTTP_ERROR", session_id="11111111-0000-4000-8000-000000000001")
    shown = text_of(await answer(slack, f"{AGENT} 3e896c64…"))
    assert f"No recent session of {AGENT} starts with 3e896c64" in shown


# -- agents -----------------------------------------------------------------------------------------


async def test_agents_lists_the_organizations_agents(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    pipecat_sim.add_agent("eu-bot", region="eu-central", ready=False)
    pipecat_sim.start_session(AGENT)
    pipecat_sim.start_session(AGENT)
    body = await answer(slack, "agents")
    shown = text_of(body)
    assert body["response_type"] == "in_channel"
    assert "Agents (3)" in shown
    lines = {
        line.split(" · ")[0].strip("*"): line
        for b in body["blocks"]
        if b["type"] == "section"
        for line in b["text"]["text"].split("\n")
    }
    assert "eu-central" in lines["eu-bot"] and "not ready" in lines["eu-bot"] and "0 active" in lines["eu-bot"]
    assert "us-west" in lines[AGENT] and "🟢 ready" in lines[AGENT] and "2 active" in lines[AGENT]


async def test_an_agent_name_alone_answers_its_card(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    before = len(pipecat_sim.requests)
    body = await answer(slack, AGENT)
    assert body["response_type"] == "in_channel"
    assert ("GET", f"/v1/agents/{AGENT}") in [(r.method, r.path) for r in pipecat_sim.requests[before:]]
    assert AGENT in text_of(body) and "Not found" not in text_of(body)


async def test_an_unknown_agent_is_named_with_the_nearest_names(
    pipecat_sim: PipecatSimulator, slack: SlackDriver
) -> None:
    pipecat_sim.add_raw_session(AGENT, load_pipecat_fixture("session-detail-error.json"))
    for text in (f"voice-bott {ERROR_ID}", "voice-bott", "list voice-bott", "voice-bott 0b6f2c1e…"):
        body = await answer(slack, text)
        shown = text_of(body)
        assert "No agent named voice-bott. Nearest: voice-bot" in shown, (text, shown)
        assert "not found" not in shown.lower() and body["response_type"] == "ephemeral"
    # a known agent without that session is still "session not found"
    shown = text_of(await answer(slack, f"support-bot {ERROR_ID}"))
    assert f"Session {ERROR_ID} was not found for agent support-bot" in shown


# -- usage errors and the list cap --------------------------------------------------------------------


async def test_a_usage_error_is_one_line_with_the_form_and_where_help_is(slack: SlackDriver) -> None:
    await slack.command("stats")
    body = slack.ack_json()
    [block] = body["blocks"]
    line = block["text"]["text"].replace("&lt;", "<").replace("&gt;", ">")
    assert line == "⚠️ Missing the agent: expected `/session stats <agent> [1h|24h|7d]`. · `/session help` for more"
    await slack.command("stat voice-bot")
    assert "did you mean `/session stats <agent> [1h|24h|7d]`?" in unescaped(slack.ack_json())


async def test_a_list_above_25_is_capped_with_a_note(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    pipecat_sim.max_page_size = 100  # one page can hold what was asked
    for _ in range(30):
        pipecat_sim.add_session(AGENT, "HTTP_COMPLETED")
    body = await answer(slack, f"list {AGENT} 40")
    shown = text_of(body)
    assert body["response_type"] == "in_channel"
    assert "Newest 25 sessions" in shown and "You asked for 40; a list shows at most 25." in shown


# -- the cause wherever a failed session shows -----------------------------------------------------------


def log_reads(sim: PipecatSimulator, since: int = 0) -> int:
    return sum(1 for r in sim.requests[since:] if r.path.endswith("/logs"))


async def test_a_failed_sessions_lookup_reads_its_cause_once_and_caches_it(
    pipecat_sim: PipecatSimulator, slack: SlackDriver, runtime: Runtime
) -> None:
    pipecat_sim.set_failure_log(AGENT, [TTS])
    failed = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    fine = pipecat_sim.add_session(AGENT, "HTTP_COMPLETED")

    shown = text_of(await answer(slack, f"{AGENT} {failed}"))
    assert "*Cause* (from this session's log" in shown and "CartesiaTTSService" in shown and "quota exceeded" in shown
    assert log_reads(pipecat_sim) == 1
    cached = await runtime.store.session_causes(AGENT, [failed])
    assert cached[failed].state == "found"  # the same cache the poller reads

    before = len(pipecat_sim.requests)
    assert "quota exceeded" in text_of(await answer(slack, f"{AGENT} {failed}"))
    assert log_reads(pipecat_sim, before) == 0  # the second lookup reads the cache

    assert "Cause" not in text_of(await answer(slack, f"{AGENT} {fine}"))  # a fine session has none
    assert log_reads(pipecat_sim, before) == 0

    listed = await answer(slack, f"list {AGENT} errors")
    [line] = [ln for b in listed["blocks"] if b["type"] == "section" for ln in b["text"]["text"].split("\n")]
    assert failed in line and "cause `CartesiaTTSService error: quota exceeded`" in line


async def test_a_lookup_whose_log_cannot_be_read_says_so_and_caches_nothing(
    pipecat_sim: PipecatSimulator, slack: SlackDriver, runtime: Runtime
) -> None:
    failed = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    pipecat_sim.fail_next(10, status=500, path_contains="/logs")
    body = await answer(slack, f"{AGENT} {failed}")
    shown = text_of(body)
    assert "HTTP_ERROR" in shown and "this session's log could not be read" in shown
    assert await runtime.store.session_causes(AGENT, [failed]) == {}


async def test_details_shows_the_cause(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    pipecat_sim.set_failure_log(AGENT, [TTS])
    failed = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    payload = load_payload("block-actions.json")
    button = {"action_id": Action.INCIDENT_DETAILS, "value": session_value(AGENT, failed)}
    payload["actions"][0] = {**payload["actions"][0], **button}
    payload["container"] = {**payload["container"], "channel_id": ONCALL_CHANNEL}
    await slack.interact(payload)
    [call] = await slack.standin.wait_for_calls("chat.postMessage")
    assert failed in json.dumps(call.args) and "quota exceeded" in json.dumps(call.args)
