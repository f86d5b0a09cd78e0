"""The Home tab respects ALLOWED_CHANNELS (bot/slack/home.py `publish`).

With ALLOWED_CHANNELS set (the app restricted to the on-call channel) and no ALLOWED_USERS, a
member of the workspace in none of the allowed channels - a guest - who opens the app's Home tab
sees none of the watches, incidents, alerts, session ids or agents: what `/session` refuses them
in their own channel ("pipecat-ops is not enabled in this channel") the Home tab does not show them
either. `member_channels` asks Slack (`users.conversations`) which allowed channels the viewer is
in, and `visible_only` keeps those channels' items and the agents watched there."""

from __future__ import annotations

import json

from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn
from tests.e2e.test_app_home import event_body, send_event
from tests.fixtures_app import USER, AppFactory
from tests.fixtures_slack import INCIDENT_CHANNEL, ONCALL_CHANNEL

OUTSIDER = "U0GUEST"


async def test_the_home_tab_respects_the_channel_allowlist(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    async with app_factory(ALLOWED_CHANNELS=ONCALL_CHANNEL) as (runtime, slack):
        await slack.responses(await slack.command("watch voice-bot"))
        sid = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
        sim_clock.advance(60)
        await runtime.jobs.poll_once()
        await runtime.jobs.deliver_once()
        await slack.command("watches", channel_id="C0ELSEWHERE", user_id=OUTSIDER)
        assert "not enabled in this channel" in json.dumps(slack.ack_json())  # refused there
        await send_event(
            slack, event_body({"type": "app_home_opened", "user": OUTSIDER, "channel": "D0X", "tab": "home"})
        )
        await slack_standin.wait_for_calls("views.publish")
        shown = json.dumps(slack_standin.home_views[OUTSIDER])
        print("outsider's Home tab shows the incident:", "voice-bot" in shown, "| the session id:", sid[:8] in shown)
        assert "voice-bot" not in shown and sid[:8] not in shown
        assert "none of the channels pipecat-ops is enabled in" in shown


async def test_a_member_of_an_allowed_channel_sees_that_channel_only(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    async with app_factory(ALLOWED_CHANNELS=f"{ONCALL_CHANNEL},{INCIDENT_CHANNEL}") as (runtime, slack):
        await slack.responses(await slack.command("watch voice-bot"))
        await slack.responses(await slack.command("watch support-bot", channel_id=INCIDENT_CHANNEL))
        voice = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
        support = pipecat_sim.add_session("support-bot", "HTTP_ERROR")
        sim_clock.advance(60)
        await runtime.jobs.poll_once()
        await runtime.jobs.deliver_once()
        slack_standin.add_member(ONCALL_CHANNEL, OUTSIDER)  # the on-call engineer, not in the incident room
        await send_event(
            slack, event_body({"type": "app_home_opened", "user": OUTSIDER, "channel": "D0X", "tab": "home"})
        )
        await slack_standin.wait_for_calls("views.publish")
        shown = json.dumps(slack_standin.home_views[OUTSIDER])
        assert "voice-bot" in shown and voice[:8] in shown and f"<#{ONCALL_CHANNEL}>" in shown
        assert "support-bot" not in shown and support[:8] not in shown and INCIDENT_CHANNEL not in shown
        (call,) = slack_standin.calls_to("users.conversations")
        assert call.args["user"] == OUTSIDER


async def test_without_the_scope_to_check_the_home_tab_shows_nothing_and_says_why(
    app_factory: AppFactory, slack_standin: SlackStandIn
) -> None:
    slack_standin.granted_scopes = [s for s in slack_standin.granted_scopes if s != "groups:read"]
    async with app_factory(ALLOWED_CHANNELS=ONCALL_CHANNEL) as (_, slack):
        await slack.responses(await slack.command("watch voice-bot"))
        await send_event(slack, event_body({"type": "app_home_opened", "user": USER, "channel": "D0X", "tab": "home"}))
        await slack_standin.wait_for_calls("views.publish")
        shown = json.dumps(slack_standin.home_views[USER])
        assert "could not check which of its channels you are in" in shown and "missing_scope" in shown
        assert "voice-bot" not in shown
