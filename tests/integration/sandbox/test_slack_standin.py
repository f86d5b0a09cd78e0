"""The Slack Web API stand-in, driven over real HTTP by slack_sdk's AsyncWebClient."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from sandbox.pipecat.simulator import SimClock
from sandbox.signing import interactive_body, sign_request, slash_command_body
from sandbox.slack.standin import RESPONSE_URL, SlackStandIn
from tests.fixtures_slack import INCIDENT_CHANNEL, NOT_MEMBER_CHANNEL, ONCALL_CHANNEL
from tests.paths import SLACK_FIXTURES as FIXTURES

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
METADATA = {"event_type": "pipecat_alert", "event_payload": {"dedup_key": "sub1:0b6f2c1e"}}
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*voice-bot* failed"}}


async def _error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# -- basics -------------------------------------------------------------------------------------


async def test_auth_test_and_bad_token(slack_client: AsyncWebClient, slack_url: str) -> None:
    me = await slack_client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == ("UBOT", "B0BOT", "T0001")
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=f"{slack_url}/api/")
    assert (await _error_of(wrong.auth_test())).response["error"] == "invalid_auth"
    missing = AsyncWebClient(base_url=f"{slack_url}/api/")
    assert (await _error_of(missing.auth_test())).response["error"] == "invalid_auth"


async def test_unknown_method(slack_client: AsyncWebClient) -> None:
    error = await _error_of(slack_client.api_call("reactions.nope"))
    assert error.response["error"] == "unknown_method"


async def test_post_message_then_history_with_metadata(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    first = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="one", blocks=[SECTION])
    second = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="two", metadata=METADATA)
    assert float(second["ts"]) > float(first["ts"])
    assert second["message"]["metadata"] == METADATA

    history = await slack_client.conversations_history(channel=ONCALL_CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["two", "one"]  # newest first
    assert "metadata" not in history["messages"][0]
    assert history["messages"][1]["blocks"] == [SECTION]
    with_meta = await slack_client.conversations_history(channel=ONCALL_CHANNEL, include_all_metadata=True)
    assert with_meta["messages"][0]["metadata"] == METADATA

    call = slack_standin.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == [SECTION] and call.status == 200 and call.ok
    assert call.headers["authorization"] == "Bearer xoxb-test-token"
    stored = slack_standin.messages_in(ONCALL_CHANNEL)
    assert [(m.text, m.bot_id, m.metadata) for m in stored] == [
        ("one", "B0BOT", None),
        ("two", "B0BOT", METADATA),
    ]


async def test_form_encoded_json_fields_are_decoded(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    params = {
        "channel": ONCALL_CHANNEL,
        "text": "t",
        "blocks": json.dumps([SECTION]),
        "metadata": json.dumps(METADATA),
    }
    await slack_client.api_call("chat.postMessage", params=params)
    assert slack_standin.calls[-1].args["blocks"] == [SECTION]
    assert slack_standin.messages_in(ONCALL_CHANNEL)[0].metadata == METADATA


async def test_history_pagination_and_window(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    ts = [(await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text=f"m{i}"))["ts"] for i in range(5)]
    page1 = await slack_client.conversations_history(channel=ONCALL_CHANNEL, limit=2)
    assert [m["text"] for m in page1["messages"]] == ["m4", "m3"] and page1["has_more"]
    cursor = page1["response_metadata"]["next_cursor"]
    page2 = await slack_client.conversations_history(channel=ONCALL_CHANNEL, limit=2, cursor=cursor)
    assert [m["text"] for m in page2["messages"]] == ["m2", "m1"]
    walked = [  # slack_sdk's own cursor pagination (it yields the same response object, refilled)
        [m["text"] for m in page["messages"]]
        async for page in await slack_client.conversations_history(channel=ONCALL_CHANNEL, limit=2)
    ]
    assert walked == [["m4", "m3"], ["m2", "m1"], ["m0"]]

    window = await slack_client.conversations_history(channel=ONCALL_CHANNEL, oldest=ts[1], latest=ts[3])
    assert [m["text"] for m in window["messages"]] == ["m2"]
    inclusive = await slack_client.conversations_history(
        channel=ONCALL_CHANNEL, oldest=ts[1], latest=ts[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    assert not inclusive["has_more"] and inclusive["response_metadata"]["next_cursor"] == ""


async def test_thread_replies(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    parent = await slack_client.chat_postMessage(channel=INCIDENT_CHANNEL, text="3 sessions failed")
    r1 = await slack_client.chat_postMessage(channel=INCIDENT_CHANNEL, text="s1", thread_ts=parent["ts"])
    # A reply to a reply lands in the same thread, as in Slack.
    await slack_client.chat_postMessage(channel=INCIDENT_CHANNEL, text="s2", thread_ts=r1["ts"])
    await slack_client.chat_postMessage(
        channel=INCIDENT_CHANNEL, text="s3", thread_ts=parent["ts"], reply_broadcast=True
    )

    history = await slack_client.conversations_history(channel=INCIDENT_CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["s3", "3 sessions failed"]  # broadcast shows
    top = history["messages"][1]
    assert top["reply_count"] == 3 and top["thread_ts"] == parent["ts"]
    replies = await slack_client.conversations_replies(channel=INCIDENT_CHANNEL, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["3 sessions failed", "s1", "s2", "s3"]
    in_thread = slack_standin.messages_in(INCIDENT_CHANNEL, thread_ts=parent["ts"])
    assert [m.text for m in in_thread] == ["s1", "s2", "s3"]
    assert [m.text for m in slack_standin.messages_in(INCIDENT_CHANNEL)] == ["3 sessions failed", "s3"]
    missing = await _error_of(slack_client.conversations_replies(channel=INCIDENT_CHANNEL, ts="1.000001"))
    assert missing.response["error"] == "thread_not_found"

    # Under a ts Slack does not know, the reply is kept in that (parentless) thread, out of history.
    await slack_client.chat_postMessage(channel=INCIDENT_CHANNEL, text="orphan", thread_ts="1793369100.000300")
    assert [m.text for m in slack_standin.messages_in(INCIDENT_CHANNEL, thread_ts="1793369100.000300")] == ["orphan"]
    assert len((await slack_client.conversations_history(channel=INCIDENT_CHANNEL))["messages"]) == 2
    bad = await _error_of(slack_client.chat_postMessage(channel=INCIDENT_CHANNEL, text="x", thread_ts="0"))
    assert bad.response["error"] == "invalid_thread_ts"


async def test_update_edits_in_place(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    posted = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="1 failed", blocks=[SECTION])
    updated = await slack_client.chat_update(channel=ONCALL_CHANNEL, ts=posted["ts"], text="7 failed")
    assert updated["ts"] == posted["ts"] and updated["message"]["edited"]
    (message,) = slack_standin.messages_in(ONCALL_CHANNEL)
    assert (message.text, message.edited, message.blocks) == ("7 failed", True, [SECTION])  # blocks kept
    missing = await _error_of(slack_client.chat_update(channel=ONCALL_CHANNEL, ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    human = slack_standin.add_message(ONCALL_CHANNEL, "hello")
    refused = await _error_of(slack_client.chat_update(channel=ONCALL_CHANNEL, ts=human.ts, text="x"))
    assert refused.response["error"] == "cant_update_message"


async def test_ephemeral(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    answer = await slack_client.chat_postEphemeral(channel=ONCALL_CHANNEL, user="U2147483697", text="only you")
    assert answer["message_ts"]
    assert slack_standin.messages_in(ONCALL_CHANNEL) == []
    (message,) = slack_standin.messages_in(ONCALL_CHANNEL, include_ephemeral=True)
    assert (message.text, message.ephemeral_for) == ("only you", "U2147483697")
    assert (await slack_client.conversations_history(channel=ONCALL_CHANNEL))["messages"] == []


async def test_permalink_info_and_views(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    posted = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x")
    link = await slack_client.chat_getPermalink(channel=ONCALL_CHANNEL, message_ts=posted["ts"])
    assert link["permalink"].endswith(f"/archives/{ONCALL_CHANNEL}/p{posted['ts'].replace('.', '')}")
    slack_standin.granted_scopes.append("channels:read")  # conversations.info needs it (the app asks for none)
    info = await slack_client.conversations_info(channel=NOT_MEMBER_CHANNEL)
    assert info["channel"]["is_member"] is False and info["channel"]["name"] == "voice-elsewhere"
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Session"}, "blocks": [SECTION]}
    opened = await slack_client.views_open(trigger_id="123.456.abc", view=view)
    assert opened["view"]["id"] and slack_standin.views[0]["view"]["blocks"] == [SECTION]
    no_trigger = await _error_of(slack_client.api_call("views.open", json={"view": view}))
    assert no_trigger.response["error"] == "invalid_arguments"


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": NOT_MEMBER_CHANNEL, "text": "x"}, "not_in_channel"),
        ({"channel": "C0NOSUCH", "text": "x"}, "channel_not_found"),
        ({"channel": "C0ARCHIVED", "text": "x"}, "is_archived"),
        pytest.param(
            {"channel": ONCALL_CHANNEL},
            "no_text",
            marks=pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing"),
        ),
        ({"channel": ONCALL_CHANNEL, "text": "x", "blocks": [SECTION] * 51}, "invalid_blocks"),
        (
            {
                "channel": ONCALL_CHANNEL,
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3001}}],
            },
            "invalid_blocks",
        ),
        (
            {"channel": ONCALL_CHANNEL, "text": "x", "metadata": {"event_payload": {}}},
            "invalid_metadata_format",
        ),
    ],
)
async def test_post_message_refusals(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn, kwargs: dict[str, Any], error: str
) -> None:
    slack_standin.add_channel("C0ARCHIVED", "old-incident", archived=True)
    refused = await _error_of(slack_client.chat_postMessage(**kwargs))
    assert refused.response.status_code == 200 and refused.response["error"] == error
    assert all(not c.messages for c in slack_standin.channels.values())


async def test_invalid_blocks_explains_why(slack_client: AsyncWebClient) -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    refused = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x", blocks=[header]))
    assert refused.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"
    ]


# -- faults -------------------------------------------------------------------------------------


async def test_rate_limit_next_gives_429_with_retry_after(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn, slack_url: str
) -> None:
    slack_standin.rate_limit_next("chat.postMessage", retry_after=7)
    error = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x"))
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "7"
    assert slack_standin.messages_in(ONCALL_CHANNEL) == []
    assert [c.retry_after for c in slack_standin.rate_limited] == [7]

    slack_standin.rate_limit_next(None, retry_after=3)  # any method
    async with httpx.AsyncClient() as http:
        raw = await http.post(f"{slack_url}/api/auth.test", headers={"Authorization": "Bearer xoxb-test-token"})
    assert (raw.status_code, raw.headers["retry-after"], raw.json()) == (
        429,
        "3",
        {"ok": False, "error": "ratelimited"},
    )
    assert (await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x"))["ok"]  # consumed


async def test_faults_match_their_method_and_run_in_order(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    slack_standin.error_next("chat.postMessage", "channel_not_found")
    slack_standin.fail_next("chat.postMessage", 2, status=503)
    assert (await slack_client.auth_test())["ok"]  # not matched
    first = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x"))
    assert (first.response.status_code, first.response["error"]) == (200, "channel_not_found")
    for _ in range(2):
        failed = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x"))
        assert failed.response.status_code == 503
    assert slack_standin.messages_in(ONCALL_CHANNEL) == []
    assert len(slack_standin.calls_to("chat.postMessage")) == 3  # recorded all the same
    assert (await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x"))["ok"]


async def test_accept_then_fail_stores_but_answers_500(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    slack_standin.accept_then_fail_next("chat.postMessage")
    error = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="lost", metadata=METADATA))
    assert error.response.status_code == 500
    (stored,) = slack_standin.messages_in(ONCALL_CHANNEL)
    assert stored.text == "lost"
    history = await slack_client.conversations_history(channel=ONCALL_CHANNEL, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == METADATA  # what reconciliation looks for


async def test_accept_then_hang_holds_the_answer_until_released(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    slack_standin.accept_then_hang_next("chat.postMessage")
    post = asyncio.create_task(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="held"))
    await slack_standin.wait_until(lambda: slack_standin.hanging == 1)
    assert [m.text for m in slack_standin.messages_in(ONCALL_CHANNEL)] == ["held"]
    assert not post.done() and slack_standin.calls_to("chat.postMessage")[0].status is None
    assert slack_standin.release_hangs() == 1
    assert (await post)["ok"]
    assert slack_standin.hanging == 0


async def test_latency_delays_every_answer(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    """The answer waits for the latency to pass on the test's clock (no wall-clock timing)."""
    started, passed = sim_clock.now(), asyncio.Event()

    async def sleep(seconds: float) -> None:
        await passed.wait()
        sim_clock.advance(seconds)

    slack_standin.latency, slack_standin.sleep = 0.05, sleep
    call = asyncio.create_task(slack_client.auth_test())
    await slack_standin.wait_until(lambda: bool(slack_standin.calls_to("auth.test")))
    await asyncio.sleep(0)
    assert not call.done()  # received, and held for the latency
    passed.set()
    assert (await call)["ok"]
    assert sim_clock.now() - started == timedelta(seconds=0.05)


