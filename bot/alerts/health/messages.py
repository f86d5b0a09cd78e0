"""Rendering and threading of agent health rows for the deliverer (bot/alerts/delivery/deliverer.py).

An opening post (KIND_HEALTH) shows its occurrence as it is now, from its payload: open, resolved
(with its evidence kept and how long it lasted), or open again after it came back. The store
updates that payload and queues the post's re-render (bot/alerts/delivery/reply_edits.py) when the
condition clears or reopens, muted channel or not: an edit notifies nobody, and a channel must not
go on being told an agent refuses calls after it recovered.

A reply row (KIND_HEALTH_CLEAR: a recovery, or a "came back" note) goes in its opening post's
thread: it waits while that post may still be made, and is dropped (marked dead, with the reason)
when the channel never saw the alert (muted, undeliverable, or the watch came later).
"""

from __future__ import annotations

from bot.blocks.health import NO_EXTRAS, AlertExtras, health_alert, health_back, health_recovery, health_resolved
from bot.blocks.message import Message
from bot.store import Store
from bot.store.payloads import HealthClearPayload, HealthPayload
from bot.store.records import DELIVERABLE, SENT, OutboxRow


class Wait:
    """The opening post may still be made: keep the recovery behind it."""


WAIT = Wait()


class Skip:
    """The channel never saw the alert: a recovery of it would be noise."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def health_message(row: OutboxRow, extras: AlertExtras = NO_EXTRAS) -> Message:
    """The post of a health row as it is now; `extras`: its watch's runbook, the dashboard, the mute."""
    body = row.body()
    if isinstance(body, HealthPayload):
        if body.cleared_at is not None:
            return health_resolved(
                row.agent, body.finding, body.opened_at, body.cleared_at, row.dedup_key, extras=extras
            )
        return health_alert(
            row.agent,
            body.finding,
            body.severity,
            body.opened_at,
            row.dedup_key,
            returned_at=body.returned_at,
            returns=body.returns,
            acknowledged_by=body.ack_by,
            acknowledged_at=body.ack_at,
            extras=extras,
        )
    if isinstance(body, HealthClearPayload):
        if body.back:
            return health_back(row.agent, body.finding, body.opened_at, body.cleared_at, row.dedup_key)
        return health_recovery(row.agent, body.finding, body.opened_at, body.cleared_at, body.now, row.dedup_key)
    raise ValueError(f"outbox row {row.id} is not a health post ({row.kind})")


async def recovery_thread(store: Store, row: OutboxRow) -> str | Wait | Skip:
    """The ts a recovery reply goes under, WAIT, or Skip."""
    opener = await store.outbox_row_by_key(str(row.payload.get("opener_key", "")))
    if opener is None:
        return Skip("no health alert was posted to this channel")
    if opener.state == SENT and opener.posted_ts:
        return opener.posted_ts
    return WAIT if opener.state in DELIVERABLE else Skip(f"its health alert was not posted ({opener.state})")
