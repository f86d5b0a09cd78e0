"""Acknowledge is first-come: a second click (another person, or a double click) keeps who
acknowledged first and when, on the parent and in PagerDuty, and tells its clicker privately who
already did (bot/store/incidents.py `acknowledge`, bot/slack/incident_actions.py `acknowledge`)."""

from __future__ import annotations

import json
from typing import Any

from bot.contracts.actions import Action
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_app import AppFactory, load_payload
from tests.fixtures_pagerduty import ROUTING_KEY
from tests.fixtures_slack import ONCALL_CHANNEL

AGENT = "voice-bot"
FIRST, SECOND = "U0FIRST", "U0SECOND"


def acknowledge(ts: str, user_id: str) -> dict[str, Any]:
    payload = load_payload("block-actions.json")
    payload["actions"][0]["action_id"] = Action.INCIDENT_ACK.value
    payload["container"]["message_ts"] = payload["message"]["ts"] = ts
    payload["user"] = {**payload["user"], "id": user_id}
    return payload


async def test_a_second_acknowledge_keeps_the_first_and_says_who_it_was(
    app_factory: AppFactory,
    pagerduty_url: str,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    slack_standin: SlackStandIn,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    async with app_factory(PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty_url) as (rt, slack):
        await slack.responses(await slack.command(f"watch {AGENT} page"))
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        sim_clock.advance(60)
        await rt.jobs.poll_once()
        await rt.jobs.deliver_once()
        [parent] = slack_standin.messages_in(ONCALL_CHANNEL)
        [alert] = pagerduty_standin.alerts
        first_at = sim_clock.now()
        await slack.interact(acknowledge(parent.ts, FIRST), message_ts=parent.ts)
        await pagerduty_standin.wait_until(lambda: alert.status == "acknowledged")
        await rt.deps.after_ack.drain(grace_seconds=10)
        edits = len(slack_standin.calls_to("chat.update"))
        state = json.dumps(slack_standin.messages_in(ONCALL_CHANNEL)[0].blocks)
        assert f"*Acknowledged* by <@{FIRST}>" in state
        sim_clock.advance(120)
        key = await slack.interact(acknowledge(parent.ts, SECOND), message_ts=parent.ts)
        [answer] = await slack.responses(key)
        await rt.deps.after_ack.drain(grace_seconds=10)
        said = json.dumps(answer.body)
        assert f"<@{FIRST}> already acknowledged this incident" in said
        assert f"<!date^{int(first_at.timestamp())}^" in said  # when: the first click's time
        assert answer.body["response_type"] == "ephemeral"  # only the clicker sees it
        assert json.dumps(slack_standin.messages_in(ONCALL_CHANNEL)[0].blocks) == state  # the parent keeps the first
        assert len(slack_standin.calls_to("chat.update")) == edits  # and is not edited again
        [incident] = await rt.store.incidents_for(ONCALL_CHANNEL)
        assert (incident.ack_by, incident.ack_at) == (FIRST, first_at)
    assert [e.action for e in pagerduty_standin.requests] == ["trigger", "acknowledge"]
