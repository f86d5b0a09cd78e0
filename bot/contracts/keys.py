"""Every dedup key is minted here, and only here: the outbox's (the unit of "exactly once") and
the ones PagerDuty deduplicates on.

An outbox key is stored in its row's unique `dedup_key` and in the posted message's metadata (where
reconciliation looks for it), so a format may change for new rows but two live formats must never
collide. Older formats still in databases: `incident:<incident id>`, `rollup:<incident>:<row>`.
"""

from __future__ import annotations

from datetime import date, datetime

#: PagerDuty's limit on a dedup_key.
PAGERDUTY_DEDUP_KEY_LIMIT = 255
#: The client name our PagerDuty events carry, and the first part of their dedup keys.
PAGERDUTY_CLIENT = "pipecat-ops"


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


def page_dedup_key(alert_id: int, action: str, serial: int) -> str:
    """The outbox key of one PagerDuty event: `page:<alert>:<action>:<serial>` (serial: trigger number)."""
    return f"page:{alert_id}:{action}:{serial}"


def digest_dedup_key(channel_id: str, day: date) -> str:
    """A channel's digest of one day."""
    return f"digest:{channel_id}:{day.isoformat()}"


def health_key(watch_id: int, condition_key: str, opened_at: datetime) -> str:
    """A watch's post of one health condition occurrence."""
    return f"health:{watch_id}:{condition_key}:{int(opened_at.timestamp())}"


def health_clear_key(watch_id: int, condition_key: str, opened_at: datetime, returns: int = 0) -> str:
    """The recovery of an occurrence; after it came back `returns` times, its next recovery."""
    suffix = f":{returns}" if returns else ""
    return f"health-clear:{watch_id}:{condition_key}:{int(opened_at.timestamp())}{suffix}"


def health_back_key(watch_id: int, condition_key: str, opened_at: datetime, returns: int) -> str:
    """The occurrence came back after it cleared (the `returns`-th time)."""
    return f"health-back:{watch_id}:{condition_key}:{int(opened_at.timestamp())}:{returns}"


def condition_dedup_key(agent: str, key: str, opened_at: datetime) -> str:
    """One condition occurrence, for an outside system (PagerDuty's dedup_key, with the channel)."""
    return f"{PAGERDUTY_CLIENT}:health:{agent}:{key}:{int(opened_at.timestamp())}"


def episode_dedup_key(agent: str, detector: str, opened_at: datetime) -> str:
    """One rate episode, for an outside system (PagerDuty's dedup_key, with the channel)."""
    return f"{PAGERDUTY_CLIENT}:rate:{agent}:{detector}:{int(opened_at.timestamp())}"


def incident_dedup_key(namespace: str, channel_id: str, incident_id: int) -> str:
    """One PagerDuty key for an incident's whole life. The namespace (the installation's, stored
    in its database: bot/store/pager.py `pager_namespace`) keeps two installations that page the
    same PagerDuty service apart; the incident id comes from the shared database, so every replica
    derives the same key. It is stored with the incident's page and read back, never re-derived."""
    return f"{PAGERDUTY_CLIENT}/{namespace}/{channel_id}/incident/{incident_id}"[:PAGERDUTY_DEDUP_KEY_LIMIT]


def condition_alert_key(namespace: str, channel_id: str, condition_key: str) -> str:
    """One PagerDuty key per health condition (or rate episode) occurrence and channel;
    `condition_key` names the occurrence (`condition_dedup_key`, `episode_dedup_key`), so a crash
    loop that clears and comes back is a new alert."""
    return f"{PAGERDUTY_CLIENT}/{namespace}/{channel_id}/{condition_key}"[:PAGERDUTY_DEDUP_KEY_LIMIT]
