"""Was this post already made? Look for our dedup key in the channel (or thread) Slack shows.

Used before re-posting a row whose last attempt may have reached Slack (5xx, read timeout, or a
worker that died after the request left). Every alert post carries
`metadata.event_payload.dedup_key`, and history returns metadata with `include_all_metadata`.
Only the newest RECONCILE_SCAN_LIMIT messages are read: an uncertain post is recent by nature.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.alerts.slack_errors import slack_call
from bot.contracts.alerts import ALERT_EVENT_TYPE
from bot.store.records import OutboxRow


async def find_posted(slack: AsyncWebClient, row: OutboxRow, thread_ts: str | None) -> str | None:
    """The ts of our message for `row`, or None. Raises SlackFailure if Slack cannot tell."""
    cursor: str | None = None
    scanned = 0
    while scanned < policy.RECONCILE_SCAN_LIMIT:
        if thread_ts is not None:
            call = slack.conversations_replies(
                channel=row.channel_id,
                ts=thread_ts,
                include_all_metadata=True,
                limit=policy.RECONCILE_PAGE_SIZE,
                cursor=cursor,
            )
        else:
            call = slack.conversations_history(
                channel=row.channel_id, include_all_metadata=True, limit=policy.RECONCILE_PAGE_SIZE, cursor=cursor
            )
        page = await slack_call(call)
        messages: list[dict[str, Any]] = page.get("messages") or []
        for message in messages:
            if is_ours(message, row.dedup_key):
                return str(message["ts"])
        scanned += len(messages)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not messages or not cursor:
            return None
    return None


def is_ours(message: dict[str, Any], dedup_key: str) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != ALERT_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("dedup_key") == dedup_key
