"""The demo's agent-health story, on the real clock: voice-bot gets a bad deploy that crash-loops
(its old pods keep serving), the fix goes out, then voice-bot runs at capacity for a while.

`python -m bot demo` plays it in the background; tests call the steps directly.
"""

from __future__ import annotations

import asyncio
import logging

from bot.sandbox.pipecat_sim import PipecatSimulator

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

    async def play(self) -> None:
        """Every step at its time; cancelled when the demo stops."""
        elapsed = 0.0
        for at, step in (
            (BAD_DEPLOY_AFTER, self.bad_deploy), (FIX_AFTER, self.fix),
            (SQUEEZE_AFTER, self.squeeze), (RELAX_AFTER, self.relax),
        ):
            await asyncio.sleep(at - elapsed)
            elapsed = at
            step()
            logger.info("demo: %s on %s", step.__name__.replace("_", " "), self.agent)
