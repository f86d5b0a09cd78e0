"""Was this post already made? Look for our dedup key where the copy can be, and say what Slack's
answers mean as delivery outcomes.

Used before re-posting a row whose last attempt may have reached Slack (5xx, read timeout, or a
worker that died after the request left). Every alert post carries
`metadata.event_payload.dedup_key`; history and replies return metadata with
`include_all_metadata`. A copy can only be younger than the row's first claim, so the scan is
bounded by `oldest`/`latest` around it (RECONCILE_SKEW either side, for clock skew between us and
Slack) and paged with cursors from there: `conversations.replies` (oldest first) for a reply,
`conversations.history` (newest first) for a top-level post. A long thread or a busy channel
cannot hide the copy behind a scan limit.

Errors while looking, decided explicitly (none of them kills the row or breaks the channel,
except the channel-level ones a post would get too):
- `ratelimited`: back the channel off; the row stays uncertain and is looked for again.
- `thread_not_found`: a person deleted the parent, so no copy can be in its thread: the reply is
  posted to the top level.
- `missing_scope` (no history scope): the copy cannot be looked for: post again, once, without
  the check (at least once beats never; logged as an error so the scope gets fixed).
- anything else (5xx, a timeout, an unknown error): could not tell; look again later (uncertain).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.alerts.delivery import transitions
from bot.alerts.delivery.slack_errors import SlackFailure, slack_call
from bot.contracts.alerts import ALERT_EVENT_TYPE
from bot.store.records import OutboxRow

logger = logging.getLogger(__name__)

#: Reconcile errors with their own decision (see the module docstring).
THREAD_NOT_FOUND = "thread_not_found"
MISSING_SCOPE = "missing_scope"

Found = transitions.AlreadyPosted | transitions.RateLimited | transitions.MaybeSent
Decided = Found | transitions.ParentLost | transitions.CannotCheck | transitions.Refused


async def find_posted(slack: AsyncWebClient, row: OutboxRow, thread_ts: str | None, *, now: datetime) -> Decided | None:
    """None when no copy of `row` is in Slack (post it); otherwise what to do instead."""
    since = row.first_claimed_at or row.created_at
    oldest = _slack_ts(since - policy.RECONCILE_SKEW)
    latest = _slack_ts(now + policy.RECONCILE_SKEW)
    cursor: str | None = None
    for _ in range(policy.RECONCILE_MAX_PAGES):
        try:
            page = await slack_call(_page(slack, row, thread_ts, oldest, latest, cursor))
        except SlackFailure as error:
            decided = while_looking(error.outcome)
            if isinstance(decided, transitions.CannotCheck):
                logger.error(
                    "cannot look for an earlier copy of %s in %s (missing_scope: grant channels:history and "
                    "groups:history); posting it again without the check",
                    row.dedup_key,
                    row.channel_id,
                )
            return decided
        messages: list[dict[str, Any]] = page.get("messages") or []
        for message in messages:
            if is_ours(message, row.dedup_key):
                return transitions.AlreadyPosted(str(message["ts"]))
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not messages or not cursor:
            return None
    return transitions.MaybeSent(f"more than {policy.RECONCILE_MAX_PAGES} pages to check for {row.dedup_key}")


def _page(
    slack: AsyncWebClient, row: OutboxRow, thread_ts: str | None, oldest: str, latest: str, cursor: str | None
) -> Any:
    common: dict[str, Any] = {
        "channel": row.channel_id,
        "include_all_metadata": True,
        "limit": policy.RECONCILE_PAGE_SIZE,
        "oldest": oldest,
        "latest": latest,
        "inclusive": True,
        "cursor": cursor,
    }
    if thread_ts is not None:
        return slack.conversations_replies(ts=thread_ts, **common)
    return slack.conversations_history(**common)


def while_looking(failed: transitions.Failed) -> Decided:
    """What a failure to read the channel means for the row (the module docstring's list)."""
    match failed:
        case transitions.RateLimited(retry_after, detail):
            return transitions.RateLimited(retry_after, f"reconcile: {detail}")
        case transitions.Refused(reason) if reason == THREAD_NOT_FOUND:
            return transitions.ParentLost("the incident's parent was deleted: posted top-level")
        case transitions.Refused(reason) if reason == MISSING_SCOPE:
            return transitions.CannotCheck(MISSING_SCOPE)
        case transitions.Refused(_, True):
            return failed  # a post would be refused too: the channel is broken
        case transitions.Refused(detail) | transitions.NotSent(detail) | transitions.MaybeSent(detail):
            return transitions.MaybeSent(f"reconcile: {detail}")


def _slack_ts(at: datetime) -> str:
    return f"{at.timestamp():.6f}"


def is_ours(message: dict[str, Any], dedup_key: str) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != ALERT_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("dedup_key") == dedup_key
