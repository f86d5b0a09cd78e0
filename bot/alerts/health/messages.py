"""Rendering of agent health rows for the deliverer (bot/alerts/delivery/messages.py).

An opening post (KIND_HEALTH) shows its occurrence as it is now, from its payload: open, resolved
(with its evidence kept and how long it lasted), or open again after it came back. The store
updates that payload and queues the post's re-render (bot/alerts/delivery/reply_edits.py) when the
condition clears or reopens, muted channel or not: an edit notifies nobody, and a channel must not
go on being told an agent refuses calls after it recovered.

A reply row (KIND_HEALTH_CLEAR: a recovery, or a "came back" note) follows its opening post
(payloads.FollowsOpener): bot/alerts/delivery/threads.py puts it in that post's thread.
"""

from __future__ import annotations

from bot.blocks.health import AlertExtras, health_alert, health_back, health_recovery, health_resolved
from bot.blocks.message import Message
from bot.store.payloads import HealthClearPayload, HealthPayload
from bot.store.records import OutboxRow


def health_post(row: OutboxRow, body: HealthPayload, extras: AlertExtras) -> Message:
    """The opening post of a health condition as it is now; `extras`: its watch's runbook, the
    dashboard, the mute."""
    if body.cleared_at is not None:
        return health_resolved(row.agent, body.finding, body.opened_at, body.cleared_at, row.dedup_key, extras=extras)
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


def health_reply(row: OutboxRow, body: HealthClearPayload) -> Message:
    """The reply under it: the condition cleared, or (`back`) came back."""
    if body.back:
        return health_back(row.agent, body.finding, body.opened_at, body.cleared_at, row.dedup_key)
    return health_recovery(row.agent, body.finding, body.opened_at, body.cleared_at, body.now, row.dedup_key)
