"""Table tests for the pure decisions of bot/alerts/incidents/decide.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.incidents import decide
from bot.pipecat.models import Session
from bot.store.payloads import RollupPayload
from bot.store.records import (
    CAUSE_FOUND,
    CAUSE_NONE,
    CAUSE_PENDING,
    CAUSE_SKIPPED,
    Incident,
    SessionCause,
    Watch,
)

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)


def watch(id: int, statuses: set[str], *, created: datetime = T0, broken: str | None = None) -> Watch:
    return Watch(id, f"C{id}", "voice-bot", frozenset(statuses), None, "U1", created, broken_reason=broken)


def session(
    status: str | None, end_state: str | None = None, *, ended: datetime | None = T0 + timedelta(minutes=1)
) -> Session:
    return Session.model_validate(
        {
            "sessionId": "11111111-2222-3333-4444-555555555555",
            "createdAt": T0.isoformat(),
            "endedAt": ended.isoformat() if ended else None,
            "completionStatus": status,
            "endState": end_state,
        }
    )


@pytest.mark.parametrize(
    ("status", "end_state", "statuses", "alerts"),
    [
        ("HTTP_ERROR", None, {"HTTP_ERROR"}, True),
        ("http_error", None, {"HTTP_ERROR"}, True),  # case-insensitive
        ("HTTP_COMPLETED", None, {"HTTP_ERROR"}, False),
        ("HTTP_COMPLETED", "agent_error", {"AGENT_ERROR"}, True),  # endState counts too
        ("500", None, {"500"}, True),  # HTTP codes as strings
        (None, None, {"HTTP_ERROR"}, False),
        ("SOMETHING_NEW", None, {"SOMETHING_NEW"}, True),  # open enum
    ],
)
def test_alerting_watches_by_status(
    status: str | None, end_state: str | None, statuses: set[str], alerts: bool
) -> None:
    assert bool(decide.alerting_watches(session(status, end_state), [watch(1, statuses)])) is alerts


def test_active_sessions_and_sessions_ended_before_the_watch_never_alert() -> None:
    early = watch(1, {"HTTP_ERROR"}, created=T0)
    late = watch(2, {"HTTP_ERROR"}, created=T0 + timedelta(minutes=5))
    assert decide.alerting_watches(session("HTTP_ERROR", ended=None), [early]) == []
    assert decide.alerting_watches(session("HTTP_ERROR"), [early, late]) == [early]


@pytest.mark.parametrize(
    ("failures", "notified", "due"),
    [(0, False, False), (1, False, False), (2, False, True), (5, False, True), (5, True, False)],
)
def test_outage_notice_is_due_once_at_the_threshold(failures: int, notified: bool, due: bool) -> None:
    assert decide.outage_notice_due(failures, notified) is due


@pytest.mark.parametrize(
    ("started", "used", "now_offset", "count", "expected"),
    [
        (None, 0, 0, 1, (1, 0, 0, 1)),  # first failure: its own reply
        (None, 0, 0, 5, (5, 0, 0, 5)),  # exactly the limit: no roll-up
        (None, 0, 0, 6, (5, 1, 0, 5)),  # more than 5 in a minute: the rest rolls up
        (None, 0, 0, 30, (5, 25, 0, 5)),
        (0, 5, 30, 3, (0, 3, 0, 5)),  # same minute, budget spent: all roll up
        (0, 3, 30, 4, (2, 2, 0, 5)),
        (0, 5, 60, 2, (2, 0, 60, 2)),  # a new minute: a new budget
    ],
)
def test_split_burst(
    started: int | None, used: int, now_offset: int, count: int, expected: tuple[int, int, int, int]
) -> None:
    at = None if started is None else T0 + timedelta(seconds=started)
    split = decide.split_burst(at, used, T0 + timedelta(seconds=now_offset), count)
    replies, rolled, start_offset, burst_replies = expected
    assert (split.replies, split.rolled) == (replies, rolled)
    assert split.burst_started_at == T0 + timedelta(seconds=start_offset)
    assert split.burst_replies == burst_replies


def incident(*, last_activity: datetime, closed: datetime | None = None, count: int = 2) -> Incident:
    return Incident(
        id=7,
        channel_id="C1",
        agent="voice-bot",
        parent_ts="1.0",
        opened_at=T0,
        first_failure_at=T0,
        last_failure_at=T0 + timedelta(minutes=1),
        last_activity_at=last_activity,
        session_count=count,
        statuses=("HTTP_ERROR",),
        latest_session_id="s-old",
        burst_started_at=T0,
        burst_replies=2,
        ack_by=None,
        ack_at=None,
        closed_at=closed,
        version=3,
        rendered_version=3,
    )


@pytest.mark.parametrize(
    ("activity_offset_min", "closed", "now_offset_min", "same_incident"),
    [
        (0, False, 5, True),
        (0, False, 29, True),
        (0, False, 30, False),  # quiet for the whole window: a new incident
        (0, True, 5, False),  # closed incidents never reopen
    ],
)
def test_incident_window(activity_offset_min: int, closed: bool, now_offset_min: int, same_incident: bool) -> None:
    now = T0 + timedelta(minutes=now_offset_min)
    current = incident(last_activity=T0 + timedelta(minutes=activity_offset_min), closed=T0 if closed else None)
    failure = decide.Failure(1, "voice-bot", "s-new", "HTTP_ERROR", now)
    [change] = decide.plan_routing("C1", [failure], {"voice-bot": current}, [], now, WINDOW).changes
    assert (change.incident_id == 7) is same_incident
    assert change.session_count == (3 if same_incident else 1)


def test_routing_groups_per_agent_mutes_and_rolls_up() -> None:
    now = T0 + timedelta(minutes=2)
    failures = [decide.Failure(i, "voice-bot", f"s{i}", "HTTP_ERROR" if i % 2 else "500", now) for i in range(1, 8)]
    failures.append(decide.Failure(8, "support-bot", "s8", "HTTP_ERROR", now))
    failures.append(decide.Failure(9, "muted-bot", "s9", "HTTP_ERROR", now))
    plan = decide.plan_routing("C1", failures, {}, ["muted-bot"], now, WINDOW, {"voice-bot": 11, "support-bot": 12})
    assert plan.muted_row_ids == [9]
    voice, support = plan.changes
    assert (voice.agent, voice.incident_id, voice.session_count) == ("voice-bot", None, 7)
    assert voice.reply_row_ids == [1, 2, 3, 4, 5] and voice.rolled_row_ids == [6, 7]
    assert voice.statuses == ("HTTP_ERROR", "500")
    # The plan carries the posts, keys minted: the store only persists them.
    assert voice.rollup_post is not None and isinstance(voice.rollup_post.payload, RollupPayload)
    assert (voice.rollup_post.dedup_key, voice.rollup_post.payload.count) == ("rollup:6", 2)
    assert [s.session_id for s in voice.rollup_post.payload.sessions] == ["s6", "s7"]
    assert voice.parent_post is not None and (voice.parent_post.dedup_key, voice.parent_post.kind) == (
        "parent:1",
        "parent",
    )
    assert (voice.parent_post.subscription_id, voice.rollup_post.subscription_id) == (11, 11)
    assert support.reply_row_ids == [8] and support.rolled_row_ids == [] and support.rollup_post is None
    assert support.parent_post is not None and support.parent_post.dedup_key == "parent:8"


def test_an_open_incident_gets_no_second_parent() -> None:
    now = T0 + timedelta(minutes=3)
    current = incident(last_activity=T0 + timedelta(minutes=2))
    [change] = decide.plan_routing(
        "C1", [decide.Failure(4, "voice-bot", "s4", "HTTP_ERROR", now)], {"voice-bot": current}, [], now, WINDOW
    ).changes
    assert change.incident_id == current.id and change.parent_post is None


def test_a_late_arrival_keeps_the_newer_latest_session() -> None:
    now = T0 + timedelta(minutes=3)
    current = incident(last_activity=T0 + timedelta(minutes=2))
    old = decide.Failure(1, "voice-bot", "s-backlog", "HTTP_ERROR", T0 - timedelta(minutes=10))
    [change] = decide.plan_routing("C1", [old], {"voice-bot": current}, [], now, WINDOW).changes
    assert change.latest_session_id == "s-old"
    assert change.first_failure_at == T0 - timedelta(minutes=10)


@pytest.mark.parametrize(
    ("open_incident", "busy", "replies", "held"),
    [
        (True, True, [], [1, 2]),  # a busy agent's background waits for the periodic roll-up
        (True, False, [1, 2], []),  # a rarely failing agent: a reply each, at once
        (False, True, [1, 2], []),  # a busy agent's new incident still opens and posts at once
    ],
)
def test_a_busy_agents_failures_are_held_for_the_periodic_roll_up(
    open_incident: bool, busy: bool, replies: list[int], held: list[int]
) -> None:
    now = T0 + timedelta(minutes=3)
    current = {"voice-bot": incident(last_activity=T0 + timedelta(minutes=2))} if open_incident else {}
    failures = [decide.Failure(i, "voice-bot", f"s{i}", "HTTP_ERROR", now) for i in (1, 2)]
    [change] = decide.plan_routing(
        "C1", failures, current, [], now, WINDOW, held_agents=["voice-bot"] if busy else []
    ).changes
    assert change.reply_row_ids == replies and change.rolled_row_ids == held
    assert change.rollup_post is None  # held rows get their roll-up when the period is up
    assert change.session_count == (4 if open_incident else 2)  # counted on the parent at once


@pytest.mark.parametrize(
    ("held_for_min", "closed", "due"),
    [(9, False, False), (10, False, True), (1, True, True)],
)
def test_held_rollup_due(held_for_min: int, closed: bool, due: bool) -> None:
    now = T0 + timedelta(minutes=held_for_min)
    assert decide.held_rollup_due(T0, now, closed=closed, every=timedelta(minutes=10)) is due


def cause(sid: str, state: str, fingerprint: str | None = None, label: str | None = None) -> SessionCause:
    return SessionCause("voice-bot", sid, state, T0, None, fingerprint, label, (), 1)


@pytest.mark.parametrize(
    ("causes", "top", "read"),
    [
        ([], [], 0),
        # Skipped and pending sessions were not read: no cause, not counted as read.
        ([cause("a", CAUSE_SKIPPED), cause("b", CAUSE_PENDING)], [], 0),
        # A log read with nothing in it counts as read, without a cause.
        ([cause("a", CAUSE_NONE), cause("b", CAUSE_FOUND, "f1", "Timeout")], [("Timeout", 1)], 2),
        # Ranked by sessions, then by label; at most ROLLUP_TOP_CAUSES.
        (
            [
                cause("a", CAUSE_FOUND, "f1", "Timeout"),
                cause("b", CAUSE_FOUND, "f2", "Auth failed"),
                cause("c", CAUSE_FOUND, "f2", "Auth failed"),
                cause("d", CAUSE_FOUND, "f3", "Quota"),
                cause("e", CAUSE_FOUND, "f4", "Bad gateway"),
                cause("f", CAUSE_SKIPPED),
            ],
            [("Auth failed", 2), ("Bad gateway", 1), ("Quota", 1)],
            5,
        ),
        # A fingerprint without its label row is still one cause (named by its fingerprint).
        ([cause("a", CAUSE_FOUND, "f9"), cause("b", CAUSE_FOUND, "f9")], [("f9", 2)], 2),
    ],
)
def test_rolled_causes(causes: list[SessionCause], top: list[tuple[str, int]], read: int) -> None:
    found, counted = decide.rolled_causes(causes)
    assert [(c.label, c.count) for c in found] == top and counted == read


def test_a_periodic_rollup_lists_every_session_with_the_rate_and_the_causes() -> None:
    rolled = [decide.Failure(i, "voice-bot", f"s{i}", "HTTP_ERROR", T0 + timedelta(minutes=i)) for i in range(3)]
    payload = decide.periodic_rollup_payload(
        rolled, "2.1% of calls failing (last 5 min), usually 2.0%", [cause("s1", CAUSE_FOUND, "f1", "Timeout")]
    )
    assert payload.periodic and payload.count == 3 and [s.session_id for s in payload.sessions] == ["s0", "s1", "s2"]
    assert payload.rate == "2.1% of calls failing (last 5 min), usually 2.0%"
    assert [(c.label, c.count) for c in payload.causes] == [("Timeout", 1)] and payload.causes_read == 1
    burst = decide.rollup_payload(rolled)  # a burst's roll-up says nothing of the background
    assert not burst.periodic and burst.rate is None and burst.causes == []
