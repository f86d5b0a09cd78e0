"""With ADMIN_USERS set, Acknowledge is an admin verb like Mute: a user refused Mute is refused
Acknowledge too, and the PagerDuty alert keeps escalating (`acknowledge` is what stops it).

Where: bot/contracts/actions.py ADMIN_ONLY lists INCIDENT_ACK beside INCIDENT_MUTE; the access
policy (bot/access/policy.py) refuses it before bot/slack/incident_actions.py runs.
"""

from __future__ import annotations

import json
from typing import Any

from bot.contracts.actions import Action, mute_value
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_app import AppFactory, load_payload
from tests.fixtures_pagerduty import ROUTING_KEY
from tests.fixtures_slack import ONCALL_CHANNEL

AGENT = "voice-bot"
ADMIN = "U0ADMIN"


def click(action: Action, value: str, ts: str, user_id: str | None = None) -> dict[str, Any]:
    payload = load_payload("block-actions.json")  # from USER, who is not an admin
    payload["actions"][0]["action_id"] = action.value
    payload["actions"][0]["value"] = value
    payload["container"]["message_ts"] = payload["message"]["ts"] = ts
    if user_id is not None:
        payload["user"] = {**payload["user"], "id": user_id}
    return payload


async def test_a_user_refused_mute_cannot_acknowledge_the_page(
    app_factory: AppFactory,
    pagerduty_url: str,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    slack_standin: SlackStandIn,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    async with app_factory(
        PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty_url, ADMIN_USERS=ADMIN
    ) as (runtime, slack):
        await slack.responses(await slack.command(f"watch {AGENT} page", user_id=ADMIN))
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        sim_clock.advance(60)
        await runtime.jobs.poll_once()
        await runtime.jobs.deliver_once()
        [parent] = slack_standin.messages_in(ONCALL_CHANNEL)
        [alert] = pagerduty_standin.alerts
        mute = click(Action.INCIDENT_MUTE, mute_value(AGENT, "1h"), parent.ts)
        key = await slack.interact(mute, message_ts=parent.ts)
        assert "Only admins" in json.dumps([r.body for r in await slack.responses(key)])  # Mute: refused
        key = await slack.interact(click(Action.INCIDENT_ACK, f"{AGENT}:x", parent.ts), message_ts=parent.ts)
        assert "Only admins" in json.dumps([r.body for r in await slack.responses(key)])  # and Acknowledge
        await runtime.deps.after_ack.drain(grace_seconds=10)  # anything the click started has finished
        assert alert.status == "triggered", "a non-admin stopped the page's escalation"
        assert [e.action for e in pagerduty_standin.requests] == ["trigger"]
        assert "Acknowledged" not in json.dumps(slack_standin.messages_in(ONCALL_CHANNEL)[0].blocks)
        # An admin's Acknowledge goes through, to PagerDuty too.
        ack = click(Action.INCIDENT_ACK, f"{AGENT}:x", parent.ts, user_id=ADMIN)
        await slack.interact(ack, message_ts=parent.ts)
        await pagerduty_standin.wait_until(lambda: alert.status == "acknowledged")