async def test_channel_rate_limit(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    slack_standin.channel_rate_limit = 0.01  # one post per 100 s per channel
    await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="first")
    error = await _error_of(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="second"))
    assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "1"
    assert (await slack_client.chat_postMessage(channel=INCIDENT_CHANNEL, text="other channel"))["ok"]
    assert [m.text for m in slack_standin.messages_in(ONCALL_CHANNEL)] == ["first"]
    assert [c.args["text"] for c in slack_standin.rate_limited] == ["second"]


async def test_wait_for_calls(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    post = asyncio.create_task(slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="x"))
    (call,) = await slack_standin.wait_for_calls("chat.postMessage")
    assert call.ok
    await post
    with pytest.raises(TimeoutError):
        await slack_standin.wait_for_calls("chat.update", within=0.01)


# -- files ------------------------------------------------------------------------------------


async def test_files_upload_v2_into_a_thread(slack_client: AsyncWebClient, slack_standin: SlackStandIn) -> None:
    parent = await slack_client.chat_postMessage(channel=INCIDENT_CHANNEL, text="voice-bot failed")
    upload = await slack_client.files_upload_v2(
        channel=INCIDENT_CHANNEL,
        thread_ts=parent["ts"],
        content=PNG,
        filename="memory.png",
        title="Memory",
        initial_comment="memory over the session",
    )
    assert upload["file"]["name"] == "memory.png" and upload["file"]["mimetype"] == "image/png"
    assert [c.method for c in slack_standin.calls[-2:]] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]

    (reply,) = slack_standin.messages_in(INCIDENT_CHANNEL, thread_ts=parent["ts"])
    assert reply.text == "memory over the session" and reply.files[0]["title"] == "Memory"
    stored = slack_standin.files[upload["file"]["id"]]
    assert stored.content == PNG and stored.channels == [INCIDENT_CHANNEL]
    replies = await slack_client.conversations_replies(channel=INCIDENT_CHANNEL, ts=parent["ts"])
    assert replies["messages"][1]["files"][0]["id"] == stored.id
    async with httpx.AsyncClient() as http:
        served = await http.get(reply.files[0]["url_private"])
    assert served.content == PNG and served.headers["content-type"] == "image/png"


