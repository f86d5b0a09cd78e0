"""The demo's rate scenario in a real browser: the reader clicks "Bad deploy" under Scenarios, the
busy agent's channel opens and the rate alert arrives naming the new deployment; a failed session
of it, looked up, shows its cause. Takes docs/rate-alert.png and docs/lookup-failed.png for the
README. Time runs on the simulator's clock (tests/demo_time.py), never on sleeps."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from sandbox.demo.rates import BUSY_AGENT
from sandbox.demo.stack import BUSY_CHANNEL, DemoStack, run_demo_stack
from tests.demo_time import live_for, seconds_until
from tests.paths import DOCS

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

VIEWPORT = {"width": 1440, "height": 1000}
TIMEOUT_MS = 10_000
RATE_ALERT = "of calls failing (last 2 min)"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[DemoStack]:
    async with run_demo_stack(port=0, traffic=False, scheduler=False, busy_history=True) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(browser: Any, demo: DemoStack) -> AsyncIterator[Any]:
    from playwright.async_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    await tab.goto(f"{demo.page_url}/")
    try:
        yield tab
    finally:
        await context.close()
    assert errors == [], f"the page raised: {errors}"


def bot_message(page: Any, text: str, where: str = "#messages") -> Any:
    return page.locator(f"{where} .msg.from-bot:not(.ephemeral)").filter(has_text=text)


async def test_a_bad_deploy_played_from_the_page_brings_a_rate_alert_naming_it(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    await live_for(demo, 60)
    usual = demo.sim.serving_deployment(BUSY_AGENT)
    rollback = page.get_by_role("button", name="Roll back")
    await expect(rollback).to_be_disabled()  # nothing to roll back yet
    await page.get_by_role("button", name="Bad deploy").click()
    bad = demo.sim.serving_deployment(BUSY_AGENT)
    assert bad != usual
    await expect(page.locator(".toast")).to_contain_text(f"Deployed {bad[:8]} to {BUSY_AGENT}")
    await expect(page.locator("#channel-name")).to_have_text("# call-center")  # where the alert will arrive
    await expect(rollback).to_be_enabled()

    def alerted() -> bool:
        return any(RATE_ALERT in m.text for m in demo.standin.messages_in(BUSY_CHANNEL))

    await seconds_until(demo, alerted, within=90)
    await live_for(demo, 60)  # the alert is edited as the rate climbs to the deploy's 30 %
    # The rate alert, not the per-session incident (whose card leads with the same rate).
    alert = bot_message(page, RATE_ALERT).filter(has_not_text="sessions failed since")
    await expect(alert).to_have_count(1)
    # 30% or so (the deploy's share), of a usual 2.0%.
    await expect(alert).to_contain_text(re.compile(rf"{BUSY_AGENT}: [23]\d% of calls failing .*usually 2\.0%"))
    await expect(alert).to_contain_text(f"{bad[:8]}")
    await expect(alert).to_contain_text(f"{usual[:8]}")
    await expect(alert).to_contain_text("the model gpt-realtime-mini does not exist")  # its cause
    await expect(alert.get_by_role("button", name="Acknowledge")).to_have_count(1)
    await page.locator(".toast").evaluate_all("nodes => nodes.forEach(n => n.remove())")
    await alert.scroll_into_view_if_needed()
    await page.mouse.move(1, 1)
    await page.screenshot(path=str(DOCS / "rate-alert.png"))


async def test_a_failed_session_of_the_bad_deploy_looked_up_shows_its_cause(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    if demo.rates.bad is None:  # run alone: the bad deploy first
        await demo.rates.play("bad-deploy")
        await live_for(demo, 30)
    bad = demo.sim.serving_deployment(BUSY_AGENT)
    sid = next(
        s
        for s in reversed(demo.rates.traffic.failed_ids)
        if demo.sim.session(BUSY_AGENT, s).deployment_id == bad and not demo.sim.session(BUSY_AGENT, s).active
    )
    composer = page.locator("#composer-input")
    await composer.fill(f"/session {BUSY_AGENT} {sid}")
    await composer.press("Enter")
    summary = bot_message(page, sid).filter(has=page.locator(".blk-header"))
    await expect(summary).to_have_count(1)
    await expect(summary.locator(".blk-header")).to_have_text(f"{BUSY_AGENT} · 🔴 error")
    await expect(summary).to_contain_text("Cause (from this session's log, times UTC)")
    await expect(summary).to_contain_text("OpenAILLMService")
    await expect(summary).to_contain_text("the model `gpt-realtime-mini` does not exist")  # quoted as logged
    await summary.scroll_into_view_if_needed()
    await page.mouse.move(1, 1)
    await page.screenshot(path=str(DOCS / "lookup-failed.png"))
