"""Pure parts of polling's second stage, table-tested: how a failed poll is classed, and how the
recording plan treats a session whose processing fails poll after poll."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import policy
from bot.alerts.poll.plan import Observation, Planner, describe, idle_poll, storable, window_read_enough
from bot.alerts.poll.poller import _kind
from bot.pipecat.errors import (
    BadRequest,
    InvalidInput,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
    UnexpectedResponse,
    Unreachable,
)
from bot.pipecat.models import Session
from bot.store.payloads import AlertPayload
from bot.store.records import FAILURE_DATA, FAILURE_REACHABILITY, ItemFailure, NewPost, OutboxKind, PollState, Watch

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
SID = "5b1f0c2e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
WATCH = Watch(1, "C1", "voice-bot", frozenset({"HTTP_ERROR"}), None, "U1", T0 - timedelta(hours=1))


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (Unreachable("ConnectError"), FAILURE_REACHABILITY),
        (Timeout("ReadTimeout"), FAILURE_REACHABILITY),
        (ServerError("boom", status=503), FAILURE_REACHABILITY),
        (RateLimited("slow down", retry_after=60), FAILURE_REACHABILITY),
        (Unauthorized("bad key", status=401), FAILURE_REACHABILITY),
        (NotFound("no agent", status=404), FAILURE_REACHABILITY),
        (UnexpectedResponse("cut off", status=200, garbled=True), FAILURE_REACHABILITY),
        (UnexpectedResponse("SessionPage: not a page of sessions"), FAILURE_DATA),
        (BadRequest("Invalid parameters"), FAILURE_DATA),
        (InvalidInput("Session ids are UUIDs"), FAILURE_DATA),
        (TypeError("can't compare offset-naive and offset-aware datetimes"), FAILURE_DATA),
        (KeyError("sessionId"), FAILURE_DATA),
    ],
)
def test_failed_polls_are_classed_by_whether_pipecat_answered(error: Exception, kind: str) -> None:
    assert _kind(error) == kind


def test_describe_is_one_short_line() -> None:
    assert describe(ValueError("first\nsecond")) == "ValueError: first"
    assert describe(KeyError()) == "KeyError"
    assert len(describe(ValueError("x" * 1000))) < 250


def test_storable_refuses_what_strict_json_cannot_hold() -> None:
    storable([NewPost("k", OutboxKind.ALERT, "C1", "a", AlertPayload(session={"ok": 1.5}))])
    with pytest.raises(ValueError):
        storable([NewPost("k", OutboxKind.ALERT, "C1", "a", AlertPayload(session={"bad": float("nan")}))])


def failing_session() -> Session:
    return Session.model_validate(
        {
            "sessionId": SID,
            "createdAt": T0.isoformat(),
            "endedAt": T0.isoformat(),
            "completionStatus": "HTTP_ERROR",
            "botStartSeconds": float("nan"),
        }
    )


@pytest.mark.parametrize(
    ("prior_attempts", "given_up"),
    [(0, False), (policy.ITEM_MAX_ATTEMPTS - 2, False), (policy.ITEM_MAX_ATTEMPTS - 1, True)],
)
def test_a_failing_session_is_retried_then_given_up_with_one_notice(prior_attempts: int, given_up: bool) -> None:
    known = {SID: ItemFailure(SID, prior_attempts, "ValueError", T0)} if prior_attempts else {}
    state = PollState("voice-bot", T0 - timedelta(minutes=1), frozenset())
    seen = Observation(active={"other"}, ended=[failing_session()])
    plan = Planner("voice-bot", state, seen, known, T0)([WATCH], {})
    [failure] = plan.item_failures
    assert failure.attempts == prior_attempts + 1 and "ValueError" in failure.error
    assert (failure.gave_up_at is not None) is given_up
    assert plan.watermark == T0  # the watermark moves on either way: the session is held by id
    if given_up:
        assert [e.session_id for e in plan.ended] == [SID] and plan.ended[0].posts == ()
        assert [getattr(p.payload, "session_id", None) for p in plan.notices] == [SID]
        assert set(plan.active_set) == {"other"}
    else:
        assert plan.ended == [] and plan.notices == []
        assert set(plan.active_set) == {"other", SID}  # fetched again next poll wherever it is


def test_a_cut_walk_keeps_the_watermark_and_says_where_to_continue() -> None:
    state = PollState("voice-bot", T0 - timedelta(minutes=1), frozenset())
    seen = Observation(complete=False, backfill_until=T0 - timedelta(seconds=30))
    plan = Planner("voice-bot", state, seen, {}, T0)([WATCH], {})
    assert (plan.watermark, plan.backfill_until) == (state.watermark, T0 - timedelta(seconds=30))
    assert plan.backfill_from == T0  # the next walk from the top starts at this poll


QUIET = PollState("voice-bot", T0 - timedelta(minutes=1), frozenset({"running"}))
LATE = PollState("voice-bot", T0 + timedelta(seconds=5), frozenset())  # a skewed clock wrote it


@pytest.mark.parametrize(
    ("state", "seen", "idle"),
    [
        (QUIET, Observation(active={"running", "new"}), True),
        (QUIET, Observation(), True),
        (LATE, Observation(), True),  # the watermark never moves back
        (QUIET, Observation(ended=[failing_session()]), False),
        (QUIET, Observation(skipped=[SID]), False),
        (QUIET, Observation(failed={SID: (ValueError("x"), T0)}), False),
        (QUIET, Observation(complete=False, backfill_until=T0), False),
        (replace(QUIET, backfill_until=T0 - timedelta(hours=1), backfill_from=T0), Observation(), False),
        (replace(QUIET, failures=2, outage_since=T0, last_error="Timeout"), Observation(), False),
        (replace(QUIET, failures=3, outage_since=T0, outage_notified=True), Observation(), False),
        (replace(QUIET, failure_kind=FAILURE_DATA), Observation(), False),
    ],
)
def test_an_idle_poll_records_exactly_what_the_full_plan_would(state: PollState, seen: Observation, idle: bool) -> None:
    quiet = idle_poll("voice-bot", state, seen, T0)
    assert (quiet is not None) is idle
    if quiet is None:
        return
    plan = Planner("voice-bot", state, seen, {}, T0)([WATCH], {})
    assert (quiet.watermark, quiet.active_set) == (plan.watermark, frozenset(plan.active_set))
    # ... and the full plan would have recorded nothing else.
    assert not (plan.ended or plan.notices or plan.recovery_posts or plan.item_failures or plan.resolved_items)
    assert (plan.backfill_until, plan.backfill_from) == (None, None)


def ended_failure(created: datetime) -> Session:
    return Session.model_validate(
        {
            "sessionId": SID,
            "createdAt": created.isoformat(),
            "endedAt": T0.isoformat(),
            "completionStatus": "HTTP_ERROR",
        }
    )


def running(created: datetime) -> Session:
    return Session.model_validate(
        {"sessionId": "0c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "createdAt": created.isoformat()}
    )


def test_with_rate_counting_off_a_poll_counts_nothing_and_a_new_call_alone_is_an_idle_poll() -> None:
    new = running(QUIET.watermark + timedelta(seconds=10))
    seen = Observation(active={new.session_id, "running"}, listed=[new])
    assert idle_poll("voice-bot", QUIET, seen, T0) is None  # counted as started in the full transaction
    quiet = idle_poll("voice-bot", QUIET, seen, T0, count_rates=False)
    assert quiet is not None and quiet.active_set == frozenset(seen.active)

    failed = ended_failure(QUIET.watermark + timedelta(seconds=5))
    seen = Observation(active={new.session_id}, ended=[failed], listed=[failed, new])
    counted = Planner("voice-bot", QUIET, seen, {}, T0)([WATCH], {})
    off = Planner("voice-bot", QUIET, seen, {}, T0, count_rates=False)([WATCH], {})
    assert {s.session_id for s in counted.rate_started} == {SID, new.session_id} and counted.rate_ended == [failed]
    assert (off.rate_started, off.rate_ended) == ([], [])
    # ... and everything else it records is the same: the failure alerts either way.
    assert off.ended == counted.ended and [p.dedup_key for e in off.ended for p in e.posts]
    assert (off.active_set, off.watermark) == (counted.active_set, counted.watermark)


def uid(name: str) -> str:
    return f"{ord(name):08x}-abcd-4000-8000-00000000000f"


def listed(name: str, age_seconds: float) -> Session:
    created = (T0 - timedelta(seconds=age_seconds)).isoformat()
    return Session.model_validate({"sessionId": uid(name), "createdAt": created})


FLOOR = T0 - timedelta(seconds=60)


@pytest.mark.parametrize(
    ("pages", "gone", "stops_after"),
    [
        # Newest first; the walk stops after the first page that reaches below the floor...
        ([[listed("a", 10), listed("b", 30)], [listed("c", 50), listed("d", 70)], [listed("e", 90)]], set(), 2),
        # ...but not while a session that left the active set is still unread,
        ([[listed("a", 10)], [listed("c", 70)], [listed("x", 100)], [listed("e", 130)]], {uid("x")}, 3),
        # ...and never on a page of sessions newer than the floor.
        ([[listed("a", 10)], [listed("b", 20)]], set(), None),
        # Ids are matched whatever their case.
        ([[listed("a", 70)]], {uid("a").upper()}, 1),
        # A page whose sessions carry no createdAt says nothing about depth.
        ([[Session.model_validate({"sessionId": uid("n")})], [listed("b", 70)]], set(), 2),
    ],
)
def test_a_busy_agents_window_walk_reads_until_below_the_floor_and_every_gone_session_is_found(
    pages: list[list[Session]], gone: set[str], stops_after: int | None
) -> None:
    enough = window_read_enough(FLOOR, gone)
    read: list[Session] = []
    stopped = None
    for number, page in enumerate(pages, start=1):
        read.extend(page)
        if enough(read):
            stopped = number
            break
    assert stopped == stops_after


def test_a_session_first_listed_running_is_counted_once_whenever_it_was_created() -> None:
    late = running(QUIET.watermark - timedelta(seconds=20))  # created before the watermark, listed only now
    seen = Observation(active={late.session_id, "running"}, listed=[late])
    assert idle_poll("voice-bot", QUIET, seen, T0) is None  # counted in the full transaction
    plan = Planner("voice-bot", QUIET, seen, {}, T0)([WATCH], {})
    assert [s.session_id for s in plan.rate_started] == [late.session_id]
    # The next poll knows it (it is in the active set): nothing to count, an idle poll again.
    known = replace(QUIET, active_set=frozenset(plan.active_set))
    assert idle_poll("voice-bot", known, seen, T0) is not None
    assert Planner("voice-bot", known, seen, {}, T0)([WATCH], {}).rate_started == []