async def test_upload_url_accepts_multipart_and_refuses_unknown_channel(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    url = await slack_client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    async with httpx.AsyncClient() as http:
        sent = await http.post(url["upload_url"], files={"file": ("a.png", PNG, "image/png")})
    assert sent.status_code == 200 and sent.text == f"OK - {len(PNG)}"
    assert slack_standin.files[url["file_id"]].content == PNG
    error = await _error_of(
        slack_client.files_completeUploadExternal(files=[{"id": url["file_id"]}], channel_id=NOT_MEMBER_CHANNEL)
    )
    assert error.response["error"] == "not_in_channel"
    assert slack_standin.messages_in(NOT_MEMBER_CHANNEL) == []


# -- response URLs ----------------------------------------------------------------------------


async def test_response_url_posts_apply_and_the_sixth_is_refused(slack_standin: SlackStandIn, slack_url: str) -> None:
    url = slack_standin.response_url("cmd1", channel_id=ONCALL_CHANNEL, user_id="U2147483697")
    assert url == f"{slack_url}/response/cmd1"
    hook = AsyncWebhookClient(url)
    assert (await hook.send(text="looking it up…")).status_code == 200  # ephemeral by default
    (ephemeral,) = slack_standin.messages_in(ONCALL_CHANNEL, include_ephemeral=True)
    assert ephemeral.ephemeral_for == "U2147483697"
    assert (await hook.send(text="voice-bot summary", blocks=[SECTION], replace_original=True)).body == "ok"
    assert (ephemeral.text, ephemeral.blocks, ephemeral.edited) == ("voice-bot summary", [SECTION], True)
    await hook.send(text="shared", response_type="in_channel")
    assert [m.text for m in slack_standin.messages_in(ONCALL_CHANNEL)] == ["shared"]
    await hook.send(text="four")
    await hook.send(text="five", delete_original=True)
    sixth = await hook.send(text="six")
    assert sixth.status_code == 404 and json.loads(sixth.body) == {"ok": False, "error": "used_url"}

    posts = slack_standin.posts_to_response("cmd1")
    assert [p.status for p in posts] == [200, 200, 200, 200, 200, 404]
    assert posts[1].body["replace_original"] is True and posts[2].body["response_type"] == "in_channel"


async def test_response_url_replace_original_of_an_interaction(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    alert = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="voice-bot failed")
    url = slack_standin.response_url(channel_id=ONCALL_CHANNEL, message_ts=alert["ts"])
    await AsyncWebhookClient(url).send(text="acknowledged by steve", replace_original=True)
    (message,) = slack_standin.messages_in(ONCALL_CHANNEL)
    assert (message.ts, message.text, message.edited) == (alert["ts"], "acknowledged by steve", True)


async def test_response_url_faults(slack_standin: SlackStandIn, slack_url: str) -> None:
    url = slack_standin.response_url("k", channel_id=ONCALL_CHANNEL)
    slack_standin.fail_next(None)  # Web API methods only
    slack_standin.fail_next(RESPONSE_URL, status=502)
    async with httpx.AsyncClient() as http:
        failed = await http.post(url, json={"text": "x", "response_type": "in_channel"})
        accepted = await http.post(url, json={"text": "y", "response_type": "in_channel"})
    assert (failed.status_code, accepted.status_code) == (502, 200)
    assert [m.text for m in slack_standin.messages_in(ONCALL_CHANNEL)] == ["y"]
    assert len(slack_standin.faults.pending()) == 1


# -- signing ------------------------------------------------------------------------------------


def test_signature_verifies_with_slack_sdk_and_tampering_fails() -> None:
    body = slash_command_body("voice-bot 800d444a-e67e-4686-afb3-b0de509cccb3", response_url="https://x/r")
    now = int(time.time())
    headers = sign_request("s3cret", body, timestamp=now)
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, headers)
    assert verifier.is_valid_request(body.encode(), sign_request("s3cret", body.encode()))
    assert not verifier.is_valid_request(body.replace("voice-bot", "other-bot"), headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign_request("s3cret", body, timestamp=now - 301)
    assert not verifier.is_valid_request(body, stale)


def test_bodies_match_the_fixtures() -> None:
    expected = (FIXTURES / "slash-command.form.txt").read_text().strip()
    body = slash_command_body(
        "voice-bot 800d444a-e67e-4686-afb3-b0de509cccb3",
        response_url="https://hooks.slack.com/commands/1234/5678",
    )
    assert body == expected
    payload = json.loads((FIXTURES / "block-actions.json").read_text())
    encoded = interactive_body(payload)
    assert encoded.startswith("payload=")
    assert json.loads(parse_qs(encoded)["payload"][0]) == payload


async def test_replies_are_oldest_first_and_page_within_oldest_and_latest(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    parent = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="parent")
    stamps = []
    for n in range(7):
        sim_clock.advance(10)  # message timestamps follow the stand-in's clock
        reply = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text=f"r{n}", thread_ts=parent["ts"])
        stamps.append(str(reply["ts"]))
    assert float(stamps[1]) - float(stamps[0]) == pytest.approx(10)
    texts: list[str] = []
    cursor = None
    while True:
        page = await slack_client.conversations_replies(
            channel=ONCALL_CHANNEL, ts=parent["ts"], oldest=stamps[2], latest=stamps[5], inclusive=True, limit=2,
            cursor=cursor,
        )  # fmt: skip
        texts += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"] or None
        if not cursor:
            break
    assert texts[0] == "parent"  # Slack always returns the thread's parent first
    assert [t for t in texts if t != "parent"] == ["r2", "r3", "r4", "r5"]  # oldest first, in the window


