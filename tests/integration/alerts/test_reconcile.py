"""Reconciliation looks where the copy can be, and its errors never kill a row (issue 10, 1 and 4).

An uncertain post (Slack stored it, then answered 500; or answered 500 without storing it) is
looked for before it is re-posted: in the thread through conversations.replies (oldest first), at
the top level through conversations.history (newest first), bounded by the row's first claim and
paged. People's messages around it do not hide it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.alerts import policy
from bot.store.records import OutboxState
from tests.fixtures_store import ALERT_CHANNEL, AlertRig
from tests.outage_checks import alert_sessions, keys_posted_twice

PERSON = "U0HUMAN"


async def first_incident(rig: AlertRig) -> str:
    """A watch with one posted incident; returns the parent's ts."""
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    return parent.ts


async def recheck(rig: AlertRig) -> None:
    rig.clock.advance(policy.UNCERTAIN_RECHECK.total_seconds())
    await rig.jobs.deliver_once()


async def test_a_reply_stored_then_answered_500_in_a_320_message_thread_shows_exactly_once(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    parent_ts = await first_incident(rig)
    for n in range(318):  # people discuss the incident in its thread: 320 messages with ours
        rig.slack.add_message(ALERT_CHANNEL, f"looking into it ({n})", user=PERSON, thread_ts=parent_ts)
    rig.clock.advance(600)
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.slack.accept_then_fail_next("chat.postMessage", 1, status=500)
    await rig.cycle()
    assert [r.state for r in await rig.store.outbox_rows(kind="alert")] == [OutboxState.SENT, OutboxState.UNCERTAIN]
    rig.slack.add_message(ALERT_CHANNEL, "still on it", user=PERSON, thread_ts=parent_ts)
    await recheck(rig)
    assert alert_sessions(rig.slack, ALERT_CHANNEL)[sid] == 1  # found, not posted again
    assert len(rig.replies(rig.top()[0])) == 321
    assert [r.state for r in await rig.store.outbox_rows(kind="alert")] == [OutboxState.SENT, OutboxState.SENT]
    # The scan started at the row's first claim: the 318 older messages were never read.
    [scan] = rig.slack.calls_to("conversations.replies")
    assert float(scan.args["oldest"]) > float(rig.replies(rig.top()[0])[317].ts)


async def test_a_parent_stored_then_answered_500_under_320_newer_messages_shows_exactly_once(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.slack.accept_then_fail_next("chat.postMessage", 1, status=500)
    await rig.cycle()
    for n in range(320):  # the channel is busy: our copy is far below the newest page
        rig.slack.add_message(ALERT_CHANNEL, f"chatter {n}", user=PERSON)
    await recheck(rig)
    await rig.jobs.deliver_once()
    parents = [m for m in rig.top() if m.metadata]
    assert len(parents) == 1 and len(rig.replies(parents[0])) == 1
    assert alert_sessions(rig.slack, ALERT_CHANNEL) == {sid: 1} and keys_posted_twice(rig.slack, ALERT_CHANNEL) == []
    assert len(rig.slack.calls_to("conversations.history")) >= 2  # paged past the first page


async def test_thread_not_found_while_reconciling_posts_the_reply_top_level(alert_rig: AlertRig) -> None:
    rig = alert_rig
    parent_ts = await first_incident(rig)
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.slack.fail_next("chat.postMessage", 1, status=500)  # not stored, but the bot cannot know
    await rig.cycle()
    channel = rig.slack.channels[ALERT_CHANNEL]
    for message in [m for m in channel.messages if m.ts == parent_ts or m.thread_ts == parent_ts]:
        channel.messages.remove(message)  # a person deleted the incident's parent and its thread
    await recheck(rig)
    assert rig.slack.calls_to("conversations.replies")[-1].response == {"ok": False, "error": "thread_not_found"}
    [orphan] = rig.top()
    assert orphan.event_payload["session_id"] == sid  # posted where it can be seen
    [row] = [r for r in await rig.store.outbox_rows(kind="alert") if r.session_id == sid]
    assert (row.state, row.top_level) == (OutboxState.SENT, True)
    [view] = await rig.svc.watches(ALERT_CHANNEL)
    assert view.broken_reason is None  # the channel is fine


async def test_missing_scope_while_reconciling_posts_once_without_the_check(
    alert_rig: AlertRig, caplog: pytest.LogCaptureFixture
) -> None:
    rig = alert_rig
    await first_incident(rig)
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.slack.fail_next("chat.postMessage", 1, status=500)
    await rig.cycle()
    rig.slack.error_next("conversations.replies", "missing_scope", 1)
    posts = len(rig.slack.calls_to("chat.postMessage"))
    await recheck(rig)  # cannot look: posted again (at least once beats never), not dead
    assert len(rig.slack.calls_to("chat.postMessage")) == posts + 1
    assert alert_sessions(rig.slack, ALERT_CHANNEL)[sid] == 1
    [row] = [r for r in await rig.store.outbox_rows(kind="alert") if r.session_id == sid]
    assert row.state == OutboxState.SENT
    assert "missing_scope: grant channels:history" in caplog.text  # said loudly, so it gets fixed
    [view] = await rig.svc.watches(ALERT_CHANNEL)
    assert view.broken_reason is None  # a read scope missing does not break the watch


async def test_ratelimited_while_reconciling_backs_off_and_keeps_the_row_uncertain(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await first_incident(rig)
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.slack.accept_then_fail_next("chat.postMessage", 1, status=500)  # stored
    await rig.cycle()
    rig.slack.rate_limit_next("conversations.replies", 1, retry_after=30)
    await recheck(rig)
    [row] = [r for r in await rig.store.outbox_rows(kind="alert") if r.session_id == sid]
    assert (row.state, row.failures) == (OutboxState.UNCERTAIN, 1)  # the 429 used none of the trouble budget
    assert await rig.store.channel_backoff(ALERT_CHANNEL) == rig.clock.now() + timedelta(seconds=30)
    posts = len(rig.slack.calls_to("chat.postMessage"))
    rig.clock.advance(10)
    await rig.jobs.deliver_once()
    assert len(rig.slack.calls_to("chat.postMessage")) == posts  # backed off: no call
    rig.clock.advance(21)
    await rig.jobs.deliver_once()
    assert alert_sessions(rig.slack, ALERT_CHANNEL)[sid] == 1  # found after the back-off
    assert len(rig.slack.calls_to("chat.postMessage")) == posts
