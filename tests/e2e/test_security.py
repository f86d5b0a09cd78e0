"""Security: signed requests only, allowlists and admins, secrets never shown, an audit trail."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.access.policy import refusal
from bot.config import AccessLists
from bot.contracts.actions import ADMIN_ONLY, Action, Verb, mute_value, session_value
from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.signing import sign_request, slash_command_body
from sandbox.slack.standin import SlackStandIn
from tests import store_reads
from tests.fixtures_app import SIGNING_SECRET, USER, AppFactory, SlackDriver, load_payload
from tests.fixtures_pipecat import load_pipecat_fixture
from tests.fixtures_slack import BOT_TOKEN, ONCALL_CHANNEL

ERROR_ID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


def lists(channels: str = "", users: str = "", admins: str = "") -> AccessLists:
    return AccessLists(frozenset(channels.split()), frozenset(users.split()), frozenset(admins.split()))


@pytest.mark.parametrize(
    ("policy", "user", "channel", "action", "allowed"),
    [
        (lists(), "U1", "C1", "watch", True),  # no lists: open
        (lists(channels="C1"), "U1", "C1", "lookup", True),
        (lists(channels="C1"), "U1", "C2", "lookup", False),
        (lists(users="U1"), "U2", "C1", "lookup", False),
        (lists(users="U1", admins="U9"), "U9", "C1", "lookup", True),  # admins are users too
        (lists(admins="U9"), "U1", "C1", "lookup", True),
        (lists(admins="U9"), "U1", "C1", "watch", False),
        (lists(admins="U9"), "U1", "C1", "session_stop", False),
        (lists(admins="U9"), "U1", "C1", "incident_mute", False),
        # Acknowledge acknowledges the PagerDuty alert (its escalation stops): admins only.
        (lists(admins="U9"), "U1", "C1", "incident_ack", False),
        (lists(admins="U9"), "U9", "C1", "incident_ack", True),
        (lists(), "U1", "C1", "incident_ack", True),
        (lists(admins="U9"), "U1", "C1", "slo", False),
        (lists(admins="U9"), "U1", "C1", "rates", True),
        # Acknowledging a rate alert acknowledges its PagerDuty alert too: admins only, like incidents.
        (lists(admins="U9"), "U1", "C1", "rate_ack", False),
        (lists(admins="U9"), "U9", "C1", "rate_ack", True),
        (lists(admins="U9"), "U9", "C1", "unwatch", True),
    ],
)
def test_access_policy(policy: AccessLists, user: str, channel: str, action: str, allowed: bool) -> None:
    assert (refusal(policy, user_id=user, channel_id=channel, action=action) is None) is allowed


async def post_raw(slack: SlackDriver, body: str, headers: dict[str, str]) -> int:
    response = await slack.http.post(
        "/slack/events", content=body, headers={**headers, "Content-Type": "application/x-www-form-urlencoded"}
    )
    return response.status_code


async def test_unsigned_wrong_stale_and_tampered_requests_get_401(
    slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    body = slash_command_body("help", response_url=slack_standin.response_url())
    now = int(time.time())
    assert await post_raw(slack, body, {}) == 401
    assert await post_raw(slack, body, sign_request("not-the-secret", body, now)) == 401
    assert await post_raw(slack, body, sign_request(SIGNING_SECRET, body, now - 301)) == 401  # replayed later
    tampered = body.replace("help", "watches")
    assert await post_raw(slack, tampered, sign_request(SIGNING_SECRET, body, now)) == 401
    assert await post_raw(slack, body, sign_request(SIGNING_SECRET, body, now)) == 200
    assert slack_standin.response_posts == []  # nothing refused did any work


async def test_channel_allowlist_refuses_elsewhere_privately(app_factory: AppFactory) -> None:
    async with app_factory(ALLOWED_CHANNELS="C0INCIDENT") as (runtime, slack):
        await slack.command(f"voice-bot {ERROR_ID}", channel_id=ONCALL_CHANNEL)
        body = slack.ack_json()
        assert body["response_type"] == "ephemeral" and "ALLOWED_CHANNELS" in json.dumps(body)
        await runtime.deps.after_ack.drain(grace_seconds=10)  # the audit write runs after the ack
        [entry] = await store_reads.recent_audit(runtime.store)
        assert (entry.action, entry.result, entry.channel_id) == ("lookup", "refused", ONCALL_CHANNEL)


async def test_only_admins_watch_and_stop_sessions(app_factory: AppFactory, pipecat_sim: PipecatSimulator) -> None:
    async with app_factory(ADMIN_USERS="U0ADMIN") as (runtime, slack):
        await slack.command("watch voice-bot", user_id=USER)
        assert "Only admins" in json.dumps(slack.ack_json())
        assert await runtime.deps.alerts.watches(ONCALL_CHANNEL) == []
        session_id = pipecat_sim.start_session("voice-bot")
        payload = load_payload("block-actions.json")
        payload["actions"][0] = {
            **payload["actions"][0],
            "action_id": "session_stop",
            "value": f"voice-bot:{session_id}",
        }
        key = await slack.interact(payload)
        [post] = await slack.responses(key)
        assert "Only admins" in json.dumps(post.body)
        assert not any(r.method == "DELETE" for r in pipecat_sim.requests)
        key = await slack.command("watch voice-bot", user_id="U0ADMIN")
        await slack.responses(key)
        assert [w.agent for w in await runtime.deps.alerts.watches(ONCALL_CHANNEL)] == ["voice-bot"]


#: One use of each admin-only verb; a new admin verb needs an example here (the test says so).
ADMIN_COMMANDS = {
    Verb.WATCH: "watch voice-bot",
    Verb.UNWATCH: "unwatch voice-bot",
    Verb.MUTE: "mute voice-bot 1h",
    Verb.UNMUTE: "unmute voice-bot",
    Verb.DIGEST: "digest on 09:00",
    Verb.SLO: "slo voice-bot 99.5%",
}
ADMIN_CLICKS = {
    Action.SESSION_STOP: ("button", session_value("voice-bot", ERROR_ID)),
    Action.INCIDENT_MUTE: ("static_select", mute_value("voice-bot", "1h")),
    Action.INCIDENT_ACK: ("button", "voice-bot:x"),
    Action.INCIDENT_UNACK: ("button", "voice-bot"),
    Action.INCIDENT_RESOLVE: ("button", "voice-bot"),
    Action.INCIDENT_UNMUTE: ("button", "voice-bot"),
    Action.RATE_ACK: ("button", "voice-bot"),
    Action.RATE_UNACK: ("button", "voice-bot"),
    Action.HEALTH_ACK: ("button", "voice-bot"),
    Action.HEALTH_UNACK: ("button", "voice-bot"),
}


def test_every_admin_only_name_is_a_verb_or_an_action() -> None:
    admin_only = set(ADMIN_ONLY)
    assert admin_only == set(ADMIN_COMMANDS) | set(ADMIN_CLICKS)
    assert all(isinstance(name, Verb | Action) for name in ADMIN_ONLY)


@pytest.mark.parametrize("verb", sorted(ADMIN_COMMANDS))
async def test_each_admin_only_verb_exists_and_is_refused_to_others(app_factory: AppFactory, verb: Verb) -> None:
    async with app_factory(ADMIN_USERS="U0ADMIN") as (runtime, slack):
        await slack.command(ADMIN_COMMANDS[verb], user_id=USER)
        assert f"Only admins can use `{verb}`" in json.dumps(slack.ack_json())
        await runtime.deps.after_ack.drain(grace_seconds=10)  # the audit write runs after the ack
        [entry] = await store_reads.recent_audit(runtime.store)
        assert (entry.action, entry.result) == (verb, "refused")


@pytest.mark.parametrize("action", sorted(ADMIN_CLICKS))
async def test_each_admin_only_button_has_a_listener_and_is_refused_to_others(
    app_factory: AppFactory, action: Action
) -> None:
    kind, value = ADMIN_CLICKS[action]
    element: dict[str, Any] = {"action_id": action, "block_id": "b", "type": kind, "action_ts": "1793369111.000400"}
    element |= {"value": value} if kind == "button" else {"selected_option": {"value": value}}
    payload = {**load_payload("block-actions.json"), "actions": [element]}
    async with app_factory(ADMIN_USERS="U0ADMIN") as (_, slack):
        [post] = await slack.responses(await slack.interact(payload))  # no listener: no answer at all
        assert "Only admins" in json.dumps(post.body)


async def test_audit_records_who_ran_what_where_and_the_result(
    slack: SlackDriver, runtime: Any, pipecat_sim: PipecatSimulator
) -> None:
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-error.json"))
    await slack.responses(await slack.command(f"voice-bot {ERROR_ID}"))
    await slack.responses(await slack.command("voice-bot 11111111-2222-4333-8444-555555555555"))
    await slack.command("nonsense here")
    await runtime.deps.after_ack.drain(grace_seconds=10)  # the audit write runs after the ack
    entries = await store_reads.recent_audit(runtime.store)
    assert [(e.action, e.result, e.user_id, e.channel_id) for e in entries] == [
        ("help", "usage", USER, ONCALL_CHANNEL),
        ("lookup", "SessionNotFound", USER, ONCALL_CHANNEL),
        ("lookup", "ok", USER, ONCALL_CHANNEL),
    ]
    assert entries[-1].detail == f"voice-bot {ERROR_ID}"


async def test_audit_entries_past_retention_are_pruned(runtime: Any, sim_clock: Any) -> None:
    gate = runtime.deps.gate
    await gate.record(user_id="U1", channel_id="C1", action="lookup", detail="old", result="ok")
    sim_clock.advance(timedelta(days=91).total_seconds())
    await gate.record(user_id="U1", channel_id="C1", action="lookup", detail="new", result="ok")
    assert await gate.prune() == 1
    assert [e.detail for e in await store_reads.recent_audit(runtime.store)] == ["new"]


PIPECAT_KEY = "pk_live_DoNotLeakThisKey_7f3a9c"
SECRETS = {"PIPECAT_API_KEY": PIPECAT_KEY, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN}


async def test_secrets_never_reach_logs_slack_or_error_messages(
    app_factory: AppFactory,
    pipecat_sim: PipecatSimulator,
    slack_standin: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pipecat_sim.api_key = PIPECAT_KEY
    pipecat_sim.add_raw_session("voice-bot", load_pipecat_fixture("session-detail-error.json"))
    async with app_factory(PIPECAT_API_KEY=PIPECAT_KEY) as (runtime, slack):
        await slack.responses(await slack.command(f"voice-bot {ERROR_ID}"))
        await slack.responses(await slack.command("watch voice-bot"))
        pipecat_sim.api_key = "rotated-elsewhere"  # now every call is refused: the 401 path
        await slack.responses(await slack.command(f"voice-bot {ERROR_ID}"))
        pipecat_sim.api_key = PIPECAT_KEY
        pipecat_sim.fail_next(20, status=500)
        await slack.responses(await slack.command(f"voice-bot {ERROR_ID}"))
        await runtime.jobs.run_cycle()
    to_slack = [
        json.dumps(c.args) + json.dumps({k: v for k, v in c.headers.items() if k.lower() != "authorization"})
        for c in slack_standin.calls
    ]
    to_slack += [json.dumps(p.body) for p in slack_standin.response_posts]
    for name, secret in SECRETS.items():
        assert secret not in caplog.text, f"{name} appeared in the logs"
        assert not any(secret in text for text in to_slack), f"{name} was sent to Slack"
    assert any("PIPECAT_API_KEY" in json.dumps(p.body) for p in slack_standin.response_posts)  # the 401 advice
