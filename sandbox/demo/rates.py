"""The demo's rate scenarios, on a busy agent: call-center takes a call a second (the simulator's
traffic model, sandbox/pipecat/traffic.py) and usually fails 2 % of them. From the page's
Scenarios list a reader plays, on the demo's clock:

- *bad deploy*: a new deployment goes live and 30 % of its calls fail: a rate alert that names it;
- *roll back*: the previous deployment serves again, 2 % fail again: the rate alert resolves;
- *stop calls*: nothing starts any more (a spend limit): a silence alert; *resume calls* clears it.

Timing. The rate detectors judge whole minutes against the agent's usual, and an alert clears only
after staying clearly back for a while. With the product's rules (bot/rates/policy.py: a 5-minute
window, a 3-minute hold) a rollback would resolve about 8 minutes after the click, so the demo's
app runs with DEMO_RATE_RULES (bot/rates/policy.py, chosen by `build_runtime(demo_rates=True)`):
the same tests over 2-minute windows with a 30-second hold, and every scenario shows its alert, or
its end, within about two minutes.

History. The detectors compare with what the app itself counted, and the app counts only what its
polls see. So the demo starts with the clock set back by `HISTORY`, and the app polls its way
through the busy agent's last `HISTORY` one minute at a time (`replay_history`) before the demo
goes live at the wall clock's time: the usual is known at once, and so is that call-center is busy
(its background failures are rolled up every 10 minutes, not posted one by one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.pipecat.traffic import Traffic

logger = logging.getLogger(__name__)

BUSY_AGENT = "call-center"
CALLS_PER_MINUTE = 60
USUAL_FAILING = 0.02
BAD_DEPLOY_FAILING = 0.30
#: Its autoscaling ceiling: a call a second for 20 s keeps about 20 calls running, well under the
#: capacity warning (CAPACITY_WARN_PERCENT, 80 % by default).
MAX_REPLICAS = 50
#: The busy agent's past the app polls through at start: enough for its usual failures an hour to
#: be known (30 minutes before the detectors' short window: bot/rates/policy.py
#: USUAL_FAILURES_MIN_HISTORY), so its background failures are rolled up from the start.
HISTORY = timedelta(minutes=35)
#: Seconds between two steps of the live traffic.
TICK_SECONDS = 1.0

#: What call-center's failures log: a background of STT timeouts; on the bad deploy, an LLM model
#: name that does not exist (shape of logs-session-error.json).
BACKGROUND_LOG = (
    "ERROR    | pipecat.services.deepgram.stt:_connect:212 - DeepgramSTTService#{n} error: "
    "timed out after 10000ms waiting for the first transcript",
)
BAD_DEPLOY_LOG = (
    "ERROR    | pipecat.services.openai.base_llm:_stream_chat_completions:{line} - OpenAILLMService#{n} error: "
    "the model `gpt-realtime-mini` does not exist or you do not have access to it",
    "Traceback (most recent call last):",
    '  File "/app/bot.py", line 61, in run_bot',
    "    await runner.run(task)",
    "openai.NotFoundError: Error code: 404 - model_not_found",
)


class ScenarioRefused(ValueError):
    """A step that does not apply now (a rollback with nothing to roll back); says what does."""


@dataclass(frozen=True)
class Play:
    """One step the page offers: its name (what the page posts), label and what to expect."""

    name: str
    label: str
    expect: str


BAD_DEPLOY = Play("bad-deploy", "Bad deploy", "30% of calls fail: a rate alert in about a minute")
ROLLBACK = Play("rollback", "Roll back", "the previous deployment serves again: the rate alert resolves")
STOP_CALLS = Play("stop-calls", "Stop calls", "no call starts: a silence alert in about two minutes")
RESUME_CALLS = Play("resume-calls", "Resume calls", "calls start again: the silence alert clears")
PLAYS = (BAD_DEPLOY, ROLLBACK, STOP_CALLS, RESUME_CALLS)


class RateStory:
    """The busy agent and its traffic; the steps the page plays. `advance()` plays the traffic up
    to the simulator's clock (the live loop calls it every second, tests after moving the clock)."""

    def __init__(self, sim: PipecatSimulator, agent: str = BUSY_AGENT) -> None:
        self.sim = sim
        self.agent = agent
        sim.add_agent(agent)
        sim.set_max_replicas(agent, MAX_REPLICAS)
        sim.set_failure_log(agent, BACKGROUND_LOG)
        self.traffic = Traffic(sim, agent, per_minute=CALLS_PER_MINUTE, fail_share=USUAL_FAILING)
        self._last = sim.clock.now()
        #: The deployment a bad deploy replaced, while the bad one serves.
        self.previous: str | None = None
        self.bad: str | None = None

    @property
    def stopped(self) -> bool:
        return self.traffic.per_minute == 0

    def advance(self) -> None:
        now = self.sim.clock.now()
        self.traffic.tick(max((now - self._last).total_seconds(), 0.0))
        self._last = max(now, self._last)

    # -- the steps -------------------------------------------------------------------------------

    def available(self, play: Play) -> bool:
        return {
            BAD_DEPLOY.name: self.bad is None,
            ROLLBACK.name: self.bad is not None,
            STOP_CALLS.name: not self.stopped,
            RESUME_CALLS.name: self.stopped,
        }[play.name]

    def menu(self) -> list[dict[str, Any]]:
        """The steps as the page lists them, each saying whether it applies now."""
        return [
            {"name": p.name, "label": p.label, "expect": p.expect, "agent": self.agent, "enabled": self.available(p)}
            for p in PLAYS
        ]

    async def play(self, name: str) -> str:
        """Run the step `name`; returns what happened, for the reader. ScenarioRefused when it does
        not apply now, ValueError when there is no such step."""
        play = next((p for p in PLAYS if p.name == name), None)
        if play is None:
            raise ValueError(f"no scenario {name!r}; try one of {', '.join(p.name for p in PLAYS)}")
        if not self.available(play):
            raise ScenarioRefused(self._why_not(play))
        self.advance()  # the traffic so far ran under the old conditions
        if play is BAD_DEPLOY:
            deployment = await self.bad_deploy()
            return f"Deployed {deployment[:8]} to {self.agent}: {play.expect}."
        if play is ROLLBACK:
            deployment = await self.rollback()
            return f"Rolled {self.agent} back to {deployment[:8]}: {play.expect}."
        if play is STOP_CALLS:
            self.stop_calls()
        else:
            self.resume_calls()
        return f"{self.agent}: {play.expect}."

    def _why_not(self, play: Play) -> str:
        if play is BAD_DEPLOY:
            return f"a bad deploy of {self.agent} is live already: roll it back first"
        if play is ROLLBACK:
            return f"nothing to roll back: {self.agent} runs its usual deployment"
        if play is STOP_CALLS:
            return f"{self.agent}'s calls are stopped already: resume them first"
        return f"{self.agent}'s calls are running"

    async def bad_deploy(self) -> str:
        """A new deployment goes live (its webhooks sent as Pipecat does) and 30 % of its calls fail."""
        self.previous = self.sim.serving_deployment(self.agent)
        self.bad = self.sim.deploy(self.agent)
        self.traffic.fail_share = BAD_DEPLOY_FAILING
        self.sim.set_failure_log(self.agent, BAD_DEPLOY_LOG)
        await self._deployed(self.bad)
        logger.info("demo: a bad deploy of %s (%s)", self.agent, self.bad)
        return self.bad

    async def rollback(self) -> str:
        """The deployment the bad one replaced serves again; 2 % of calls fail again."""
        assert self.previous is not None
        back = self.sim.deploy(self.agent, deployment_id=self.previous)
        self.previous = self.bad = None
        self.traffic.fail_share = USUAL_FAILING
        self.sim.set_failure_log(self.agent, BACKGROUND_LOG)
        logger.info("demo: %s rolled back to %s", self.agent, back)
        return back

    def stop_calls(self) -> None:
        self.traffic.per_minute = 0
        logger.info("demo: %s's calls stop", self.agent)

    def resume_calls(self) -> None:
        self.traffic.per_minute = CALLS_PER_MINUTE
        logger.info("demo: %s's calls resume", self.agent)

    async def _deployed(self, deployment: str) -> None:
        """The deployment's webhooks, when the app is listening (best effort, as the demo's others)."""
        if self.sim.webhooks.url is None:
            return
        owner = self.sim.agents[self.agent]
        try:
            await self.sim.webhooks.deployed(self.agent, deployment, service_id=owner.service_id, region=owner.region)
        except Exception:  # the app may be stopping: the scenario goes on without them
            logger.warning("demo: could not deliver the webhooks of %s's deployment", self.agent, exc_info=True)


async def replay_history(
    story: RateStory, clock: SimClock, cycle: Callable[[], Awaitable[None]], span: timedelta = HISTORY
) -> None:
    """Play `span` of the busy agent's traffic, a minute at a time, each followed by `cycle` (the
    app's poll and delivery), moving `clock` forward by `span` in all: set it back by `span` first
    and it ends at the time it started."""
    for _ in range(int(span.total_seconds() // 60)):
        clock.advance(60)
        story.advance()
        await cycle()


Sleep = Callable[[float], Coroutine[Any, Any, None]]


async def live_traffic(story: RateStory, *, sleep: Sleep = asyncio.sleep) -> None:
    """The busy agent's calls on the demo's clock, until cancelled."""
    while True:
        await sleep(TICK_SECONDS)
        story.advance()
