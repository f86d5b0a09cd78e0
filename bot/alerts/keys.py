"""Every outbox dedup key is minted here, and only here (the unit of "exactly once").

A key is stored in its row's unique `dedup_key` and in the posted message's metadata (where
reconciliation looks for it), so a format may change for new rows but two live formats must never
collide. Older formats still in databases: `incident:<incident id>`, `rollup:<incident>:<row>`.
"""

from __future__ import annotations

from datetime import datetime


def alert_key(subscription_id: int, session_id: str) -> str:
    """One (watch, session) alert."""
    return f"{subscription_id}:{session_id.lower()}"


def parent_key(first_row_id: int) -> str:
    """A new incident's parent, named by the first alert row routed into it (a row opens at most
    one incident, so the key is unique before the incident has an id)."""
    return f"parent:{first_row_id}"


def replacement_parent_key(incident_id: int, deleted_ts: str) -> str:
    """The new parent of an incident whose parent (`deleted_ts`) a person deleted: one per deletion."""
    return f"reparent:{incident_id}:{deleted_ts}"


def rollup_key(first_rolled_row_id: int) -> str:
    """A roll-up reply, named by the first row it rolls up (a row is rolled up at most once)."""
    return f"rollup:{first_rolled_row_id}"


def notice_key(kind: str, subscription_id: int, since: datetime) -> str:
    """One outage or recovery notice of one watch: one per outage."""
    return f"{kind}:{subscription_id}:{int(since.timestamp())}"


def bad_item_key(subscription_id: int, session_id: str) -> str:
    """The notice that one session could not be processed and was recorded as seen."""
    return f"bad_item:{subscription_id}:{session_id.lower()}"


def summary_key(channel_id: str, first_row_id: int) -> str:
    """A channel's "could not be delivered" summary, named by the first given-up row it lists."""
    return f"undelivered:{channel_id}:{first_row_id}"


def legacy_parent_key(incident_id: int) -> str:
    """The parent key of an incident opened before keys were minted by the routing plan."""
    return f"incident:{incident_id}"


def webhook_post_key(webhook_id: str, alert_kind: str, channel_id: str) -> str:
    """One channel's post about one alert of one Pipecat Cloud webhook event (an alert it opened,
    resolved or warned of; one event may resolve two): a redelivery carries the same webhook-id,
    so it can never post twice."""
    return f"webhook:{webhook_id}:{alert_kind}:{channel_id}"


def rate_key(subscription_id: int, detector: str, opened_at: datetime) -> str:
    """One watch's post of one rate episode (a detector's alert from when it opened)."""
    return f"rate:{subscription_id}:{detector}:{int(opened_at.timestamp())}"


def rate_clear_key(subscription_id: int, detector: str, opened_at: datetime) -> str:
    """The reply in that post's thread when the episode cleared."""
    return f"rate-clear:{subscription_id}:{detector}:{int(opened_at.timestamp())}"
