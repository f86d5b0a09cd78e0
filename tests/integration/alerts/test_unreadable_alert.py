"""An alert row whose stored payload no longer reads (an older release's shape, a hand edit) is
given up as unrenderable when it is routed: it never jams the channel's later alerts."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.store.records import DEAD
from bot.store.schema import alert_outbox
from tests.fixtures_store import ALERT_CHANNEL, AlertRig


async def test_an_unreadable_alert_is_given_up_and_the_next_failure_still_posts(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    unreadable = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.clock.advance(60)
    await rig.jobs.poll_once()
    async with rig.store.engine.begin() as conn:
        changed = await conn.execute(
            update(alert_outbox)
            .where(alert_outbox.c.session_id == unreadable)
            .values(payload={"session": {"sessionId": "not-a-uuid"}})
        )
    assert changed.rowcount == 1
    await rig.jobs.deliver_once()
    [summary] = rig.top()  # no alert of its own: the channel is told one could not be delivered
    assert summary.text == "1 alert could not be delivered"
    async with rig.store.engine.connect() as conn:
        state, error = (
            await conn.execute(
                select(alert_outbox.c.state, alert_outbox.c.last_error).where(alert_outbox.c.session_id == unreadable)
            )
        ).one()
    assert state == DEAD and "ValidationError" in (error or "")

    rig.clock.advance(20)
    readable = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    first, parent = rig.top()
    assert first.ts == summary.ts
    assert [m.event_payload["session_id"] for m in rig.replies(parent)] == [readable]
