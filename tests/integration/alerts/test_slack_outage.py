"""Slack unavailable for writes (every chat.postMessage / chat.update answers 503) while sessions
keep failing: nothing lost, nothing posted twice, parents end up current (issue 10, item 2)."""

from __future__ import annotations

from datetime import timedelta

from bot.alerts import policy
from bot.store.records import OutboxState
from tests.fixtures_store import ALERT_CHANNEL, AlertRig
from tests.outage_checks import alert_sessions, keys_posted_twice

POLL_SECONDS = 2.0


async def test_a_three_and_a_half_minute_outage_with_2s_polls_loses_nothing_and_posts_nothing_twice(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    failed = [rig.sim.add_session("voice-bot", "HTTP_ERROR")]
    await rig.cycle(POLL_SECONDS)
    [parent] = rig.top()
    outage_ends = rig.clock.now() + timedelta(minutes=3.5)
    rig.slack.start_outage(until=outage_ends)
    for tick in range(int(200 / POLL_SECONDS)):
        if tick % 8 == 0:  # a failure every 16 s: under the burst limit, so each gets its own reply
            failed.append(rig.sim.add_session("voice-bot", "HTTP_ERROR"))
        await rig.cycle(POLL_SECONDS)
    refused = [c for c in rig.slack.calls if c.status == 503]  # posts and edits alike
    assert len(rig.replies(parent)) == 1  # Slack really was down all along...
    # ...and was tried about once per back-off (RETRY_CAP at most), not once per row or per tick.
    assert 5 <= len(refused) <= 200 / policy.RETRY_CAP.total_seconds() + 4
    for _ in range(int(600 / POLL_SECONDS)):
        await rig.cycle(POLL_SECONDS)
        if {r.state for r in await rig.store.outbox_rows()} == {OutboxState.SENT}:
            break
    assert {r.state for r in await rig.store.outbox_rows()} == {OutboxState.SENT}
    assert rig.clock.now() - outage_ends <= timedelta(seconds=30)  # all out within 30 s of Slack's return
    assert alert_sessions(rig.slack, ALERT_CHANNEL) == dict.fromkeys(failed, 1)  # each once, none lost
    assert keys_posted_twice(rig.slack, ALERT_CHANNEL) == []
    [parent] = rig.top()  # still one incident: the 503s did not open a second parent
    assert sorted(m.event_payload["session_id"] for m in rig.replies(parent)) == sorted(failed)
    assert f"{len(failed)} sessions failed since" in parent.text  # the parent edit caught up
    assert rig.slack.calls_to("conversations.replies"), "uncertain posts were looked for before re-posting"
