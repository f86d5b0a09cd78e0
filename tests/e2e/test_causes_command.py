"""`/session causes <agent> [1h|24h|7d]` end to end: signed command → the app → its ranked answer,
with a working Details button on the example session."""

from __future__ import annotations

import json
from typing import Any

from bot.app import Runtime
from bot.contracts.actions import Action
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.fixtures_app import SlackDriver, load_payload
from tests.fixtures_slack import ONCALL_CHANNEL

AGENT = "voice-bot"
TTS = "ERROR    | pipecat.services.cartesia.tts:_receive_messages:{line} - CartesiaTTSService#{n} error: quota exceeded"
STT = "ERROR    | pipecat.services.deepgram.stt:_connect:{line} - DeepgramSTTService#{n} error: timed out after {n}ms"


def text_of(body: dict[str, Any]) -> str:
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


async def test_causes_ranks_the_agents_failure_causes_with_a_details_button(
    running: tuple[Runtime, SlackDriver], pipecat_sim: PipecatSimulator, sim_clock: SimClock
) -> None:
    runtime, slack = running
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, "U1")
    sim_clock.advance(5)
    pipecat_sim.set_failure_log(AGENT, [TTS])
    tts = [pipecat_sim.add_session(AGENT, "HTTP_ERROR") for _ in range(3)]
    pipecat_sim.set_failure_log(AGENT, [STT])
    pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    sim_clock.advance(5)
    await runtime.jobs.run_cycle()

    [post] = await slack.responses(await slack.command(f"causes {AGENT} 1h"))
    shown = text_of(post.body)
    assert post.body["response_type"] == "in_channel"
    assert shown.index("3×* `CartesiaTTSService error: quota exceeded`") < shown.index(
        "1×* `DeepgramSTTService error: timed out after Nms`"
    )
    assert "first seen" in shown and "last seen" in shown and "last incident" in shown
    buttons = [b["accessory"] for b in post.body["blocks"] if b.get("accessory", {}).get("type") == "button"]
    assert buttons[0]["action_id"] == Action.INCIDENT_DETAILS
    example = buttons[0]["value"].split(":", 1)[1]
    assert example in tts

    payload = load_payload("block-actions.json")
    payload["actions"][0].update({"action_id": Action.INCIDENT_DETAILS, "value": buttons[0]["value"]})
    before = len(slack.standin.calls_to("chat.postMessage"))
    await slack.interact(payload)
    await slack.standin.wait_until(
        lambda: any(example in json.dumps(c.args) for c in slack.standin.calls_to("chat.postMessage")[before:])
    )  # the example session's summary


async def test_causes_with_nothing_recorded_says_so_and_a_bad_window_is_refused(slack: SlackDriver) -> None:
    [post] = await slack.responses(await slack.command(f"causes {AGENT} 24h"))
    assert "No failure with an error in its log in the last 24h" in text_of(post.body)
    await slack.command(f"causes {AGENT} 2w")
    assert "`causes` windows are 1h, 24h or 7d: expected `/session causes" in json.dumps(slack.ack_json())


async def test_a_numbered_details_button_opens_its_own_session(
    running: tuple[Runtime, SlackDriver], pipecat_sim: PipecatSimulator
) -> None:
    """The digest's second and third Details buttons carry `incident_details#1`/`#2` (Slack refuses a
    block that repeats an action_id: bot/contracts/actions.py `nth_action`); the same handler answers
    them with the session their value names."""
    _, slack = running
    sessions = [pipecat_sim.add_session(AGENT, "HTTP_ERROR") for _ in range(3)]
    payload = load_payload("block-actions.json")
    payload["actions"][0].update({"action_id": f"{Action.INCIDENT_DETAILS}#2", "value": f"{AGENT}:{sessions[2]}"})
    before = len(slack.standin.calls_to("chat.postMessage"))
    await slack.interact(payload)
    await slack.standin.wait_until(
        lambda: any(sessions[2] in json.dumps(c.args) for c in slack.standin.calls_to("chat.postMessage")[before:])
    )