async def test_a_write_outage_refuses_posts_and_edits_until_it_ends(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    first = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="before")
    slack_standin.start_outage(until=sim_clock.now() + timedelta(minutes=30))
    for call in (
        slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="during"),
        slack_client.chat_update(channel=ONCALL_CHANNEL, ts=first["ts"], text="edited"),
    ):
        with pytest.raises(SlackApiError) as raised:
            await call
        assert raised.value.response.status_code == 503
    history = await slack_client.conversations_history(channel=ONCALL_CHANNEL)  # reads still work
    assert [m["text"] for m in history["messages"]] == ["before"]
    sim_clock.advance(30 * 60)
    await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="after")
    assert [m.text for m in slack_standin.messages_in(ONCALL_CHANNEL)] == ["before", "after"]


async def test_a_held_call_takes_effect_only_when_released(
    slack_client: AsyncWebClient, slack_standin: SlackStandIn
) -> None:
    first = await slack_client.chat_postMessage(channel=ONCALL_CHANNEL, text="v1")
    slack_standin.hold_next("chat.update", 1)
    held = asyncio.create_task(slack_client.chat_update(channel=ONCALL_CHANNEL, ts=first["ts"], text="v2"))
    await slack_standin.wait_until(lambda: slack_standin.hanging == 1)
    assert slack_standin.messages_in(ONCALL_CHANNEL)[0].text == "v1"  # not applied yet
    slack_standin.release_hangs()
    await held
    assert slack_standin.messages_in(ONCALL_CHANNEL)[0].text == "v2"
