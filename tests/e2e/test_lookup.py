"""End to end over real HTTP: signed /session commands, the shortcut and every button.

The app runs in HTTP mode (its Starlette app under uvicorn on loopback) against the Pipecat
simulator and the Slack stand-in; requests are signed as Slack signs them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_app import SlackDriver, load_payload
from tests.fixtures_pipecat import load_pipecat_fixture
from tests.fixtures_slack import INCIDENT_CHANNEL, NOT_MEMBER_CHANNEL, ONCALL_CHANNEL

ERROR_ID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
SEED_ID = "800d444a-e67e-4686-afb3-b0de509cccb3"


def text_of(body: dict[str, Any]) -> str:
    """Everything a reader sees in a message: fallback text and every block, as one string."""
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


@pytest.fixture
def seeded(pipecat_sim: PipecatSimulator) -> PipecatSimulator:
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-error.json"))
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-seed.json"))
    return pipecat_sim


@pytest.mark.parametrize(
    "text",
    [
        f"voice-bot {ERROR_ID}",
        f"voice-bot/{ERROR_ID.upper()}",
        f"<https://pipecat.daily.co/acme/agents/voice-bot/sessions/{ERROR_ID}>",
        f"  VOICE-bot   {ERROR_ID} ".replace("VOICE-bot", "voice-bot"),
    ],
)
async def test_each_lookup_form_posts_the_summary_in_the_channel(
    seeded: PipecatSimulator, slack: SlackDriver, text: str
) -> None:
    key = await slack.command(text)
    assert "Looking up" in slack.ack_json().get("text", "")
    [post] = await slack.responses(key)
    assert post.body["response_type"] == "in_channel"
    shown = text_of(post.body)
    assert "HTTP_ERROR" in shown and "agent_error" in shown
    assert "Peak memory" in shown and "592" in shown  # 620756992 bytes peak from the timeseries
    assert "Cold start" in shown


async def test_private_flag_answers_only_the_user(seeded: PipecatSimulator, slack: SlackDriver) -> None:
    key = await slack.command(f"voice-bot {SEED_ID} -p")
    [post] = await slack.responses(key)
    assert post.body["response_type"] == "ephemeral"
    assert "HTTP_COMPLETED" in text_of(post.body)


async def test_unknown_session_says_which_agent_and_id(seeded: PipecatSimulator, slack: SlackDriver) -> None:
    missing = "11111111-2222-4333-8444-555555555555"
    key = await slack.command(f"voice-bot {missing}")
    [post] = await slack.responses(key)
    shown = text_of(post.body)
    assert post.body["response_type"] == "ephemeral"
    assert missing in shown and "voice-bot" in shown and "not found" in shown.lower()


async def test_bare_id_without_any_agent_to_try_explains_how_to_name_one(
    seeded: PipecatSimulator, slack: SlackDriver
) -> None:
    key = await slack.command(ERROR_ID)
    [post] = await slack.responses(key)
    assert "PIPECAT_DEFAULT_AGENT" in text_of(post.body)


async def test_bare_id_resolves_through_the_channels_watched_agent(
    seeded: PipecatSimulator, slack: SlackDriver, runtime: Any
) -> None:
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, "support-bot", None, None, "U1")
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, "voice-bot", None, None, "U1")
    key = await slack.command(ERROR_ID)
    [post] = await slack.responses(key)
    assert "HTTP_ERROR" in text_of(post.body)


@pytest.mark.parametrize("text", ["", "help"])
async def test_help_gets_usage_in_the_ack(slack: SlackDriver, text: str) -> None:
    await slack.command(text)
    body = slack.ack_json()
    assert body["response_type"] == "ephemeral"
    assert "/session <agent> <session-id>" in text_of(body).replace("&lt;", "<").replace("&gt;", ">")


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("frobnicate the thing", "/session <agent> <session-id>"),
        ("list", "/session list <agent> [errors] [N]"),
        ("mute voice-bot forever", "/session mute <agent> <30m|1h|4h|24h>"),
    ],
)
async def test_unparseable_input_gets_one_line_naming_the_form_in_the_ack(
    slack: SlackDriver, text: str, form: str
) -> None:
    await slack.command(text)
    body = slack.ack_json()
    assert body["response_type"] == "ephemeral"
    [block] = body["blocks"]
    line = block["text"]["text"].replace("&lt;", "<").replace("&gt;", ">")
    assert "\n" not in line and form in line and line.endswith("`/session help` for more")


async def test_ack_arrives_before_a_slow_pipecat_answer(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    seeded.latency = 2.5
    key = await slack.command(f"voice-bot {ERROR_ID}")
    # The command's HTTP answer came back while Pipecat was still "thinking": nothing posted yet.
    assert slack_standin.posts_to_response(key) == []
    [post] = await slack.responses(key)
    assert "HTTP_ERROR" in text_of(post.body)


async def test_pipecat_errors_become_actionable_messages(seeded: PipecatSimulator, slack: SlackDriver) -> None:
    seeded.fail_next(10, status=500)
    key = await slack.command(f"voice-bot {ERROR_ID}")
    [post] = await slack.responses(key)
    shown = text_of(post.body)
    assert "try again" in shown and "Traceback" not in shown


async def test_list_and_stats(seeded: PipecatSimulator, slack: SlackDriver) -> None:
    for status in ("HTTP_COMPLETED", "HTTP_ERROR", "HTTP_COMPLETED"):
        seeded.add_session("voice-bot", status, duration_seconds=40)
    key = await slack.command("list voice-bot errors")
    [post] = await slack.responses(key)
    listed = text_of(post.body)
    assert "HTTP_ERROR" in listed and "HTTP_COMPLETED" not in listed
    key = await slack.command("stats voice-bot 24h")
    [post] = await slack.responses(key)
    assert "HTTP_ERROR" in text_of(post.body)


HOSTILE = ["<!channel>", "<@U123>", "*bold*", "../..", "ünïcødé-✓", "x" * 4000, "<http://evil|click>"]


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda text: f"{text[:16]}…{len(text)}")
async def test_hostile_input_comes_back_escaped_or_refused(
    slack: SlackDriver, hostile: str, pipecat_sim: PipecatSimulator
) -> None:
    for text in (hostile, f"{hostile} {ERROR_ID}", f"voice-bot {hostile}", f"list {hostile}"):
        await slack.command(text)
        shown = text_of(slack.ack_json())
        assert "<!channel>" not in shown and "<@U123>" not in shown and "<http://evil" not in shown
    assert not any(".." in r.path for r in pipecat_sim.requests)


async def test_bad_signature_and_stale_timestamp_are_refused(slack: SlackDriver, slack_standin: SlackStandIn) -> None:
    from sandbox.signing import slash_command_body

    body = slash_command_body("help", response_url=slack_standin.response_url())
    assert (await slack.post(body, secret="wrong")).status_code == 401
    import time

    assert (await slack.post(body, timestamp=int(time.time()) - 360)).status_code == 401
    assert (await slack.post(body)).status_code == 200


def shortcut_payload(**message_overrides: Any) -> dict[str, Any]:
    payload = load_payload("message-shortcut.json")
    payload["message"] = {**payload["message"], **message_overrides}
    return payload


async def test_shortcut_in_a_thread_answers_in_that_thread(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    await slack.interact(shortcut_payload(), channel_id=ONCALL_CHANNEL)
    [call] = await slack_standin.wait_for_calls("chat.postMessage")
    assert call.args["thread_ts"] == "1793368900.000100"
    assert "HTTP_ERROR" in json.dumps(call.args["blocks"])  # the agent came from the org's agent names


async def test_shortcut_outside_a_thread_answers_under_the_message(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    message = {k: v for k, v in shortcut_payload()["message"].items() if k != "thread_ts"}
    payload = {**shortcut_payload(), "message": message}
    await slack.interact(payload, channel_id=ONCALL_CHANNEL)
    [call] = await slack_standin.wait_for_calls("chat.postMessage")
    assert call.args["thread_ts"] == "1793368999.000200"


async def test_shortcut_where_the_bot_is_not_a_member_answers_privately(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    payload = {**shortcut_payload(), "channel": {"id": NOT_MEMBER_CHANNEL, "name": "elsewhere"}}
    key = await slack.interact(payload, channel_id=NOT_MEMBER_CHANNEL)
    [post] = await slack.responses(key)
    assert post.body["response_type"] == "ephemeral" and "HTTP_ERROR" in text_of(post.body)


async def test_shortcut_without_a_session_id_says_what_it_looked_for(slack: SlackDriver) -> None:
    key = await slack.interact(shortcut_payload(text="no ids here", blocks=[]), channel_id=INCIDENT_CHANNEL)
    [post] = await slack.responses(key)
    assert "UUID" in text_of(post.body)


def click(action_id: str, value: str, channel_id: str = ONCALL_CHANNEL) -> dict[str, Any]:
    payload = load_payload("block-actions.json")
    payload["actions"][0] = {**payload["actions"][0], "action_id": action_id, "value": value}
    payload["container"] = {**payload["container"], "channel_id": channel_id}
    return payload


async def test_refresh_edits_the_summary_in_place(seeded: PipecatSimulator, slack: SlackDriver) -> None:
    key = await slack.interact(click("session_refresh", f"voice-bot:{ERROR_ID}"))
    [post] = await slack.responses(key)
    assert post.body["replace_original"] is True and "HTTP_ERROR" in text_of(post.body)


async def test_logs_button_posts_the_last_lines_in_the_thread(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    seeded.add_log("voice-bot", ERROR_ID, "ERROR pipeline crashed <!channel> & more")
    await slack.interact(click("session_logs", f"voice-bot:{ERROR_ID}"))
    [call] = await slack_standin.wait_for_calls("chat.postMessage")
    shown = json.dumps(call.args["blocks"])
    assert "pipeline crashed" in shown and "<!channel>" not in shown
    assert call.args["thread_ts"] == "1793369100.000300"


async def test_chart_button_uploads_a_png_into_the_thread(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    await slack.interact(click("session_chart", f"voice-bot:{ERROR_ID}"))
    [call] = await slack_standin.wait_for_calls("files.completeUploadExternal")
    assert call.args.get("thread_ts") == "1793369100.000300"
    [message] = [m for m in slack_standin.messages_in(ONCALL_CHANNEL, thread_ts="1793369100.000300") if m.files]
    stored = slack_standin.files[message.files[0]["id"]]
    assert stored.content is not None and stored.content.startswith(b"\x89PNG")


async def test_chart_upload_refused_is_explained(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    slack_standin.error_next("files.completeUploadExternal", "not_in_channel")
    key = await slack.interact(click("session_chart", f"voice-bot:{ERROR_ID}"))
    [post] = await slack.responses(key)
    assert "not_in_channel" in text_of(post.body) and "/invite" in text_of(post.body)


async def test_stop_button_stops_an_active_session_and_refreshes(
    pipecat_sim: PipecatSimulator, slack: SlackDriver
) -> None:
    session_id = pipecat_sim.start_session("voice-bot")
    key = await slack.interact(click("session_stop", f"voice-bot:{session_id}"))
    [post] = await slack.responses(key)
    assert any(r.method == "DELETE" for r in pipecat_sim.requests)
    assert "terminated" in text_of(post.body)


async def test_a_tampered_button_value_is_refused_without_calling_pipecat(
    slack: SlackDriver, pipecat_sim: PipecatSimulator
) -> None:
    key = await slack.interact(click("session_refresh", f"../../etc:{ERROR_ID}"))
    [post] = await slack.responses(key)
    assert post.body["response_type"] == "ephemeral" and "out of date" in text_of(post.body)
    assert pipecat_sim.requests == []


def private_click(action_id: str, value: str) -> dict[str, Any]:
    payload = click(action_id, value)
    payload["container"] = {**payload["container"], "is_ephemeral": True}
    return payload


async def test_buttons_on_a_private_summary_answer_privately(
    seeded: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    key = await slack.interact(private_click("session_logs", f"voice-bot:{ERROR_ID}"))
    [post] = await slack.responses(key)
    assert post.body["response_type"] == "ephemeral" and "Logs" in text_of(post.body)
    key = await slack.interact(private_click("session_chart", f"voice-bot:{ERROR_ID}"))
    [post] = await slack.responses(key)
    assert "without `-p`" in text_of(post.body)
    key = await slack.interact(private_click("session_refresh", f"voice-bot:{ERROR_ID}"))
    [post] = await slack.responses(key)
    assert post.body["response_type"] == "ephemeral" and post.body["replace_original"] is True
    assert slack_standin.calls_to("chat.postMessage") == [] and slack_standin.files == {}


async def test_answers_to_response_urls_share_one_kept_alive_connection(
    seeded: PipecatSimulator, slack: SlackDriver
) -> None:
    """One HTTP session for every response_url post (bot/slack/respond.py): a new connection per
    answer was most of what answering cost after the lookup itself."""
    posts = []
    for _ in range(3):
        key = await slack.command(f"voice-bot {SEED_ID}")
        posts += await slack.responses(key)
    assert len(posts) == 3 and all(p.status == 200 for p in posts)
    assert len({p.peer for p in posts}) == 1 and posts[0].peer
