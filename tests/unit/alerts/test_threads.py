"""thread_of: where a row posts, from what its payload declares (IncidentReply, FollowsOpener), as a table.

Whatever the feature (agent health, rate alerts), a reply that follows an opener goes under the
opener's post, waits behind it, or is dropped without it; a session's reply goes in its incident's
thread; anything else posts at the top level."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.alerts.delivery.threads import BEHIND, Thread, thread_of
from bot.alerts.delivery.transitions import Dropped, ParentLost
from bot.contracts.notices import NoticeKind
from bot.store.payloads import (
    AlertPayload,
    HealthClearPayload,
    HealthPayload,
    NoticePayload,
    OutboxPayload,
    RateClearPayload,
    RatePayload,
    RollupPayload,
    dump_payload,
)
from bot.store.records import Incident, OutboxKind, OutboxRow, OutboxState

T0 = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)
OPENER = "health:1:crashloop:t0"
P, U, S, D = OutboxState.PENDING, OutboxState.UNCERTAIN, OutboxState.SENT, OutboxState.DEAD

HEALTH_CLEAR = HealthClearPayload(finding={"key": "crashloop"}, opened_at=T0, cleared_at=T0, opener_key=OPENER)
HEALTH_BACK = HealthClearPayload(
    finding={"key": "crashloop"}, opened_at=T0, cleared_at=T0, opener_key=OPENER, back=True
)
RATE_CLEAR = RateClearPayload(episode={}, opened_at=T0, cleared_at=T0, opener_key=OPENER)
ALERT = AlertPayload(session={"sessionId": "s1"})
ROLLUP = RollupPayload(count=0, sessions=[])
OTHERS: list[OutboxPayload] = [
    NoticePayload(type=NoticeKind.OUTAGE),
    HealthPayload(finding={}, severity="error", opened_at=T0),
    RatePayload(episode={}, opened_at=T0),
]
INCIDENT = Incident(
    id=1, channel_id="C1", agent="voice-bot", parent_ts=None, opened_at=T0, first_failure_at=T0,
    last_failure_at=T0, last_activity_at=T0, session_count=1, statuses=("HTTP_ERROR",), latest_session_id="s1",
    burst_started_at=T0, burst_replies=0, ack_by=None, ack_at=None, closed_at=None, version=1, rendered_version=0,
)  # fmt: skip


def row(
    payload: OutboxPayload | dict[str, Any], kind: OutboxKind | None = None, state: OutboxState = P, **fields: Any
) -> OutboxRow:
    data = payload if isinstance(payload, dict) else dump_payload(payload)
    base = OutboxRow(
        id=7, dedup_key="k", kind=kind or OutboxKind(data["kind"]), channel_id="C1", agent="voice-bot",
        subscription_id=1, session_id=None, incident_id=1, state=state, attempts=0, next_attempt_at=T0,
        claim_token=None, claimed_at=None, claimed_until=None, payload=data, posted_ts=None, last_error=None,
        created_at=T0,
    )  # fmt: skip
    return replace(base, **fields)


class Rows:
    """The three reads thread_of makes, over a few rows in memory."""

    def __init__(self, rows: list[OutboxRow], incident: Incident | None = None) -> None:
        self._rows = rows
        self._incident = incident

    async def incident(self, incident_id: int) -> Incident | None:
        return self._incident if self._incident is not None and self._incident.id == incident_id else None

    async def outbox_row_by_key(self, dedup_key: str) -> OutboxRow | None:
        return next((r for r in self._rows if r.dedup_key == dedup_key), None)

    async def outbox_rows(
        self, channel_id: str | None = None, kind: str | None = None, *, incident_id: int | None = None
    ) -> list[OutboxRow]:
        return [r for r in self._rows if r.kind == kind and r.incident_id == incident_id]


def opener(state: OutboxState, posted_ts: str | None = None) -> OutboxRow:
    return row({"kind": "health"}, state=state, dedup_key=OPENER, posted_ts=posted_ts, incident_id=None)


def parent(state: OutboxState, last_error: str | None = None) -> OutboxRow:
    return row({"kind": "parent"}, state=state, dedup_key="parent:1", last_error=last_error)


NOT_POSTED = "recovery not posted: its alert was not posted (dead)"
NO_OPENER = "recovery not posted: no alert was posted to this channel"


@pytest.mark.parametrize("follower", [HEALTH_CLEAR, HEALTH_BACK, RATE_CLEAR], ids=["recovery", "back", "rate"])
@pytest.mark.parametrize(
    ("rows", "top_level", "thread"),
    [
        ([opener(S, "9.9")], False, "9.9"),  # under the opener's post
        ([opener(S, "9.9")], True, "9.9"),  # (a follower never goes top-level)
        ([opener(P)], False, BEHIND),  # the opener may still be posted: wait behind it
        ([opener(U)], False, BEHIND),
        ([opener(OutboxState.SENDING)], False, BEHIND),
        ([opener(D)], False, Dropped(NOT_POSTED)),  # the channel never saw the alert: noise
        ([], False, Dropped(NO_OPENER)),  # muted when it opened, or the watch came later
    ],
)
async def test_a_reply_that_follows_an_opener_goes_under_it_waits_for_it_or_is_dropped(
    follower: OutboxPayload, rows: list[OutboxRow], top_level: bool, thread: Thread
) -> None:
    assert await thread_of(Rows(rows), row(follower, top_level=top_level, incident_id=None)) == thread


@pytest.mark.parametrize("reply", [ALERT, ROLLUP], ids=["alert", "rollup"])
@pytest.mark.parametrize(
    ("incident", "rows", "top_level", "thread"),
    [
        (replace(INCIDENT, parent_ts="1.1"), [], False, "1.1"),  # in the incident's thread
        (replace(INCIDENT, parent_ts="1.1"), [], True, None),  # sent to the top level: stays there
        (INCIDENT, [parent(P)], False, BEHIND),  # the parent is not posted yet: keep the order
        (INCIDENT, [parent(D, "boom"), parent(P)], False, BEHIND),  # a replacement is on its way
        (
            INCIDENT,
            [parent(D, "invalid_blocks")],
            False,
            ParentLost("incident parent could not be posted (invalid_blocks): posted top-level"),
        ),
        (None, [], False, ParentLost("incident parent could not be posted (missing): posted top-level")),
    ],
)
async def test_a_sessions_reply_goes_in_its_incidents_thread(
    reply: OutboxPayload, incident: Incident | None, rows: list[OutboxRow], top_level: bool, thread: Thread
) -> None:
    assert await thread_of(Rows(rows, incident), row(reply, top_level=top_level)) == thread


@pytest.mark.parametrize("payload", OTHERS, ids=lambda p: str(p.kind))
async def test_everything_else_posts_at_the_top_level(payload: OutboxPayload) -> None:
    store = Rows([opener(S, "9.9"), parent(P)], replace(INCIDENT, parent_ts="1.1"))
    assert await thread_of(store, row(payload)) is None


async def test_an_unreadable_payload_posts_at_the_top_level_where_its_render_gives_it_up() -> None:
    store = Rows([opener(S, "9.9")], replace(INCIDENT, parent_ts="1.1"))
    assert await thread_of(store, row({"kind": "health_clear"}, kind=OutboxKind.HEALTH_CLEAR)) is None
    assert await thread_of(store, row({"kind": "alert"}, kind=OutboxKind.ALERT)) is None
