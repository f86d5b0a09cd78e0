"""The demo's Pipecat Cloud webhooks, on the real clock: the simulator signs and delivers them to
the app the way Pipecat Cloud does, at least once and not always.

- a secret change (the TTS key) early on;
- spend at 80 % of the limit, delivered twice (a retry after a lost answer: the app posts once);
- the crash-looping deploy of sandbox/demo/health.py: its build and `deployment.updated`
  (the app reads the agent's status at once, and the health alert says what changed);
- the fix: its `deployment.updated` is lost, as when Pipecat's API restarts right after a deploy
  (the status poll still sees the fix and resolves the alert);
- spend at 90 % later on.
Registered in sandbox/demo/scenarios.py; tests call the steps directly.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from sandbox.demo.health import BAD_DEPLOY_AFTER, FIX_AFTER
from sandbox.pipecat.agents import status_of
from sandbox.pipecat.simulator import PipecatSimulator

logger = logging.getLogger(__name__)

SECRET_SET = "voice-bot-secrets"
#: The demo organization's monthly spend limit.
LIMIT_CENTS = 50_000
SECRET_AFTER = 8.0
THRESHOLD_AFTER = 12.0
#: The deploy webhooks follow the simulator's deploys by this much (Pipecat sends them right after).
AFTER_DEPLOY = 1.0
SECOND_THRESHOLD_AFTER = 240.0

Sleep = Callable[[float], Coroutine[Any, Any, None]]


class WebhookStory:
    def __init__(self, sim: PipecatSimulator, agent: str) -> None:
        self.sim = sim
        self.agent = agent

    async def secret_changed(self) -> None:
        await self.sim.webhooks.secret_updated(SECRET_SET, ["CARTESIA_API_KEY"])

    async def spend(self, percent: int) -> None:
        await self.sim.webhooks.spend_threshold(percent, LIMIT_CENTS, twice=percent == 80)

    async def deployed(self, *, lost: bool = False) -> str:
        """The webhooks of the agent's newest deployment; `lost` loses its deployment.updated."""
        owner = self.sim.agents[self.agent]
        deployment = status_of(owner).desired.id
        await self.sim.webhooks.deployed(
            self.agent, deployment, service_id=owner.service_id, region=owner.region, drop_deployment=lost
        )
        return deployment


async def webhook_burst(sim: PipecatSimulator, agent: str, rng: random.Random, *, sleep: Sleep = asyncio.sleep) -> None:
    story = WebhookStory(sim, agent)
    steps: list[tuple[float, str, Callable[[], Coroutine[Any, Any, object]]]] = [
        (SECRET_AFTER, "a secret change", story.secret_changed),
        (THRESHOLD_AFTER, "spend at 80% (delivered twice)", lambda: story.spend(80)),
        (BAD_DEPLOY_AFTER + AFTER_DEPLOY, "the bad deploy's webhooks", story.deployed),
        (FIX_AFTER + AFTER_DEPLOY, "the fix's webhooks (deployment.updated lost)", lambda: story.deployed(lost=True)),
        (SECOND_THRESHOLD_AFTER, "spend at 90%", lambda: story.spend(90)),
    ]
    elapsed = 0.0
    for at, what, step in steps:
        await sleep(at - elapsed)
        elapsed = at
        try:
            await step()
        except Exception:  # the app may be stopping: the demo goes on without this webhook
            logger.warning("demo: could not deliver %s", what, exc_info=True)
        else:
            logger.info("demo: webhook delivered: %s", what)
