"""An alert row whose stored payload no longer reads (an older release's shape, a hand edit) is
given up as unrenderable when it is routed: it never jams the channel's later alerts."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from bot.blocks.message import Message
from bot.store.records import OutboxRow, OutboxState
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
    assert state == OutboxState.DEAD and "ValidationError" in (error or "")

    rig.clock.advance(20)
    readable = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    first, parent = rig.top()
    assert first.ts == summary.ts
    assert [m.event_payload["session_id"] for m in rig.replies(parent)] == [readable]


async def test_a_database_blink_while_an_alert_is_rendered_retries_it_instead_of_giving_it_up(
    alert_rig: AlertRig,
) -> None:
    """Rendering reads the incident and its causes: a dropped database connection there says
    nothing about the row, so the alert is retried and posted, not summarised as undeliverable."""
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.clock.advance(60)
    await rig.jobs.poll_once()
    messages = rig.jobs._deliverer._messages  # the one MessageFactory the pipeline renders with
    real = messages.for_row
    blinks = {"left": 1}

    async def blinking(row: OutboxRow) -> tuple[Message, int | None]:
        if blinks["left"]:
            blinks["left"] -= 1
            raise OperationalError("SELECT", {}, ConnectionError("server closed the connection unexpectedly"))
        return await real(row)

    messages.for_row = blinking  # type: ignore[method-assign]
    await rig.jobs.deliver_once()
    assert blinks["left"] == 0 and rig.top() == []  # nothing posted yet, and no "could not be delivered"
    rig.clock.advance(60)
    await rig.jobs.deliver_once()
    [parent] = rig.top()
    assert [m.event_payload["session_id"] for m in rig.replies(parent)] == [sid]
    assert all(r.state != OutboxState.DEAD for r in await rig.store.outbox_rows())
