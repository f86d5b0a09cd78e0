"""An alert's state end to end (issue 23): Resolve (a modal, then the submission), Unacknowledge,
Unmute and a watch's runbook, through the real app over HTTP with signed Slack requests, the
Pipecat simulator, the Slack stand-in and the PagerDuty stand-in, on the simulator's clock
(bot/slack/incident_actions.py, bot/alerts/commands.py `resolve`/`unacknowledge`,
bot/blocks/alert_state.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.contracts.actions import RESOLVE_REASON_BLOCK, RESOLVE_REASON_INPUT, RESOLVE_VIEW, Action
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.signing import interactive_body
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests import store_reads
from tests.alert_clicks import button_click, buttons, headline
from tests.fixtures_app import AppFactory, load_payload
from tests.fixtures_pagerduty import ROUTING_KEY
from tests.fixtures_slack import ONCALL_CHANNEL

if TYPE_CHECKING:
    from bot.app import Runtime

AGENT = "voice-bot"
ADMIN = "U0ADMIN"
RUNBOOK = "https://wiki.example.com/runbooks/voice-bot?team=ops&step=1"


async def fail_and_deliver(rt: Runtime, sim: PipecatSimulator, clock: SimClock) -> None:
    sim.add_session(AGENT, "HTTP_ERROR")
    clock.advance(60)
    await rt.jobs.poll_once()
    await rt.jobs.deliver_once()


def click(action: Action, ts: str, value: str = AGENT, user_id: str = ADMIN) -> dict[str, Any]:
    return button_click(action, ts, user_id, value=value)


def submission(view: dict[str, Any], reason: str | None, user_id: str = ADMIN) -> dict[str, Any]:
    """What Slack sends when the modal's Resolve is pressed."""
    value = {"type": "plain_text_input", "value": reason}
    return {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": user_id, "team_id": "T0001"},
        "api_app_id": "A123456",
        "view": {
            **view,
            "id": "V0001",
            "state": {"values": {RESOLVE_REASON_BLOCK: {RESOLVE_REASON_INPUT: value}}},
        },
    }


def top_posts(standin: SlackStandIn) -> list[StoredMessage]:
    return standin.messages_in(ONCALL_CHANNEL)


