"""A rate alert's state end to end (issue 23 §1 for rate alerts): the real app over HTTP with
signed Slack requests, the Pipecat simulator's traffic, the Slack stand-in and the PagerDuty
stand-in, on the simulator's clock (bot/slack/incident_actions.py `acknowledge_rate`,
`unacknowledge_rate`, `unmute`; bot/store/rates.py `acknowledge_rate_alert`; bot/alerts/paging/pager.py
`_sync_conditions` for the page)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.contracts.actions import Action, mute_value
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests import store_reads
from tests.alert_clicks import button_click, buttons, headline
from tests.fixtures_app import AppFactory
from tests.fixtures_pagerduty import ROUTING_KEY
from tests.fixtures_slack import INCIDENT_CHANNEL, ONCALL_CHANNEL
from tests.rate_traffic import Traffic

if TYPE_CHECKING:
    from bot.app import Runtime

AGENT = "voice-bot"
ADMIN, OTHER_ADMIN = "U0ADMIN", "U0OTHER"


async def minutes(rt: Runtime, clock: SimClock, traffic: Traffic, count: int) -> None:
    """Minutes of traffic, each followed by what the scheduler runs: a poll (the counts and the
    rate detectors), then a delivery pass."""
    for _ in range(count):
        clock.advance(60)
        traffic.minute()
        await rt.jobs.run_cycle()


async def regression(rt: Runtime, clock: SimClock, traffic: Traffic) -> None:
    """A busy agent fails as usual (2%) for 10 minutes, then 40% of its calls fail."""
    await minutes(rt, clock, traffic, 10)
    traffic.fail_share = 0.4
    await minutes(rt, clock, traffic, 2)


def rate_alert(standin: SlackStandIn, channel_id: str = ONCALL_CHANNEL) -> StoredMessage:
    [post] = [m for m in standin.messages_in(channel_id) if "of calls failing" in m.text]
    return post


def click(
    action: Action, ts: str, user_id: str, channel_id: str = ONCALL_CHANNEL, *, menu: str | None = None
) -> dict[str, Any]:
    return button_click(action, ts, user_id, value=AGENT, channel_id=channel_id, block_id="rate_actions", menu=menu)


async def settle(rt: Runtime) -> None:
    """The click's work runs after its ack; then a delivery pass (the re-renders it queued)."""
    await rt.deps.after_ack.drain(grace_seconds=10)
    await rt.jobs.deliver_once()


