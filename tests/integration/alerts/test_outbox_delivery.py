"""Delivery faults over real HTTP: 429, 5xx, read timeouts, crashes, permanent errors."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.blocks.alerts import watches_message
from bot.store.records import OutboxRow, OutboxState
from tests.fixtures_slack import NOT_MEMBER_CHANNEL
from tests.fixtures_store import ALERT_CHANNEL, AlertRig


async def fail_one(rig: AlertRig, channel: str = ALERT_CHANNEL) -> str:
    await rig.svc.watch(channel, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    return rig.sim.add_session("voice-bot", "HTTP_ERROR")


def assert_one_parent_and_replies(rig: AlertRig, count: int) -> None:
    [parent] = rig.top()
    replies = rig.replies(parent)
    keys = [m.event_payload["dedup_key"] for m in replies]
    assert len(replies) == count and len(set(keys)) == count


async def test_slack_429_backs_the_channel_off_then_succeeds(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await fail_one(rig)
    rig.slack.rate_limit_next("chat.postMessage", 1, retry_after=30)
    await rig.cycle()
    assert rig.top() == [] and len(rig.slack.rate_limited) == 1
    await rig.jobs.deliver_once()  # still inside Retry-After: no call at all
    rig.clock.advance(20)
    await rig.jobs.deliver_once()
    assert len(rig.slack.calls_to("chat.postMessage")) == 1
    rig.clock.advance(11)
    await rig.jobs.deliver_once()
    assert_one_parent_and_replies(rig, 1)


@pytest.mark.parametrize("fault", ["500", "read_timeout"])
@pytest.mark.parametrize("target", ["parent", "reply"])
async def test_an_uncertain_post_reconciles_to_one_message(alert_rig: AlertRig, fault: str, target: str) -> None:
    rig = alert_rig
    await fail_one(rig)
    if target == "reply":
        await rig.cycle()  # the parent and a first reply go through
        rig.sim.add_session("voice-bot", "HTTP_ERROR")
    if fault == "500":
        rig.slack.accept_then_fail_next("chat.postMessage", 1, status=500)
    else:
        rig.slack.accept_then_hang_next("chat.postMessage", 1)  # the client times out after 1 s
    await rig.cycle()
    rig.slack.release_hangs()
    uncertain = [r for r in await rig.store.outbox_rows() if r.state == "uncertain"]
    assert len(uncertain) == 1
    rig.clock.advance(policy.UNCERTAIN_RECHECK.total_seconds())
    await rig.jobs.deliver_once()
    assert_one_parent_and_replies(rig, 1 if target == "parent" else 2)
    method = "conversations.history" if target == "parent" else "conversations.replies"
    assert rig.slack.calls_to(method), "the uncertain post was looked for before anything else"
    assert {r.state for r in await rig.store.outbox_rows()} == {OutboxState.SENT}


async def test_a_restart_after_slack_accepted_a_post_yields_one_message_per_session(alert_rig: AlertRig) -> None:
    rig = alert_rig
    first = await fail_one(rig)
    second = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.jobs.poll_once()
    rig.slack.accept_then_hang_next("chat.postMessage", 1)
    # The process is killed while Slack holds the (already stored) parent post.
    task = asyncio.create_task(rig.jobs.deliver_once())
    await rig.slack.wait_until(lambda: rig.slack.hanging == 1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await rig.stores[0].dispose()
    rig.slack.release_hangs()
    await rig.new_service()
    await rig.cycle(policy.CLAIM_TTL.total_seconds() + 1)  # the dead claim expires
    await rig.cycle()
    [parent] = rig.top()
    assert sorted(m.event_payload["session_id"] for m in rig.replies(parent)) == sorted([first, second])
    parent_posts = [c for c in rig.slack.calls_to("chat.postMessage") if "thread_ts" not in c.args]
    assert len(parent_posts) == 1  # found by its dedup key after the restart, never posted again
    assert len(rig.replies(parent)) == 2


async def test_a_restart_between_poll_and_delivery_loses_nothing(alert_rig: AlertRig) -> None:
    rig = alert_rig
    sid = await fail_one(rig)
    await rig.jobs.poll_once()
    await rig.new_service()
    await rig.cycle()
    [parent] = rig.top()
    assert [m.event_payload["session_id"] for m in rig.replies(parent)] == [sid]


async def test_channel_not_found_marks_the_watch_broken_holds_its_posts_and_probes_on_a_back_off(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    first = await fail_one(rig, "C0DELETED")
    await rig.cycle()
    [view] = await rig.svc.watches("C0DELETED")
    assert view.broken_reason == "channel_not_found"
    assert {r.state for r in await rig.store.outbox_rows()} == {OutboxState.PENDING}  # held, not thrown away
    posts = len(rig.slack.calls_to("chat.postMessage"))
    later = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    for _ in range(30):  # half an hour of polls, with a failure in every one
        rig.sim.add_session("voice-bot", "HTTP_ERROR")
        await rig.cycle()
    # One post probes the channel after 1, 2, 4, 8 and 15 minutes: a broken watch is not hammered.
    assert len(rig.slack.calls_to("chat.postMessage")) - posts <= 5
    assert len(rig.slack.calls_to("chat.update")) == 0
    held = await rig.store.outbox_rows(kind="alert")
    assert {first, later} <= {r.session_id for r in held if r.state == OutboxState.PENDING}
    assert (await rig.svc.watches("C0DELETED"))[0].broken_reason == "channel_not_found"


async def test_not_in_channel_shows_how_to_fix_it_and_the_next_probe_after_the_invite_posts_everything(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    first = await fail_one(rig, NOT_MEMBER_CHANNEL)
    await rig.cycle()
    views = await rig.svc.watches(NOT_MEMBER_CHANNEL)
    assert views[0].broken_reason == "not_in_channel"
    assert "/invite @pipecat-ops" in str(watches_message(views).blocks)
    rig.slack.channels[NOT_MEMBER_CHANNEL].members.add(rig.slack.bot_user_id)  # /invite, nothing else
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle(policy.BROKEN_PROBE_BASE.total_seconds())
    assert (await rig.svc.watches(NOT_MEMBER_CHANNEL))[0].broken_reason is None  # healed by itself
    [parent] = rig.top(NOT_MEMBER_CHANNEL)
    assert [m.event_payload["session_id"] for m in rig.replies(parent, NOT_MEMBER_CHANNEL)] == [first, sid]


async def test_a_message_level_refusal_kills_that_post_only(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await fail_one(rig)
    await rig.cycle()
    rig.slack.error_next("chat.postMessage", "invalid_blocks", 1)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    third = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    assert rig.replies(parent)[-1].event_payload["session_id"] == third
    states = sorted(r.state for r in await rig.store.outbox_rows(kind="alert"))
    assert states == [OutboxState.DEAD, OutboxState.SENT, OutboxState.SENT]
    assert (await rig.svc.watches(ALERT_CHANNEL))[0].broken_reason is None


async def test_slack_unreachable_retries_later(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await fail_one(rig)
    # Nothing listens on port 9 of loopback: the connection is refused, so nothing was sent.
    unreachable = AsyncWebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/", timeout=1, retry_handlers=[])
    await rig.new_service(slack=unreachable)
    await rig.cycle()
    [row] = [r for r in await rig.store.outbox_rows() if r.kind == "parent"]
    assert (row.state, row.last_error) == ("pending", "ClientConnectorError")
    await rig.new_service()  # Slack reachable again
    await rig.jobs.deliver_once()
    assert rig.top() == []  # not before the back-off
    rig.clock.advance(policy.retry_delay(1).total_seconds())
    await rig.jobs.deliver_once()
    assert_one_parent_and_replies(rig, 1)


async def test_a_refused_parent_sends_its_replies_top_level_and_the_next_failure_starts_afresh(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    first = await fail_one(rig)
    rig.slack.error_next("chat.postMessage", "invalid_blocks", 1)  # the parent is refused
    await rig.cycle()
    [orphan] = rig.top()  # the alert is not dropped with its parent: it is posted on its own
    assert orphan.event_payload["session_id"] == first and not rig.replies(orphan)
    rows: dict[str, OutboxRow] = {r.kind: r for r in await rig.store.outbox_rows()}
    assert rows["parent"].state == OutboxState.DEAD and (rows["alert"].state, rows["alert"].top_level) == (
        OutboxState.SENT,
        True,
    )
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    _, parent = rig.top()
    assert [m.event_payload["session_id"] for m in rig.replies(parent)] == [sid]


async def test_two_services_on_one_database_post_each_session_once(alert_rig: AlertRig) -> None:
    rig = alert_rig
    first = rig.replica
    await fail_one(rig)
    second = await rig.new_service()
    ids = [rig.sim.add_session("voice-bot", "HTTP_ERROR") for _ in range(3)]
    for _ in range(3):
        rig.clock.advance(60)
        await asyncio.gather(first.jobs.poll_once(), second.jobs.poll_once())
        await asyncio.gather(first.jobs.deliver_once(), second.jobs.deliver_once())
    [parent] = rig.top()
    assert len(rig.replies(parent)) == 4
    assert len({m.event_payload["session_id"] for m in rig.replies(parent)}) == 4
    assert set(ids) <= {m.event_payload["session_id"] for m in rig.replies(parent)}
