"""Incidents over real HTTP: grouping, parent edits, roll-ups, quiet windows, ack and mute."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.alerts import policy
from bot.store.records import OutboxState
from tests.fixtures_store import ALERT_CHANNEL, AlertRig


def blocks_text(message: object) -> str:
    return str(getattr(message, "blocks", ""))


async def test_three_failures_in_a_window_make_one_parent_three_replies_and_parent_edits(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, "<!subteam^S0ONCALL>", "U0STEVE")
    ids = []
    for _ in range(3):
        rig.clock.advance(20)
        ids.append(rig.sim.add_session("voice-bot", "HTTP_ERROR"))
        await rig.cycle()
    [parent] = rig.top()
    assert [m.event_payload["session_id"] for m in rig.replies(parent)] == ids
    updates = rig.slack.calls_to("chat.update")
    assert len(updates) == 2 and all(u.args["ts"] == parent.ts for u in updates)
    assert parent.edited and "3 sessions failed since" in parent.text
    assert "of calls failing" not in blocks_text(parent)  # a quiet agent has no usable rate to show
    assert "<!subteam^S0ONCALL>" in blocks_text(parent)
    assert await rig.svc.incident_session(ALERT_CHANNEL, parent.ts) == ("voice-bot", ids[-1])
    assert await rig.svc.incident_session(ALERT_CHANNEL, "1.000") is None


async def test_thirty_failures_in_one_cycle_roll_up(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    ids = [rig.sim.add_session("voice-bot", "HTTP_ERROR") for _ in range(30)]
    await rig.cycle()
    [parent] = rig.top()
    replies = rig.replies(parent)
    assert len(replies) == 6  # five sessions, then one roll-up
    *singles, rollup = replies
    assert "25 more sessions failed" in rollup.text or "25 more sessions failed" in blocks_text(rollup)
    listed = [sid for sid in ids if sid in blocks_text(rollup)]
    assert len(listed) == 20 and "and 5 more" in blocks_text(rollup)
    assert {m.event_payload["session_id"] for m in singles} | set(listed) <= set(ids)
    assert "30 sessions failed" in parent.text
    assert len(rig.posts()) == 7


async def test_an_incident_closes_when_quiet_and_the_next_failure_opens_a_new_one(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    for _ in range(29):
        await rig.cycle()
    assert not rig.top()[0].edited
    await rig.cycle()  # 30 minutes without a failure
    [first] = rig.top()
    assert first.edited and "Resolved after" in first.text
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    old, new = rig.top()
    assert old.ts == first.ts and "1 session failed since" in new.text
    assert len(rig.replies(new)) == 1


async def test_acknowledge_edits_the_parent_and_survives_a_restart(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    assert (await rig.svc.acknowledge(ALERT_CHANNEL, parent.ts, "U0ACK")) is not None
    assert await rig.svc.acknowledge(ALERT_CHANNEL, "1.000", "U0ACK") is None
    assert "*Acknowledged* by <@U0ACK>" in blocks_text(rig.top()[0])
    await rig.new_service()  # restart
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    assert "2 sessions failed" in parent.text and "*Acknowledged* by <@U0ACK>" in blocks_text(parent)


async def test_mute_posts_nothing_survives_a_restart_and_unmuting_does_not_replay(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    until = await rig.svc.mute(ALERT_CHANNEL, "voice-bot", timedelta(hours=1), "U0MUTE")
    assert until == rig.clock.now() + timedelta(hours=1)
    assert "Muted until" in blocks_text(rig.top()[0])
    posts_before = len(rig.posts())
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    await rig.new_service()  # restart while muted
    [view] = await rig.svc.watches(ALERT_CHANNEL)
    assert view.muted_until == until and view.muted_by == "U0MUTE"
    muted_id = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    assert len(rig.posts()) == posts_before
    assert "1 session failed" in rig.top()[0].text  # muted failures do not edit the parent either
    rows = {r.session_id: r.state for r in await rig.store.outbox_rows(kind="alert")}
    assert rows[muted_id] == OutboxState.MUTED  # recorded, not posted
    assert await rig.svc.unmute(ALERT_CHANNEL, "voice-bot") is True
    assert await rig.svc.unmute(ALERT_CHANNEL, "voice-bot") is False
    await rig.cycle()
    assert len(rig.posts()) == posts_before  # unmuting does not replay what was muted
    fresh = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    assert rig.replies(parent)[-1].event_payload["session_id"] == fresh
    assert "Muted until" not in blocks_text(parent)


async def test_a_mute_expires_by_itself(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    await rig.svc.mute(ALERT_CHANNEL, "voice-bot", timedelta(hours=1), "U0MUTE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    assert rig.posts() == []
    rig.clock.advance(3600)
    fresh = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    assert [m.event_payload["session_id"] for m in rig.replies(parent)] == [fresh]


async def test_a_stale_parent_edit_landing_late_never_overwrites_an_acknowledgement(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.jobs.poll_once()
    # The worker's edit (2 sessions, no ack yet) is slow: Slack applies it only later.
    rig.slack.hold_next("chat.update", 1)
    worker = asyncio.create_task(rig.jobs.deliver_once())
    await rig.slack.wait_until(lambda: rig.slack.hanging == 1)
    assert (await rig.svc.acknowledge(ALERT_CHANNEL, parent.ts, "U0ACK")) is not None  # while it is held
    await asyncio.wait_for(worker, timeout=10)  # the worker's client timed out on the held edit
    rig.slack.release_hangs()
    stale = rig.slack.calls_to("chat.update")[0]
    await rig.slack.wait_until(lambda: stale.status is not None)  # the stale render has landed
    assert "Acknowledged by" not in blocks_text(rig.top()[0])
    rig.clock.advance(policy.RETRY_BASE.total_seconds())  # the channel's back-off after the timed-out edit
    await rig.jobs.deliver_once()  # the next pass renders the latest state under the lease
    [parent] = rig.top()
    assert "*Acknowledged* by <@U0ACK>" in blocks_text(parent) and "2 sessions failed" in parent.text
    await rig.jobs.deliver_once()
    assert "*Acknowledged* by <@U0ACK>" in blocks_text(rig.top()[0])  # and it stays


async def test_a_button_edit_waits_for_the_lease_holder_instead_of_racing_it(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    updates = len(rig.slack.calls_to("chat.update"))
    assert await rig.store.acquire_channel(ALERT_CHANNEL, "another-replica", rig.clock.now(), timedelta(seconds=20))
    await rig.svc.acknowledge(ALERT_CHANNEL, parent.ts, "U0ACK")
    assert len(rig.slack.calls_to("chat.update")) == updates  # not edited outside the lease
    await rig.store.release_channel(ALERT_CHANNEL, "another-replica")
    await rig.jobs.deliver_once()
    assert "*Acknowledged* by <@U0ACK>" in blocks_text(rig.top()[0])
