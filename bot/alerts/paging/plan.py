"""What to tell PagerDuty next about one incident: a pure decision with table tests.

One step per incident per cycle: open (first trigger), update (trigger again, same dedup_key, as
the incident grows, at most every PAGE_UPDATE_EVERY), acknowledge (someone clicked Acknowledge in
Slack), resolve (the incident went quiet, or its watch stopped paging or was removed).

The count an event reports is the incident's `session_count`, the number the Slack parent shows;
PAGE_UPDATE_EVERY is shorter than a poll, so an update follows the parent's in the same pass.
While the channel mutes the agent nothing new is triggered (no page opens, no update is sent);
an acknowledge or resolve still goes out, and unmuting sends nothing for the time it was muted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.pagerduty.events import ACKNOWLEDGE, RESOLVE, TRIGGER
from bot.store.records import Incident, PagerAlert

TRIGGERED, ACKNOWLEDGED, RESOLVED = "triggered", "acknowledged", "resolved"


@dataclass(frozen=True)
class PageStep:
    action: str  # trigger | acknowledge | resolve
    state: str  # the alert's state once the event is enqueued
    sent_count: int  # the session count the event reports


def plan_page(
    incident: Incident,
    alert: PagerAlert | None,
    *,
    paging: bool,
    muted: bool,
    now: datetime,
    update_every: timedelta,
) -> PageStep | None:
    count = incident.session_count
    if alert is None:
        if paging and not muted and incident.closed_at is None:
            return PageStep(TRIGGER, TRIGGERED, count)
        return None  # never paged: nothing to open for a closed incident or a non-paging watch
    if alert.state == RESOLVED:
        return None
    if incident.closed_at is not None or not paging:
        return PageStep(RESOLVE, RESOLVED, alert.sent_count)
    if incident.ack_at is not None and alert.state == TRIGGERED:
        return PageStep(ACKNOWLEDGE, ACKNOWLEDGED, alert.sent_count)
    grown = count > alert.sent_count
    due = alert.last_trigger_at is None or now - alert.last_trigger_at >= update_every
    if grown and due and not muted:
        return PageStep(TRIGGER, alert.state, count)  # an acknowledged alert stays acknowledged
    return None