async def test_acknowledge_a_rate_alert_in_every_channel_first_click_wins_pagerduty_once_and_unacknowledge(
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
        traffic = Traffic(pipecat_sim, AGENT, per_minute=60, fail_share=0.02)
        await regression(rt, sim_clock, traffic)
        alert, elsewhere = rate_alert(slack_standin), rate_alert(slack_standin, INCIDENT_CHANNEL)
        [page] = [a for a in pagerduty_standin.alerts if ":rate:" in a.dedup_key]
        assert page.status == "triggered"
        first_line, state = headline(alert).split("\n")
        assert first_line.startswith(":rotating_light: *voice-bot*: ") and " · since <!date^" in first_line
        assert "sessions affected so far" in first_line  # how bad: what it cost already
        assert state.startswith("*Triggered* <!date^")
        assert list(buttons(alert)) == [Action.RATE_ACK, Action.INCIDENT_MUTE, Action.RATE_DETAILS]  # no Resolve

        # Someone not on ADMIN_USERS: refused, nothing changes.
        key = await slack.interact(click(Action.RATE_ACK, alert.ts, "U0NOBODY"), message_ts=alert.ts)
        [refused] = await slack.responses(key)
        await settle(rt)
        assert "Only admins" in json.dumps(refused.body)
        assert rate_alert(slack_standin).blocks == alert.blocks and page.status == "triggered"

        # The admin: every channel's post of the episode says who; PagerDuty is acknowledged.
        await slack.interact(click(Action.RATE_ACK, alert.ts, ADMIN), message_ts=alert.ts)
        await settle(rt)
        await pagerduty_standin.wait_until(lambda: page.status == "acknowledged")
        for acked in (rate_alert(slack_standin), rate_alert(slack_standin, INCIDENT_CHANNEL)):
            assert headline(acked).startswith(":eyes: *voice-bot*: "), headline(acked)
            assert f"\n*Acknowledged* by <@{ADMIN}> at <!date^" in headline(acked)
            assert list(buttons(acked)) == [Action.RATE_UNACK, Action.INCIDENT_MUTE, Action.RATE_DETAILS]
        assert rate_alert(slack_standin, INCIDENT_CHANNEL).ts == elsewhere.ts  # edited, not posted anew

        # A second Acknowledge (another admin, on the other channel's post, a stale button): the
        # first stands, the clicker is told privately who acknowledged; PagerDuty hears nothing more.
        key = await slack.interact(
            click(Action.RATE_ACK, elsewhere.ts, OTHER_ADMIN, INCIDENT_CHANNEL),
            channel_id=INCIDENT_CHANNEL,
            message_ts=elsewhere.ts,
        )
        [told] = await slack.responses(key)
        await settle(rt)
        assert f"<@{ADMIN}> already acknowledged this alert" in json.dumps(told.body)
        assert told.body.get("response_type") != "in_channel"
        assert f"by <@{ADMIN}>" in headline(rate_alert(slack_standin, INCIDENT_CHANNEL))
        await minutes(rt, sim_clock, traffic, 1)  # a pager pass with the episode still open
        assert [r.action for r in pagerduty_standin.requests if ":rate:" in (r.dedup_key or "")] == [
            "trigger",
            "acknowledge",
        ]

        # Unacknowledge (from the other channel): Acknowledge is back everywhere; PagerDuty's alert
        # stays acknowledged (its Events API has no way back).
        await slack.interact(
            click(Action.RATE_UNACK, elsewhere.ts, OTHER_ADMIN, INCIDENT_CHANNEL),
            channel_id=INCIDENT_CHANNEL,
            message_ts=elsewhere.ts,
        )
        await settle(rt)
        for back in (rate_alert(slack_standin), rate_alert(slack_standin, INCIDENT_CHANNEL)):
            assert headline(back).startswith(":rotating_light:") and "\n*Triggered* <!date^" in headline(back)
            assert next(iter(buttons(back))) == Action.RATE_ACK and Action.RATE_UNACK not in buttons(back)
        assert await rt.store.rate_acknowledgements(AGENT) == {}
        assert page.status == "acknowledged"

        # Back to usual: resolved on evidence, after how long and what it cost; only Details stays.
        traffic.fail_share = 0.02
        await minutes(rt, sim_clock, traffic, 12)
        done = rate_alert(slack_standin)
        assert headline(done).startswith(":white_check_mark: *voice-bot*: ~")
        assert "sessions affected\n*Resolved* after " in headline(done)
        assert list(buttons(done)) == [Action.RATE_DETAILS]
        key = await slack.interact(click(Action.RATE_ACK, done.ts, ADMIN), message_ts=done.ts)  # a stale button
        [closed] = await slack.responses(key)
        assert "This rate alert is no longer open." in json.dumps(closed.body)

        audit = [(e.action, e.user_id, e.result) for e in await store_reads.recent_audit(rt.store)]
        assert (Action.RATE_ACK.value, ADMIN, "ok") in audit
        assert (Action.RATE_ACK.value, "U0NOBODY", "refused") in audit
        assert (Action.RATE_UNACK.value, OTHER_ADMIN, "ok") in audit


async def test_muting_shows_unmute_on_the_open_rate_alert_and_unmute_brings_the_menu_back(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    async with app_factory(ADMIN_USERS=ADMIN) as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT}", user_id=ADMIN))
        await slack.responses(await slack.command(f"watch {AGENT}", channel_id=INCIDENT_CHANNEL, user_id=ADMIN))
        traffic = Traffic(pipecat_sim, AGENT, per_minute=60, fail_share=0.02)
        await regression(rt, sim_clock, traffic)
        alert = rate_alert(slack_standin)
        assert Action.INCIDENT_UNMUTE not in buttons(alert) and Action.INCIDENT_MUTE in buttons(alert)

        # Mute 1 hour from the alert's own menu: its post shows the mute and Unmute at once.
        await slack.interact(click(Action.INCIDENT_MUTE, alert.ts, ADMIN, menu=mute_value(AGENT, "1h")))
        await settle(rt)
        muted = rate_alert(slack_standin)
        assert list(buttons(muted)) == [Action.RATE_ACK, Action.INCIDENT_UNMUTE, Action.RATE_DETAILS]
        assert ":mute: muted until <!date^" in json.dumps(muted.blocks)
        other = rate_alert(slack_standin, INCIDENT_CHANNEL)  # the mute is this channel's only
        assert Action.INCIDENT_MUTE in buttons(other) and ":mute:" not in json.dumps(other.blocks)
        await minutes(rt, sim_clock, traffic, 1)  # an evaluation while muted keeps Unmute on it
        assert Action.INCIDENT_UNMUTE in buttons(rate_alert(slack_standin))

        # Unmute is an admin's click too.
        key = await slack.interact(click(Action.INCIDENT_UNMUTE, alert.ts, "U0NOBODY"), message_ts=alert.ts)
        [refused] = await slack.responses(key)
        assert "Only admins" in json.dumps(refused.body)
        await settle(rt)
        assert Action.INCIDENT_UNMUTE in buttons(rate_alert(slack_standin))

        await slack.interact(click(Action.INCIDENT_UNMUTE, alert.ts, ADMIN), message_ts=alert.ts)
        await settle(rt)
        unmuted = rate_alert(slack_standin)
        assert list(buttons(unmuted)) == [Action.RATE_ACK, Action.INCIDENT_MUTE, Action.RATE_DETAILS]
        assert ":mute:" not in json.dumps(unmuted.blocks)
        assert unmuted.ts == alert.ts  # edited in place each time
