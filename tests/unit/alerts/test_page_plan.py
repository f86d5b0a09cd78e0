"""plan_page: the next PagerDuty step for an incident, as a table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.paging.plan import PageStep, plan_page
from bot.store.records import Incident, PagerAlert

NOW = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
INCIDENT = Incident(
    id=1, channel_id="C1", agent="voice-bot", parent_ts="1.1", opened_at=NOW, first_failure_at=NOW,
    last_failure_at=NOW, last_activity_at=NOW, session_count=3, statuses=("HTTP_ERROR",), latest_session_id="s",
    burst_started_at=NOW, burst_replies=0, ack_by=None, ack_at=None, closed_at=None, version=1, rendered_version=1,
)  # fmt: skip
ALERT = PagerAlert(
    id=9, dedup_key="k", subscription_id=1, channel_id="C1", agent="voice-bot", incident_id=1, condition=None,
    state="triggered", sent_count=3, triggers=1, last_trigger_at=NOW - timedelta(minutes=1),
)  # fmt: skip
CLOSED = replace(INCIDENT, closed_at=NOW)
ACKED = replace(INCIDENT, ack_at=NOW, ack_by="U1")
GROWN = replace(INCIDENT, session_count=7)
OLD = timedelta(minutes=6)


@pytest.mark.parametrize(
    ("incident", "alert", "paging", "muted", "expected"),
    [
        (INCIDENT, None, True, False, PageStep("trigger", "triggered", 3)),
        (INCIDENT, None, False, False, None),  # a non-paging watch never pages
        (CLOSED, None, True, False, None),  # closed before it was paged: nothing to open
        (INCIDENT, ALERT, True, False, None),  # nothing new
        (GROWN, ALERT, True, False, None),  # grown, but updated a minute ago
        (GROWN, replace(ALERT, last_trigger_at=NOW - OLD), True, False, PageStep("trigger", "triggered", 7)),
        (ACKED, ALERT, True, False, PageStep("acknowledge", "acknowledged", 3)),
        (ACKED, replace(ALERT, state="acknowledged"), True, False, None),
        (
            replace(GROWN, ack_at=NOW),
            replace(ALERT, state="acknowledged", last_trigger_at=NOW - OLD),
            True,
            False,
            PageStep("trigger", "acknowledged", 7),  # an update keeps the acknowledgement
        ),
        (CLOSED, ALERT, True, False, PageStep("resolve", "resolved", 3)),  # quiet → resolve
        (INCIDENT, ALERT, False, False, PageStep("resolve", "resolved", 3)),  # unwatched or no longer paging
        (CLOSED, replace(ALERT, state="resolved"), True, False, None),
        # Muted: nothing new is triggered; what quiets a page still goes out.
        (INCIDENT, None, True, True, None),  # no page opens
        (GROWN, replace(ALERT, last_trigger_at=NOW - OLD), True, True, None),  # no update
        (ACKED, ALERT, True, True, PageStep("acknowledge", "acknowledged", 3)),
        (CLOSED, ALERT, True, True, PageStep("resolve", "resolved", 3)),
        (INCIDENT, ALERT, False, True, PageStep("resolve", "resolved", 3)),
    ],
)
def test_plan_page(
    incident: Incident, alert: PagerAlert | None, paging: bool, muted: bool, expected: PageStep | None
) -> None:
    assert plan_page(incident, alert, paging=paging, muted=muted, now=NOW, update_every=EVERY) == expected
