"""The demo's agent-health scenarios, on the real clock: voice-bot gets a bad deploy that
crash-loops (its old pods keep serving) and the fix goes out; later voice-bot runs at capacity
for a while. Registered in sandbox/demo/scenarios.py; tests call the steps directly.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from sandbox.pipecat.simulator import PipecatSimulator

logger = logging.getLogger(__name__)

#: What the bad deploy prints as it crashes (quoted by the health alert).
CRASH_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/bot.py", line 14, in <module>\n'
    "    from pipecat.services.cartesia.tts import CartesiaTTSService\n"
    "ModuleNotFoundError: No module named 'pipecat.services.cartesia'"
)
#: Seconds into the demo of each step (status reads run every few seconds in the demo).
BAD_DEPLOY_AFTER = 20.0
FIX_AFTER = 100.0
SQUEEZE_AFTER = 140.0
RELAX_AFTER = 300.0
SQUEEZED_MAX_REPLICAS = 3
NORMAL_MAX_REPLICAS = 10


class HealthStory:
    def __init__(self, sim: PipecatSimulator, agent: str) -> None:
        self.sim = sim
        self.agent = agent
        self._held: list[str] = []

    def bad_deploy(self) -> str:
        return self.sim.deploy(self.agent, crash="CrashLoopBackOff", message=CRASH_TRACEBACK)

    def fix(self) -> str:
        return self.sim.deploy(self.agent)

    def squeeze(self, max_replicas: int = SQUEEZED_MAX_REPLICAS) -> None:
        """Fewer replicas, and long calls holding every one: new starts get 429 PCC-AGENT-AT-CAPACITY."""
        self.sim.set_max_replicas(self.agent, max_replicas)
        while not self.sim.at_capacity(self.agent):
            self._held.append(self.sim.start_session(self.agent))

    def relax(self) -> None:
        for sid in self._held:
            try:
                self.sim.end_session(self.agent, sid)
            except ValueError:
                logger.debug("held session %s already ended", sid)
        self._held.clear()
        self.sim.set_max_replicas(self.agent, NORMAL_MAX_REPLICAS)


Sleep = Callable[[float], Coroutine[Any, Any, None]]


async def crash_loop_burst(
    sim: PipecatSimulator, agent: str, rng: random.Random, *, sleep: Sleep = asyncio.sleep
) -> None:
    """A bad deploy crash-loops (health alert, traceback quoted), then the fix (its recovery)."""
    story = HealthStory(sim, agent)
    await sleep(BAD_DEPLOY_AFTER)
    story.bad_deploy()
    logger.info("demo: a crash-looping deploy of %s", agent)
    await sleep(FIX_AFTER - BAD_DEPLOY_AFTER)
    story.fix()
    logger.info("demo: the fix of %s is deployed", agent)


async def capacity_burst(
    sim: PipecatSimulator, agent: str, rng: random.Random, *, sleep: Sleep = asyncio.sleep
) -> None:
    """Fewer replicas and long calls: the agent is at capacity (starts refused), then relaxes."""
    story = HealthStory(sim, agent)
    await sleep(SQUEEZE_AFTER)
    story.squeeze()
    logger.info("demo: %s at capacity", agent)
    await sleep(RELAX_AFTER - SQUEEZE_AFTER)
    story.relax()
