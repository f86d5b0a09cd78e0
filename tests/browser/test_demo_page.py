"""The demo page in a real browser: what a person sees and clicks, end to end through the real app.

The demo stack (simulator, Slack stand-in, the app, the page server) runs in this test's event
loop on ephemeral ports, without live traffic or the scheduler: sessions are made by the tests
and poll cycles run when a test calls `run_cycle()`. Every wait is on a DOM condition.
The screenshots in docs/ (shown in the README) are taken here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.blocks.format import human_bytes
from sandbox.demo.stack import DemoStack, run_demo_stack
from tests.paths import DOCS

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

VIEWPORT = {"width": 1440, "height": 900}
TIMEOUT_MS = 10_000


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[DemoStack]:
    async with run_demo_stack(port=0, traffic=False, scheduler=False) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, demo: DemoStack) -> AsyncIterator[Any]:
    from playwright.async_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    await tab.goto(f"{demo.page_url}/")
    await expect(tab.locator(".channel-link")).to_have_count(3)
    try:
        yield tab
    finally:
        await context.close()
    assert errors == [], f"the page raised: {errors}"


async def send(page: Any, text: str) -> None:
    composer = page.locator("#composer-input")
    await composer.fill(text)
    await composer.press("Enter")


async def open_channel(page: Any, name: str) -> None:
    from playwright.async_api import expect

    await page.locator(".channel-link", has_text=name).click()
    await expect(page.locator("#channel-name")).to_have_text(f"# {name}")


def bot_message(page: Any, text: str, where: str = "#messages") -> Any:
    return page.locator(f"{where} .msg.from-bot:not(.ephemeral)").filter(has_text=text)


def peak_memory(demo: DemoStack, agent: str, session_id: str) -> str:
    metrics = demo.sim.session(agent, session_id).resource_metrics
    assert metrics is not None
    return human_bytes(max(metrics["memoryBytesP99"], *(s["m"] for s in metrics["timeseries"])))


async def screenshot(page: Any, name: str) -> None:
    """For the README: no hover toolbar in the picture."""
    await page.mouse.move(1, 1)
    await page.screenshot(path=str(DOCS / name))


async def loaded_width(image: Any) -> int:
    width: int = await image.evaluate("img => img.decode().then(() => img.naturalWidth)")
    return width


async def test_lookup_shows_the_summary_then_refresh_logs_and_chart(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    sid = demo.sim.add_session("voice-bot", "HTTP_COMPLETED", duration_seconds=95, cold_start=True)
    await open_channel(page, "voice-oncall")
    await send(page, f"/session voice-bot {sid}")

    ack = page.locator("#messages .msg.ephemeral").filter(has_text=f"voice-bot/{sid}")
    await expect(ack.locator(".ephemeral-note")).to_have_text("👁 Only visible to you")
    summary = bot_message(page, sid).filter(has=page.locator(".blk-header"))
    await expect(summary).to_have_count(1)
    await expect(summary.locator(".blk-header")).to_have_text("voice-bot · ✅ completed")
    fields = summary.locator(".blk-field")
    await expect(fields.filter(has_text="Status")).to_contain_text("HTTP_COMPLETED")
    await expect(fields.filter(has_text="Cold start")).to_contain_text("Yes")
    await expect(fields.filter(has_text="Peak memory")).to_contain_text(peak_memory(demo, "voice-bot", sid))
    await expect(summary.locator(".edited")).to_have_count(0)
    await summary.scroll_into_view_if_needed()
    await screenshot(page, "lookup-summary.png")

    await summary.get_by_role("button", name="Refresh").click()
    await expect(summary.locator(".edited")).to_have_text("(edited)")
    await expect(summary).to_have_count(1)  # replaced in place, not posted again

    await summary.get_by_role("button", name="Logs").click()
    await expect(summary.locator(".thread-link")).to_have_text("1 reply")
    await summary.get_by_role("button", name="Chart").click()
    await expect(summary.locator(".thread-link")).to_have_text("2 replies")
    await summary.locator(".thread-link").click()
    replies = page.locator("#thread-replies .msg")
    await expect(replies.nth(0)).to_contain_text("Bot finished")  # the simulator logs as loguru does
    chart = replies.nth(1).locator("img.file-img")
    await expect(chart).to_be_visible()
    assert await loaded_width(chart) > 100


async def test_alert_incident_arrives_with_its_thread_and_acknowledge_edits_it(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    await open_channel(page, "voice-oncall")
    # Started 42 s ago (inside the poller's overlap window), failed now: after the watch began.
    sid = demo.sim.add_session("voice-bot", "HTTP_ERROR", duration_seconds=42, cold_start=True)
    await demo.runtime.jobs.run_cycle()

    parent = bot_message(page, "failed since")
    await expect(parent).to_have_count(1)
    await expect(parent.locator(".blk-text").first).to_contain_text("voice-bot: 1 session failed since")
    await expect(parent.locator(".thread-link")).to_have_text("1 reply")
    await parent.locator(".thread-link").click()
    reply = page.locator("#thread-replies .msg")
    await expect(reply).to_have_count(1)
    await expect(reply).to_contain_text(sid)
    await expect(reply.locator(".blk-field").filter(has_text="Status")).to_contain_text("HTTP_ERROR")
    paged = page.locator("#page-list .page")  # the on-call watch pages PagerDuty (its stand-in)
    await expect(paged).to_have_count(1)
    await expect(paged).to_contain_text("triggered · error")
    await expect(paged).to_contain_text("voice-bot: 1 session failed (HTTP_ERROR)")
    await screenshot(page, "incident.png")

    await expect(parent.locator(".edited")).to_have_count(0)
    await parent.get_by_role("button", name="Acknowledge", exact=True).click()
    # The headline says who is on it, and the button that follows the state is Unacknowledge.
    await expect(parent.locator(".blk-text").first).to_contain_text("Acknowledged by @you")
    await expect(parent.get_by_role("button", name="Unacknowledge")).to_have_count(1)
    await expect(parent.locator(".edited")).to_have_text("(edited)")
    await expect(page.locator("#thread-parent .blk-text").first).to_contain_text("Acknowledged by @you")
    await expect(paged).to_contain_text("acknowledged · error")  # mirrored to PagerDuty
    await screenshot(page, "incident-acknowledged.png")

    await parent.get_by_role("combobox", name="Mute…").select_option(label="Mute 1 hour")
    # The card says so, and the button that ends it is Unmute.
    await expect(parent.locator(".blk-context").filter(has_text="Muted until")).to_have_count(1)
    await expect(parent.get_by_role("button", name="Unmute")).to_have_count(1)


async def test_message_shortcut_answers_in_the_thread(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    await open_channel(page, "support")
    message = page.locator("#messages .msg").filter(has_text="call dropped")
    await message.hover()
    await message.get_by_role("button", name="More actions").click()
    await message.get_by_role("menuitem", name="Look up Pipecat session").click()
    await expect(message.locator(".thread-link")).to_have_text("1 reply")
    await message.locator(".thread-link").click()
    answer = page.locator("#thread-replies .msg")
    await expect(answer.locator(".blk-header")).to_have_text("support-bot · 🔴 error")


async def test_confirm_dialog_sends_only_after_ok(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    sid = demo.sim.start_session("sales-bot")
    await open_channel(page, "voice-oncall")
    await send(page, f"/session sales-bot {sid}")
    summary = bot_message(page, sid).filter(has=page.locator(".blk-header"))
    await expect(summary.locator(".blk-header")).to_have_text("sales-bot · 🟢 active")
    dialog = page.locator("dialog#confirm")

    await summary.get_by_role("button", name="Stop session").click()
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("h2")).to_have_text("Stop session?")
    await expect(dialog).to_contain_text("disconnects the caller")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert demo.sim.session("sales-bot", sid).active

    await summary.get_by_role("button", name="Stop session").click()
    await dialog.get_by_role("button", name="Stop session").click()
    await expect(summary.locator(".blk-header")).not_to_contain_text("active")
    await expect(summary.locator(".edited")).to_have_text("(edited)")
    assert not demo.sim.session("sales-bot", sid).active


async def test_mrkdwn_renders_safely_and_plain_messages_post(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    channel = demo.standin.channels["C0SUPPORT"]
    text = (
        "*bold* _italic_ ~gone~ `a_b*c` &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
        "<https://example.com/x?a=1&amp;b=2|a link> <javascript:alert(1)|bad link> "
        "<!date^1700000000^{date_num} {time}|fallback date> <@U0ALEX> <!here>"
    )
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "<img src=x onerror=alert(1)> & co"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "```line <1>\n&lt;b&gt;two&lt;/b&gt;```"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "context :white_check_mark:"}]},
    ]
    demo.standin.store_message(channel, text="render check", blocks=blocks)
    await open_channel(page, "support")
    message = bot_message(page, "onerror=alert(1)> & co")
    await expect(message).to_have_count(1)
    await expect(message.locator(".blk-header")).to_have_text("<img src=x onerror=alert(1)> & co")
    section = message.locator(".blk-text").first
    await expect(section.locator("strong")).to_have_text("bold")
    await expect(section.locator("em")).to_have_text("italic")
    await expect(section.locator("del")).to_have_text("gone")
    await expect(section.locator("code")).to_have_text("a_b*c")
    await expect(section).to_contain_text("<script>alert(1)</script> &")
    await expect(section.locator("a")).to_have_count(1)
    await expect(section.locator("a")).to_have_attribute("href", "https://example.com/x?a=1&b=2")
    await expect(section).to_contain_text("bad link")
    await expect(section.locator("time")).to_have_text("2023-11-14 10:13 PM")
    await expect(section.locator("time")).to_have_attribute("title", "fallback date")
    await expect(section.locator(".mention")).to_have_text(["@alex", "@here"])
    await expect(message.locator("pre.code-block")).to_have_text("line <1>\n<b>two</b>")
    await expect(message.locator(".blk-context")).to_have_text("context ✅")
    await expect(message.locator("hr.blk-divider")).to_have_count(1)
    assert await message.locator("script, img:not(.file-img)").count() == 0

    await send(page, "hello from the page")
    mine = page.locator("#messages .msg").filter(has_text="hello from the page")
    await expect(mine.locator(".msg-author")).to_have_text("you")
    assert [m.text for m in demo.standin.messages_in("C0SUPPORT")][-1] == "hello from the page"


async def test_app_home_shows_watches_incidents_and_agents(page: Any, demo: DemoStack) -> None:
    from playwright.async_api import expect

    await page.locator("#home-link").click()
    home = page.locator("#home-body")
    await expect(home.locator(".blk-header").first).to_have_text("pipecat-ops")
    await expect(home).to_contain_text("Watches (2)")  # voice-bot here, call-center in #call-center
    await expect(home).to_contain_text("voice-bot")
    await expect(home.locator(".blk-header").filter(has_text="Open incidents")).to_have_count(1)
    await expect(home.locator(".blk-header").filter(has_text="Agents")).to_have_count(1)
    await expect(page.locator("#channel")).to_be_hidden()
    await screenshot(page, "app-home.png")
    await open_channel(page, "voice-oncall")  # back to a channel: the Home tab closes
    await expect(page.locator("#home")).to_be_hidden()


async def test_daily_digest_arrives_once_with_details_buttons(page: Any, demo: DemoStack) -> None:
    from datetime import UTC, datetime, timedelta

    from playwright.async_api import expect

    from sandbox.demo.stack import ONCALL_CHANNEL

    await open_channel(page, "voice-oncall")
    for status in ("HTTP_COMPLETED", "HTTP_ERROR", "HTTP_COMPLETED", "BOT_CONNECTION_TIMEOUT", "HTTP_COMPLETED"):
        demo.sim.add_session("voice-bot", status, duration_seconds=30, bot_start_seconds=2.5, cold_start=True)
    await demo.runtime.jobs.run_cycle()  # the failures alert, and their causes are read
    # A digest due a minute ago, turned on yesterday (as `/session digest on HH:MM` would store it).
    now = datetime.now(UTC)
    due = now - timedelta(minutes=1)
    await demo.runtime.store.set_digest(ONCALL_CHANNEL, due.hour, due.minute, "U0DEMOUSER", now - timedelta(days=1))
    assert await demo.runtime.digests.run_due() == 1
    assert await demo.runtime.digests.run_due() == 0
    await demo.runtime.jobs.deliver_once()
    digest = bot_message(page, "The 24 hours up to")
    await expect(digest).to_have_count(1)
    await expect(digest.locator(".blk-header")).to_contain_text("Daily digest")
    await expect(digest).to_contain_text("failed")
    await expect(digest).to_contain_text("Bot start p95")
    await expect(digest).to_contain_text("Top causes:")
    await expect(digest.get_by_role("button", name="Details").first).to_be_visible()
    await digest.scroll_into_view_if_needed()
    await page.mouse.move(1, 1)
    await digest.screenshot(path=str(DOCS / "digest.png"))  # the message alone, for the README
