"""What the demo shows beyond everyday traffic: named scenarios, each one Pipecat trouble that an
alert should explain. Each scenario prepares the simulator (`setup`) and may add live traffic
(`burst`, run on the demo's wall clock): a TTS quota storm, a crash-looping deploy and an agent
at capacity (the last two in sandbox/demo/health.py). These play by themselves in the first
minutes; the rate scenarios of the busy agent (a bad deploy, its rollback, calls that stop) are
played from the page when the reader clicks them (sandbox/demo/rates.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sandbox.demo.health import capacity_burst, crash_loop_burst
from sandbox.demo.webhooks import webhook_burst
from sandbox.pipecat.simulator import PipecatSimulator

#: A Cartesia TTS key out of quota, the way the bot's log tells it (shape of logs-session-error.json):
#: every failing session of the agent logs it, so its incident has one cause, counted many times.
TTS_QUOTA_LOG = (
    "ERROR    | pipecat.services.cartesia.tts:_receive_messages:398 - CartesiaTTSService#{n} error: websocket "
    "closed unexpectedly (code 1011): quota exceeded for key ck_live_9f8e7d6c5b4a39281706",
    "Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.12/site-packages/pipecat/services/cartesia/tts.py", line 391, in _receive_messages',
    "    async for message in self._get_websocket():",
    "websockets.exceptions.ConnectionClosedError: received 1011 (internal error) quota exceeded; "
    "then sent 1011 (internal error) quota exceeded",
    "ERROR    | pipecat.pipeline.task:_handle_error:520 - Pipeline error, cancelling: ErrorFrame(fatal=True)",
)
#: Sessions the TTS scenario fails at once, shortly after the demo starts.
TTS_BURST_SESSIONS = 8


@dataclass(frozen=True)
class Scenario:
    name: str
    agent: str
    setup: Callable[[PipecatSimulator, str], None]
    burst: Callable[[PipecatSimulator, str, random.Random], Coroutine[Any, Any, None]] | None = None


def _tts_quota_setup(sim: PipecatSimulator, agent: str) -> None:
    sim.set_failure_log(agent, TTS_QUOTA_LOG)


Sleep = Callable[[float], Coroutine[Any, Any, None]]


async def tts_quota_burst(
    sim: PipecatSimulator, agent: str, rng: random.Random, *, sleep: Sleep = asyncio.sleep
) -> None:
    """Many calls fail within a minute: the incident rolls them up and names the one cause."""
    await sleep(3)
    sessions = [sim.start_session(agent, cold_start=False) for _ in range(TTS_BURST_SESSIONS)]
    for sid in sessions:
        await sleep(rng.uniform(0.5, 2.5))
        sim.end_session(agent, sid, "HTTP_ERROR", end_state="agent_error")


def _no_setup(sim: PipecatSimulator, agent: str) -> None:
    return None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("tts-quota", "voice-bot", _tts_quota_setup, tts_quota_burst),
    Scenario("crash-loop", "voice-bot", _no_setup, crash_loop_burst),
    Scenario("capacity", "voice-bot", _no_setup, capacity_burst),
    Scenario("webhooks", "voice-bot", _no_setup, webhook_burst),
)


def set_up(sim: PipecatSimulator, scenarios: tuple[Scenario, ...] = SCENARIOS) -> None:
    for scenario in scenarios:
        scenario.setup(sim, scenario.agent)
