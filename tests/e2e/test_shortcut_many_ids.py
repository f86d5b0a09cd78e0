"""The message shortcut resolves each session id on its own (bot/slack/shortcuts.py, bot/slack/references.py).

A message names six sessions of four agents: each id is looked up with the agent named on its own
line, then the other agents the message names, the channel's watched agents and the organization's
agents (at most `SHORTCUT_MAX_CANDIDATES`), so every one of the first five is found; the sixth,
over `MAX_REFERENCES`, is named in a reply instead of being dropped.
"""

from __future__ import annotations

import json

from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.slack.standin import SlackStandIn
from tests.e2e.test_lookup import shortcut_payload
from tests.fixtures_app import SlackDriver
from tests.fixtures_slack import ONCALL_CHANNEL


async def test_every_id_gets_its_own_agent_and_the_sixth_is_named(
    pipecat_sim: PipecatSimulator, slack: SlackDriver, slack_standin: SlackStandIn
) -> None:
    pipecat_sim.add_agent("sales-bot")
    pipecat_sim.add_agent("billing-bot")
    voice = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    support = pipecat_sim.add_session("support-bot", "HTTP_ERROR")
    sales = pipecat_sim.add_session("sales-bot", "HTTP_ERROR")
    sales_again = pipecat_sim.add_session("sales-bot", "BOT_CONNECTION_TIMEOUT")
    billing = pipecat_sim.add_session("billing-bot", "HTTP_ERROR")  # named nowhere in the message
    sixth = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    text = "\n".join(
        [
            f"voice-bot dropped {voice}",
            f"support-bot: {support}",
            f"and sales-bot had {sales}",
            f"also {sales_again}",
            f"unknown {billing}",
            f"one more {sixth}",
        ]
    )
    await slack.interact(shortcut_payload(text=text, blocks=[]), channel_id=ONCALL_CHANNEL)
    calls = await slack_standin.wait_for_calls("chat.postMessage", 6)
    shown = [json.dumps(c.args.get("blocks"), ensure_ascii=False) for c in calls]
    summaries = "\n".join(shown[:5])
    assert "not found" not in summaries.lower()
    for agent, sid in [
        ("voice-bot", voice),
        ("support-bot", support),
        ("sales-bot", sales),
        ("sales-bot", sales_again),
        ("billing-bot", billing),
    ]:
        assert any(sid in s and agent in s for s in shown[:5]), (agent, sid)
    assert "not looked up" in shown[5] and sixth in shown[5] and "6 session ids" in shown[5]
