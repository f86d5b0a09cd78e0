"""Rendering and threading of agent health rows for the deliverer (bot/alerts/outbox.py).

A recovery row (KIND_HEALTH_CLEAR) is a reply in its opening post's thread: it waits while that
post may still be made, is dropped (marked dead, with the reason) when the channel never saw the
alert (muted, undeliverable, or the watch came later), and once it is posted the opening post is
edited to say the condition cleared.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.slack_errors import SlackFailure, slack_call
from bot.blocks.health import health_alert, health_recovery, health_resolved
from bot.blocks.message import Message
from bot.store import Store
from bot.store.records import DELIVERABLE, KIND_HEALTH, KIND_HEALTH_CLEAR, SENT, OutboxRow

logger = logging.getLogger(__name__)

HEALTH_KINDS = (KIND_HEALTH, KIND_HEALTH_CLEAR)


class Wait:
    """The opening post may still be made: keep the recovery behind it."""


WAIT = Wait()


class Skip:
    """The channel never saw the alert: a recovery of it would be noise."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _when(payload: dict[str, Any], name: str) -> datetime:
    return datetime.fromisoformat(str(payload[name]))


def health_message(row: OutboxRow) -> Message:
    payload = row.payload
    finding = payload.get("finding") or {}
    if row.kind == KIND_HEALTH:
        return health_alert(row.agent, finding, str(payload.get("severity", "warning")), _when(payload, "opened_at"),
                            row.dedup_key)
    return health_recovery(row.agent, finding, _when(payload, "opened_at"), _when(payload, "cleared_at"),
                           str(payload.get("now") or ""), row.dedup_key)


async def recovery_thread(store: Store, row: OutboxRow) -> str | Wait | Skip:
    """The ts a recovery reply goes under, WAIT, or Skip."""
    opener = await store.outbox_row_by_key(str(row.payload.get("opener_key", "")))
    if opener is None:
        return Skip("no health alert was posted to this channel")
    if opener.state == SENT and opener.posted_ts:
        return opener.posted_ts
    return WAIT if opener.state in DELIVERABLE else Skip(f"its health alert was not posted ({opener.state})")


async def resolve_opener(slack: AsyncWebClient, store: Store, row: OutboxRow) -> None:
    """Edit the opening post to say the condition cleared. Best effort: the recovery reply (already
    posted) is the record; a failed edit is logged, not retried."""
    opener = await store.outbox_row_by_key(str(row.payload.get("opener_key", "")))
    if opener is None or opener.posted_ts is None:
        return
    payload = row.payload
    message = health_resolved(
        row.agent, payload.get("finding") or {}, _when(payload, "opened_at"), _when(payload, "cleared_at"),
        opener.dedup_key,
    )
    try:
        await slack_call(slack.chat_update(channel=row.channel_id, ts=opener.posted_ts, **message.to_post_kwargs()))
    except SlackFailure as error:
        logger.warning("could not mark the health alert %s resolved: %s", opener.dedup_key, error.detail)