async def test_resolve_asks_for_a_reason_closes_the_incident_resolves_pagerduty_and_the_next_failure_opens_anew(
    app_factory: AppFactory,
    pagerduty_url: str,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    slack_standin: SlackStandIn,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    env = {"PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "PAGERDUTY_EVENTS_URL": pagerduty_url, "ADMIN_USERS": ADMIN}
    async with app_factory(**env) as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT} page", user_id=ADMIN))
        await fail_and_deliver(rt, pipecat_sim, sim_clock)
        [parent] = top_posts(slack_standin)
        [alert] = pagerduty_standin.alerts
        assert Action.INCIDENT_RESOLVE in buttons(parent)

        # Someone not on ADMIN_USERS: refused, no modal.
        [refused] = await slack.responses(
            await slack.interact(click(Action.INCIDENT_RESOLVE, parent.ts, user_id="U0X"))
        )
        assert "Only admins" in json.dumps(refused.body)
        # The admin: the click opens the modal (with the click's trigger_id).
        await slack.interact(click(Action.INCIDENT_RESOLVE, parent.ts), message_ts=parent.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        [opened] = [v for v in slack_standin.views if v["method"] == "views.open"]
        assert opened["trigger_id"] == load_payload("block-actions.json")["trigger_id"]
        view = opened["view"]
        assert view["callback_id"] == RESOLVE_VIEW and "PagerDuty alert is resolved too" in json.dumps(view)

        # A submission by someone else (the modal may travel) is refused in the modal itself.
        answer = await slack.post(interactive_body(submission(view, "nope", user_id="U0X")))
        assert answer.json()["response_action"] == "errors"
        assert top_posts(slack_standin)[0].blocks == parent.blocks

        resolved_at = sim_clock.now()
        answer = await slack.post(interactive_body(submission(view, "rotated the <!channel> key")))
        assert answer.status_code == 200 and not answer.text  # an empty ack closes the modal
        await rt.deps.after_ack.drain(grace_seconds=10)
        await pagerduty_standin.wait_until(lambda: alert.status == "resolved")
        [shown] = top_posts(slack_standin)
        said = headline(shown)
        assert said.startswith(":white_check_mark:") and f"*Resolved* by <@{ADMIN}> after" in said
        assert "rotated the &lt;!channel&gt; key" in said  # the reason, escaped
        assert not {Action.INCIDENT_ACK, Action.INCIDENT_RESOLVE, Action.INCIDENT_MUTE} & set(buttons(shown))
        [incident] = await rt.store.incidents_for(ONCALL_CHANNEL)
        assert (incident.closed_at, incident.resolved_by) == (resolved_at, ADMIN)
        audit = [(e.action, e.user_id, e.result) for e in await store_reads.recent_audit(rt.store)]
        assert (Action.INCIDENT_RESOLVE.value, ADMIN, "ok") in audit
        assert (Action.INCIDENT_RESOLVE.value, "U0X", "refused") in audit

        # The next failure opens a new incident: a new parent, and a new PagerDuty alert.
        await fail_and_deliver(rt, pipecat_sim, sim_clock)
        first, second = top_posts(slack_standin)
        assert first.ts == parent.ts and headline(second).startswith(":rotating_light:")
        assert len(await rt.store.incidents_for(ONCALL_CHANNEL)) == 2
        await pagerduty_standin.wait_until(lambda: len(pagerduty_standin.alerts) == 2)

        # Resolving the first again (a second modal left open) changes nothing and says so privately.
        await slack.post(interactive_body(submission(view, None)))
        await rt.deps.after_ack.drain(grace_seconds=10)
        assert any(
            c.args.get("text") == "This incident is no longer open."
            for c in slack_standin.calls_to("chat.postEphemeral")
        )
        assert top_posts(slack_standin)[0].blocks == shown.blocks


async def test_unacknowledge_brings_acknowledge_back(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    async with app_factory() as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT}"))
        await fail_and_deliver(rt, pipecat_sim, sim_clock)
        [parent] = top_posts(slack_standin)
        await slack.interact(click(Action.INCIDENT_ACK, parent.ts), message_ts=parent.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        acked = top_posts(slack_standin)[0]
        assert headline(acked).startswith(":eyes:") and f"*Acknowledged* by <@{ADMIN}> at" in headline(acked)
        assert Action.INCIDENT_UNACK in buttons(acked) and Action.INCIDENT_ACK not in buttons(acked)

        await slack.interact(click(Action.INCIDENT_UNACK, parent.ts), message_ts=parent.ts)
        await rt.deps.after_ack.drain(grace_seconds=10)
        back = top_posts(slack_standin)[0]
        assert headline(back).startswith(":rotating_light:") and "*Triggered*" in headline(back)
        assert Action.INCIDENT_ACK in buttons(back) and Action.INCIDENT_UNACK not in buttons(back)
        [incident] = await rt.store.incidents_for(ONCALL_CHANNEL)
        assert incident.ack_by is None and incident.ack_at is None
        assert (Action.INCIDENT_UNACK.value, "ok") in [
            (e.action, e.result) for e in await store_reads.recent_audit(rt.store)
        ]


async def test_a_muted_alert_shows_unmute_and_unmute_ends_the_mute(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    async with app_factory() as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT}"))
        await fail_and_deliver(rt, pipecat_sim, sim_clock)
        [parent] = top_posts(slack_standin)
        mute = click(Action.INCIDENT_MUTE, parent.ts)
        mute["actions"][0] = {
            "action_id": Action.INCIDENT_MUTE.value,
            "block_id": "incident_actions",
            "type": "static_select",
            "selected_option": {"value": f"{AGENT}|1h"},
        }
        await slack.responses(await slack.interact(mute, message_ts=parent.ts))
        await rt.deps.after_ack.drain(grace_seconds=10)
        muted = top_posts(slack_standin)[0]
        assert Action.INCIDENT_UNMUTE in buttons(muted) and Action.INCIDENT_MUTE not in buttons(muted)
        assert ":mute: Muted until" in json.dumps(muted.blocks)

        key = await slack.interact(click(Action.INCIDENT_UNMUTE, parent.ts), message_ts=parent.ts)
        [answer] = await slack.responses(key)
        await rt.deps.after_ack.drain(grace_seconds=10)
        assert "are back on" in json.dumps(answer.body)
        unmuted = top_posts(slack_standin)[0]
        assert Action.INCIDENT_MUTE in buttons(unmuted) and Action.INCIDENT_UNMUTE not in buttons(unmuted)
        assert await rt.store.active_mute(ONCALL_CHANNEL, AGENT, sim_clock.now()) is None
        # Failures post again.
        await fail_and_deliver(rt, pipecat_sim, sim_clock)
        assert slack_standin.messages_in(ONCALL_CHANNEL, thread_ts=parent.ts)


async def test_a_watch_runbook_is_a_button_on_its_alerts_and_a_bad_one_is_refused(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    template = "https://pipecat.daily.co/acme/agents/{agent}/sessions/{session}"
    async with app_factory(PIPECAT_DASHBOARD_URL=template) as (rt, slack):
        await slack.command(f"watch {AGENT} runbook http://wiki.example.com/rb")
        assert "The runbook must be an https:// URL" in json.dumps(slack.ack_json())  # the usage answer
        assert await rt.store.watch(ONCALL_CHANNEL, AGENT) is None  # nothing was changed
        # Slack sends a link in a command as <url> with & escaped.
        [ok] = await slack.responses(await slack.command(f"watch {AGENT} runbook <{RUNBOOK.replace('&', '&amp;')}>"))
        assert "runbook" in json.dumps(ok.body)
        await fail_and_deliver(rt, pipecat_sim, sim_clock)
        [parent] = top_posts(slack_standin)
        shown = buttons(parent)
        assert shown[Action.ALERT_RUNBOOK]["url"] == RUNBOOK
        assert parent.metadata is not None
        session_id = parent.metadata["event_payload"]["session_id"]
        assert shown[Action.ALERT_DASHBOARD]["url"] == f"https://pipecat.daily.co/acme/agents/{AGENT}"
        assert shown[Action.ALERT_DASHBOARD_SESSION]["url"].endswith(f"/agents/{AGENT}/sessions/{session_id}")
        # Slack opens the link and still sends the click: it is acknowledged and audited.
        await slack.interact(click(Action.ALERT_RUNBOOK, parent.ts), message_ts=parent.ts)
        assert slack.last_ack is not None and slack.last_ack.status_code == 200
        await rt.deps.after_ack.drain(grace_seconds=10)
        assert (Action.ALERT_RUNBOOK.value, "ok") in [
            (e.action, e.result) for e in await store_reads.recent_audit(rt.store)
        ]
        # Watching again without a runbook takes it off (a watch is what its last command said).
        await slack.responses(await slack.command(f"watch {AGENT}"))
        watch = await rt.store.watch(ONCALL_CHANNEL, AGENT)
        assert watch is not None and watch.runbook is None
