"""Rates end to end through the app: a busy agent's regression posts a rate alert whose
Acknowledge and Details buttons work; `/session rates` shows the windows against the usual and the
failure rate per deployment; `/session slo` sets an SLO whose budget `/session rates` and the
agent card then show."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.app import Runtime
from bot.contracts.actions import Action
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.fixtures_app import SlackDriver, load_payload
from tests.fixtures_slack import ONCALL_CHANNEL
from tests.rate_traffic import Traffic

AGENT = "voice-bot"
#: The SLO budget line every surface shows (bot/blocks/rates.py `slo_budget_text`).
BUDGET = r"SLO 99\.5% over 28d: -?\d+% of its error budget left \(over the [\d.]+ days counted so far\)"


def text_of(body: dict[str, Any]) -> str:
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


async def minutes(runtime: Runtime, clock: SimClock, traffic: Traffic, count: int) -> None:
    for _ in range(count):
        clock.advance(60)
        traffic.minute()
        await runtime.jobs.run_cycle()


async def test_rate_alert_buttons_and_the_rates_and_slo_commands(
    running: tuple[Runtime, SlackDriver], pipecat_sim: PipecatSimulator, sim_clock: SimClock
) -> None:
    runtime, slack = running
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(pipecat_sim, AGENT, per_minute=60, fail_share=0.02)
    await minutes(runtime, sim_clock, traffic, 10)
    traffic.fail_share = 0.4
    await minutes(runtime, sim_clock, traffic, 2)
    [alert] = [m for m in slack.standin.messages_in(ONCALL_CHANNEL) if "of calls failing" in m.text]

    payload = load_payload("block-actions.json")
    payload["actions"][0].update({"action_id": Action.RATE_ACK, "value": AGENT, "block_id": "rate_actions"})
    payload["container"]["message_ts"] = alert.ts
    payload["message"]["ts"] = alert.ts
    await slack.interact(payload, message_ts=alert.ts)

    def acknowledged() -> bool:
        posts = [m for m in slack.standin.messages_in(ONCALL_CHANNEL) if "of calls failing" in m.text]
        return len(posts) == 1 and "*Acknowledged* by <@U2147483697>" in json.dumps(posts[0].blocks)

    await slack.standin.wait_until(acknowledged)  # the click wakes delivery, which edits the post

    payload["actions"][0].update({"action_id": Action.RATE_DETAILS})
    [details] = await slack.responses(await slack.interact(payload, message_ts=alert.ts))
    assert details.body["response_type"] == "ephemeral"
    assert "Rates of voice-bot" in text_of(details.body)

    [card] = await slack.responses(await slack.command(f"rates {AGENT}"))
    shown = text_of(card.body)
    assert card.body["response_type"] == "in_channel"
    for label in ("5 min", "1 h", "24 h", "usual"):
        assert f"`{label}" in shown
    assert "Failure rate per deployment, last hour" in shown
    assert "Open rate alerts" in shown and "of calls failing" in shown
    assert "SLO" not in shown

    [answer] = await slack.responses(await slack.command(f"slo {AGENT} 99.5%"))
    assert "SLO for *voice-bot*: 99.5% of sessions good over 28d" in text_of(answer.body)
    [card] = await slack.responses(await slack.command(f"rates {AGENT}"))
    budget = re.search(BUDGET, text_of(card.body))
    assert budget is not None, text_of(card.body)

    [card] = await slack.responses(await slack.command(f"agent {AGENT}"))
    assert "last 5 min: 60.0 started a minute" in text_of(card.body)
    assert budget.group(0) in text_of(card.body)  # the same numbers in the same words

    [answer] = await slack.responses(await slack.command(f"slo {AGENT} off"))
    assert "No SLO for *voice-bot* any more" in text_of(answer.body)
