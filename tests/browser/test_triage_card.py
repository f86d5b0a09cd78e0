"""The triage card in a real browser: the demo's TTS quota storm as an on-call engineer sees it,
then acknowledged. Takes docs/triage-card.png and docs/triage-card-acknowledged.png for the README."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from sandbox.demo.scenarios import tts_quota_burst
from sandbox.demo.stack import WATCHED_AGENT, DemoStack, run_demo_stack
from tests.paths import DOCS

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

VIEWPORT = {"width": 1440, "height": 1000}
TIMEOUT_MS = 10_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[DemoStack]:
    async with run_demo_stack(port=0, traffic=False, scheduler=False) as stack:
        yield stack


async def no_sleep(seconds: float) -> None:
    return None


async def test_the_storm_reads_as_a_triage_card(browser: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    await tts_quota_burst(demo.sim, WATCHED_AGENT, random.Random(3), sleep=no_sleep)
    await demo.runtime.jobs.run_cycle()
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await page.goto(f"{demo.page_url}/")
        await page.locator(".channel-link", has_text="voice-oncall").click()
        parent = page.locator("#messages .msg.from-bot:not(.ephemeral)").filter(has_text="Likely cause")
        await expect(parent).to_have_count(1)
        await expect(parent).to_contain_text("CartesiaTTSService error: websocket closed unexpectedly (code N)")
        await expect(parent).to_contain_text("ck_[masked]")
        await expect(parent).not_to_contain_text("9f8e7d6c")
        await expect(parent).to_contain_text("not read (burst)")
        await parent.locator(".thread-link").click()
        await expect(page.locator("#thread-replies .msg").first).to_contain_text("Traceback (most recent call last):")
        await parent.scroll_into_view_if_needed()
        await page.mouse.move(1, 1)
        await page.screenshot(path=str(DOCS / "triage-card.png"))

        await parent.get_by_role("button", name="Acknowledge", exact=True).click()
        # Who is on it, in the card and in the thread's copy; the button that undoes it.
        await expect(parent.locator(".blk-text").first).to_contain_text("Acknowledged by @you")
        await expect(parent.get_by_role("button", name="Unacknowledge")).to_have_count(1)
        await expect(parent.get_by_role("button", name="Acknowledge", exact=True)).to_have_count(0)
        await expect(page.locator("#thread-parent .blk-text").first).to_contain_text("Acknowledged by @you")
        await expect(parent).to_contain_text("Likely cause")  # still the whole triage card
        await expect(page.locator("#page-list .page")).to_contain_text("acknowledged · error")  # PagerDuty too
        await parent.scroll_into_view_if_needed()
        await page.mouse.move(1, 1)
        await page.screenshot(path=str(DOCS / "triage-card-acknowledged.png"))
    finally:
        await context.close()
    assert errors == [], f"the page raised: {errors}"
