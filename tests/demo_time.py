"""The live demo's time, on the simulator's clock: what `python -m bot demo` does every poll
interval, done by a test without sleeping (the demo stack started with traffic=False, scheduler=False)."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.demo.stack import POLL_INTERVAL_SECONDS, DemoStack


async def step(demo: DemoStack) -> None:
    """One poll interval: the busy agent's calls go on (sandbox/demo/rates.py), then the app
    polls and delivers, and reads the agents' status (the demo reads it every poll interval too)."""
    demo.clock.advance(POLL_INTERVAL_SECONDS)
    demo.rates.advance()
    await demo.runtime.jobs.run_cycle()
    await demo.runtime.jobs.status_cycle()


async def live_for(demo: DemoStack, seconds: float) -> None:
    for _ in range(int(seconds // POLL_INTERVAL_SECONDS)):
        await step(demo)


async def seconds_until(demo: DemoStack, done: Callable[[], bool], *, within: float) -> float:
    """Steps until `done`: the seconds it took; an AssertionError after `within`."""
    elapsed = 0.0
    while elapsed < within:
        await step(demo)
        elapsed += POLL_INTERVAL_SECONDS
        if done():
            return elapsed
    raise AssertionError(f"not within {within:.0f} s")
