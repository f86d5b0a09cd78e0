"""Acknowledge / Unacknowledge on agent-health alerts end to end (issue 23 §1): the real app over
HTTP with signed Slack requests, the Pipecat simulator, the Slack stand-in and the PagerDuty
stand-in, on the simulator's clock (bot/slack/incident_actions.py `acknowledge_health`,
bot/store/agent_health.py `acknowledge_condition`, bot/alerts/paging/pager.py `_sync_conditions`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.contracts.actions import Action
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests import store_reads
from tests.alert_clicks import button_click, buttons, headline
from tests.fixtures_app import AppFactory
from tests.fixtures_pagerduty import ROUTING_KEY
from tests.fixtures_slack import INCIDENT_CHANNEL, ONCALL_CHANNEL

if TYPE_CHECKING:
    from bot.app import Runtime

AGENT = "voice-bot"
ADMIN, OTHER_ADMIN = "U0ADMIN", "U0OTHER"


async def status_cycle(rt: Runtime, clock: SimClock) -> None:
    """What the agent-status job does every AGENT_STATUS_INTERVAL_SECONDS, then a delivery pass
    (the posts, and the re-renders the store queued)."""
    clock.advance(120)
    await rt.jobs.status_cycle()
    await rt.jobs.deliver_once()


def click(action: Action, ts: str, user_id: str, channel_id: str = ONCALL_CHANNEL) -> dict[str, Any]:
    return button_click(action, ts, user_id, value=AGENT, channel_id=channel_id)


def the_alert(standin: SlackStandIn, channel_id: str = ONCALL_CHANNEL) -> StoredMessage:
    [post] = standin.messages_in(channel_id)
    return post


async def test_acknowledge_a_health_alert_in_every_channel_first_click_wins_pagerduty_once_and_unacknowledge(
    app_factory: AppFactory,
    pagerduty_url: str,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    slack_standin: SlackStandIn,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    env = {
        "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "PAGERDUTY_EVENTS_URL": pagerduty_url,
        "ADMIN_USERS": f"{ADMIN},{OTHER_ADMIN}",
    }
    async with app_factory(**env) as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT} page", user_id=ADMIN))
        await slack.responses(await slack.command(f"watch {AGENT}", channel_id=INCIDENT_CHANNEL, user_id=ADMIN))
        pipecat_sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
        for _ in range(2):  # seen twice: opened (bot/alerts/health/states.py)
            await status_cycle(rt, sim_clock)
        alert, elsewhere = the_alert(slack_standin), the_alert(slack_standin, INCIDENT_CHANNEL)
        [page] = pagerduty_standin.alerts
        assert page.status == "triggered"
        assert "*Triggered*" in headline(alert) and Action.HEALTH_ACK in buttons(alert)
        assert Action.INCIDENT_RESOLVE not in buttons(alert)  # resolves on evidence only

        # Someone not on ADMIN_USERS: refused, nothing changes.
        key = await slack.interact(click(Action.HEALTH_ACK, alert.ts, "U0NOBODY"), message_ts=alert.ts)
        [refused] = await slack.responses(key)
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        assert "Only admins" in json.dumps(refused.body)
        assert the_alert(slack_standin).blocks == alert.blocks and page.status == "triggered"

        # The admin: every channel's post of the occurrence says who; PagerDuty is acknowledged.
        await slack.interact(click(Action.HEALTH_ACK, alert.ts, ADMIN), message_ts=alert.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        await pagerduty_standin.wait_until(lambda: page.status == "acknowledged")
        for acked in (the_alert(slack_standin), the_alert(slack_standin, INCIDENT_CHANNEL)):
            assert headline(acked).startswith(":eyes:"), headline(acked)
            assert f"*Acknowledged* by <@{ADMIN}> at <!date^" in headline(acked)
            assert Action.HEALTH_UNACK in buttons(acked) and Action.HEALTH_ACK not in buttons(acked)
        assert the_alert(slack_standin, INCIDENT_CHANNEL).ts == elsewhere.ts  # edited, not posted anew
        acked_blocks = the_alert(slack_standin).blocks

        # A second click (another admin, in the other channel's post): the first stands, and the
        # clicker is told privately who acknowledged; PagerDuty hears nothing more.
        key = await slack.interact(
            click(Action.HEALTH_ACK, elsewhere.ts, OTHER_ADMIN, INCIDENT_CHANNEL),
            channel_id=INCIDENT_CHANNEL,
            message_ts=elsewhere.ts,
        )
        [told] = await slack.responses(key)
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        assert f"<@{ADMIN}> already acknowledged this alert" in json.dumps(told.body)
        assert told.body.get("response_type") != "in_channel"
        assert the_alert(slack_standin).blocks == acked_blocks
        await status_cycle(rt, sim_clock)  # a pager pass with the condition still open
        assert [r.action for r in pagerduty_standin.requests] == ["trigger", "acknowledge"]

        # Unacknowledge: Acknowledge is back everywhere; PagerDuty's alert stays acknowledged.
        await slack.interact(click(Action.HEALTH_UNACK, alert.ts, ADMIN), message_ts=alert.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        for back in (the_alert(slack_standin), the_alert(slack_standin, INCIDENT_CHANNEL)):
            assert headline(back).startswith(":red_circle:") and "*Triggered*" in headline(back)
            assert Action.HEALTH_ACK in buttons(back) and Action.HEALTH_UNACK not in buttons(back)
        [condition] = await rt.store.open_conditions(AGENT)
        assert condition.ack_by is None and condition.ack_at is None
        assert page.status == "acknowledged"

        audit = [(e.action, e.user_id, e.result) for e in await store_reads.recent_audit(rt.store)]
        assert (Action.HEALTH_ACK.value, ADMIN, "ok") in audit
        assert (Action.HEALTH_ACK.value, "U0NOBODY", "refused") in audit
        assert (Action.HEALTH_UNACK.value, ADMIN, "ok") in audit


async def test_muting_and_unmuting_re_render_the_open_health_alert(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    async with app_factory() as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT}"))
        pipecat_sim.deploy(AGENT, crash="CrashLoopBackOff", message="RuntimeError: boom")
        for _ in range(2):
            await status_cycle(rt, sim_clock)
        alert = the_alert(slack_standin)
        assert Action.INCIDENT_UNMUTE not in buttons(alert)

        await slack.responses(await slack.command(f"mute {AGENT} 1h"))
        await rt.jobs.deliver_once()
        muted = the_alert(slack_standin)
        assert Action.INCIDENT_UNMUTE in buttons(muted) and ":mute: muted until" in json.dumps(muted.blocks)

        await slack.interact(click(Action.INCIDENT_UNMUTE, alert.ts, "U0ANY"), message_ts=alert.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        unmuted = the_alert(slack_standin)
        assert Action.INCIDENT_UNMUTE not in buttons(unmuted) and ":mute:" not in json.dumps(unmuted.blocks)
        assert Action.HEALTH_ACK in buttons(unmuted)


async def test_a_condition_that_comes_back_is_triggered_again(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    async with app_factory() as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT}"))
        pipecat_sim.set_available(AGENT, False)
        for _ in range(2):
            await status_cycle(rt, sim_clock)
        alert = the_alert(slack_standin)
        await slack.interact(click(Action.HEALTH_ACK, alert.ts, "U0ANY"), message_ts=alert.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        assert "*Acknowledged* by <@U0ANY>" in headline(the_alert(slack_standin))

        pipecat_sim.set_available(AGENT, True)
        for _ in range(5):  # gone for HEALTH_CLEAR_AFTER: resolved
            await status_cycle(rt, sim_clock)
        assert "*Resolved*" in headline(the_alert(slack_standin))
        pipecat_sim.set_available(AGENT, False)  # back within HEALTH_REOPEN_WITHIN: reopened
        for _ in range(2):
            await status_cycle(rt, sim_clock)
        again = the_alert(slack_standin)
        assert "*Triggered*" in headline(again) and "Acknowledged" not in headline(again)
        assert Action.HEALTH_ACK in buttons(again)
        [condition] = await rt.store.open_conditions(AGENT)
        assert condition.ack_by is None


async def test_acknowledging_an_organization_wide_webhook_alert_acknowledges_it_on_every_agent_and_channel(
    app_factory: AppFactory,
    pagerduty_url: str,
    pipecat_sim: PipecatSimulator,
    slack_standin: SlackStandIn,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    """A webhook alert's occurrence spans every agent it concerns (bot/store/agent_health.py): the
    acknowledgement lands on all of its condition rows and every channel's post."""
    env = {
        "PIPECAT_WEBHOOK_SECRET": pipecat_sim.webhooks.secret,
        "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
        "PAGERDUTY_EVENTS_URL": pagerduty_url,
    }
    async with app_factory(**env) as (rt, slack):
        pipecat_sim.webhooks.url = str(slack.http.base_url.join("/webhooks/pipecat"))
        await rt.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, ADMIN, page=True)
        await rt.deps.alerts.watch(INCIDENT_CHANNEL, "support-bot", None, None, ADMIN)
        await pipecat_sim.webhooks.send("org.trial_ended", {"org_name": "sim-org", "amount_due_cents": 1250})
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        alert = the_alert(slack_standin)
        [page] = pagerduty_standin.alerts
        assert Action.HEALTH_ACK in buttons(alert)

        await slack.interact(click(Action.HEALTH_ACK, alert.ts, ADMIN), message_ts=alert.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        await rt.jobs.deliver_once()
        for acked in (the_alert(slack_standin), the_alert(slack_standin, INCIDENT_CHANNEL)):
            assert f"*Acknowledged* by <@{ADMIN}>" in headline(acked)
            assert Action.HEALTH_UNACK in buttons(acked)
        assert {(c.agent, c.ack_by) for c in await rt.store.open_conditions()} == {
            (AGENT, ADMIN),
            ("support-bot", ADMIN),
        }
        await pagerduty_standin.wait_until(lambda: page.status == "acknowledged")
