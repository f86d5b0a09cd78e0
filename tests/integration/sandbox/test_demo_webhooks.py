"""The demo's webhooks: the simulator signs and delivers them to the app during the demo, once,
twice (a retry) or not at all (a lost deployment.updated), as Pipecat Cloud does."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import pytest

from sandbox.demo.stack import ONCALL_CHANNEL, WATCHED_AGENT, DemoStack, run_demo_stack
from sandbox.demo.webhooks import WebhookStory, webhook_burst


@pytest.fixture
async def demo() -> AsyncIterator[DemoStack]:
    async with run_demo_stack(port=0, traffic=False, scheduler=False) as stack:
        yield stack


async def settle(demo: DemoStack) -> None:
    await demo.runtime.deps.after_ack.drain(grace_seconds=10)
    await demo.runtime.jobs.deliver_once()


async def test_the_demo_delivers_signed_webhooks_once_twice_and_not_at_all(demo: DemoStack) -> None:
    story = WebhookStory(demo.sim, WATCHED_AGENT)
    hooks = demo.sim.webhooks
    await story.secret_changed()
    await story.spend(80)
    await settle(demo)
    warnings = [m for m in demo.standin.messages_in(ONCALL_CHANNEL) if "Spend at 80%" in m.text]
    assert len(warnings) == 1  # delivered twice, posted once
    retried = [s for s in hooks.sent if s.event_type == "spend.threshold_reached"]
    assert [s.status for s in retried] == [200, 200] and retried[0].webhook_id == retried[1].webhook_id

    demo.health.bad_deploy()
    await story.deployed()
    await settle(demo)  # no status cycle ran: the deployment webhook read the agent at once...
    demo.clock.advance(60)  # ...and asked for the second sighting a crash loop is alerted on
    await demo.runtime.jobs.status_cycle()
    await settle(demo)
    [crash] = [m for m in demo.standin.messages_in(ONCALL_CHANNEL) if "crash-looping" in m.text]
    shown = json.dumps(crash.blocks, ensure_ascii=False)
    assert "*What changed*" in shown and f"`{WATCHED_AGENT}` deployed build" in shown
    assert "`CARTESIA_API_KEY` in secret set `voice-bot-secrets` changed" in shown

    demo.health.fix()
    await story.deployed(lost=True)
    [lost] = [s for s in hooks.sent if s.dropped]
    assert lost.event_type == "deployment.updated" and lost.status is None
    for _ in range(6):  # polling is the backstop: the fix is seen anyway, and held 5 minutes
        demo.clock.advance(60)
        await demo.runtime.jobs.status_cycle()
    await settle(demo)
    assert demo.standin.messages_in(ONCALL_CHANNEL, thread_ts=crash.ts)[0].text.startswith("Recovered")


async def test_the_burst_runs_every_step_in_order() -> None:
    async with run_demo_stack(port=0, traffic=False, scheduler=False) as demo:
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)

        demo.health.bad_deploy()  # the deploy steps send the webhooks of the agent's newest deployment
        await webhook_burst(demo.sim, WATCHED_AGENT, random.Random(0), sleep=sleep)
        assert all(w >= 0 for w in waits) and len(waits) == 5
        kinds = [(s.event_type, s.dropped) for s in demo.sim.webhooks.sent]
        assert kinds == [
            ("secret.updated", False),
            ("spend.threshold_reached", False),
            ("spend.threshold_reached", False),
            ("build.succeeded", False),
            ("deployment.updated", False),
            ("build.succeeded", False),
            ("deployment.updated", True),
            ("spend.threshold_reached", False),
        ]
        assert all(s.status == 200 for s in demo.sim.webhooks.sent if not s.dropped)
