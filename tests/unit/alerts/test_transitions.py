"""The outbox state machine, table-tested: every outcome from every state a worker can see."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import policy
from bot.alerts.delivery.transitions import (
    AlreadyPosted,
    CannotCheck,
    ClaimExpired,
    Dropped,
    MaybeSent,
    NotSent,
    Outcome,
    ParentLost,
    Posted,
    RateLimited,
    Refused,
    Unrenderable,
    hold_after,
    next_state,
)
from bot.store.records import OutboxKind, OutboxRow, OutboxState

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
P, U, S, D = OutboxState.PENDING, OutboxState.UNCERTAIN, OutboxState.SENT, OutboxState.DEAD


def row(state: OutboxState = P, kind: OutboxKind = OutboxKind.ALERT, **fields: object) -> OutboxRow:
    base = OutboxRow(
        id=1,
        dedup_key="1:s1",
        kind=kind,
        channel_id="C1",
        agent="voice-bot",
        subscription_id=1,
        session_id="s1",
        incident_id=1,
        state=state,
        attempts=0,
        next_attempt_at=T0,
        claim_token=None,
        claimed_at=None,
        claimed_until=None,
        payload={},
        posted_ts=None,
        last_error=None,
        created_at=T0,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


# (row state before the claim, outcome) -> (state, delay to the next attempt, stops the channel)
TABLE: list[tuple[OutboxState, Outcome, OutboxState, timedelta, bool]] = [
    (P, Posted("1.1"), S, timedelta(0), False),
    (U, AlreadyPosted("1.1"), S, timedelta(0), False),
    (P, NotSent("ClientConnectorError"), P, policy.RETRY_BASE, True),
    # An earlier attempt may have landed: still uncertain, whatever this one did.
    (U, NotSent("ClientConnectorError"), U, policy.UNCERTAIN_RECHECK, True),
    (P, MaybeSent("HTTP 503"), U, policy.UNCERTAIN_RECHECK, True),
    (OutboxState.SENDING, MaybeSent("HTTP 503"), U, policy.UNCERTAIN_RECHECK, True),
    (P, RateLimited(30), P, timedelta(seconds=30), True),
    (U, RateLimited(30), U, timedelta(seconds=30), True),
    (P, ClaimExpired(), P, timedelta(0), True),
    (OutboxState.SENDING, ClaimExpired(), U, timedelta(0), True),
    (P, Refused("invalid_blocks"), D, timedelta(0), False),
    # Held, not killed: the channel's next probe (after BROKEN_PROBE_BASE) posts it.
    (P, Refused("channel_not_found", channel_level=True), P, policy.BROKEN_PROBE_BASE, True),
    (U, Refused("not_in_channel", channel_level=True), U, policy.BROKEN_PROBE_BASE, True),
    (P, Unrenderable("ValidationError"), D, timedelta(0), False),
    (P, ParentLost("parent refused"), P, timedelta(0), False),
    (U, ParentLost("thread deleted"), P, timedelta(0), False),
    (U, CannotCheck("missing_scope"), P, timedelta(0), False),
    (P, Dropped("unwatched"), D, timedelta(0), False),
]


@pytest.mark.parametrize(("before", "outcome", "state", "delay", "stops"), TABLE)
def test_next_state(before: OutboxState, outcome: Outcome, state: OutboxState, delay: timedelta, stops: bool) -> None:
    transition = next_state(row(before), outcome, now=T0, give_up_after=DAY)
    assert (transition.state, transition.next_attempt_at - T0, transition.stop_channel) == (state, delay, stops)


def test_a_post_records_its_ts_and_ends_the_trouble() -> None:
    troubled = row(U, failures=3, failing_since=T0 - timedelta(hours=1), last_error="HTTP 503")
    transition = next_state(troubled, Posted("9.9"), now=T0, give_up_after=DAY)
    assert (transition.posted_ts, transition.error, transition.failing_since) == ("9.9", None, None)


def test_trouble_backs_the_destination_off_by_its_streak_not_the_row() -> None:
    """Every row of a channel waits out one shared back-off set by the channel's streak of failed
    attempts: a row tried for the first time in the tenth minute of an outage waits as long as the
    outage's row would, and the wait never passes RETRY_CAP (a recovery is seen within it)."""
    delays, streak = [], 0
    for _ in range(12):
        transition = next_state(row(P), NotSent("refused"), now=T0, give_up_after=DAY, streak=streak)
        assert transition.channel_backoff_until == transition.next_attempt_at  # the row waits with its channel
        delays.append(transition.next_attempt_at - T0)
        assert transition.streak is not None
        streak = transition.streak
    assert delays[:3] == [policy.RETRY_BASE * n for n in (1, 2, 4)]
    assert max(delays) == policy.RETRY_CAP == delays[-1]
    assert timedelta(seconds=30) > policy.RETRY_CAP + policy.DELIVERY_TICK  # a recovery is seen within 30 s
    assert streak == 12


def test_a_row_failing_for_long_backs_off_as_long_whoever_tries_it() -> None:
    """(A caller that does not know its destination's streak still backs off: by the row's own.)"""
    old = next_state(row(U, failures=6), MaybeSent("HTTP 503"), now=T0, give_up_after=DAY, streak=0)
    assert (old.next_attempt_at - T0, old.streak) == (policy.RETRY_CAP, 7)


def test_the_first_success_after_a_streak_recovers_the_destination() -> None:
    after_outage = next_state(row(U, failures=9), Posted("1.1"), now=T0, give_up_after=DAY, streak=7)
    assert (after_outage.recovered, after_outage.streak) == (True, 0)
    found = next_state(row(U), AlreadyPosted("1.1"), now=T0, give_up_after=DAY, streak=1)
    assert (found.recovered, found.streak) == (True, 0)
    normal = next_state(row(P), Posted("1.1"), now=T0, give_up_after=DAY, streak=0)
    assert (normal.recovered, normal.streak) == (False, None)  # nothing to write


# outcome -> (back-off after a streak of 0, after a streak of 10, broken reason); None: no hold
HOLDS: list[tuple[Outcome, tuple[timedelta, timedelta, str | None] | None]] = [
    (NotSent("ClientConnectorError"), (policy.RETRY_BASE, policy.RETRY_CAP, None)),
    (MaybeSent("HTTP 503"), (policy.RETRY_BASE, policy.RETRY_CAP, None)),
    (
        Refused("not_in_channel", channel_level=True),
        (policy.BROKEN_PROBE_BASE, policy.BROKEN_PROBE_CAP, "not_in_channel"),
    ),
    (Refused("invalid_auth", channel_level=True), (policy.BROKEN_PROBE_BASE, policy.BROKEN_PROBE_CAP, "invalid_auth")),
    (Refused("invalid_blocks"), None),  # the message's fault, not the destination's
    (RateLimited(30), None),  # its own wait (channel_backoff_until), not a streak
    (Posted("1.1"), None),
    (ClaimExpired(), None),
    (Unrenderable("x"), None),
    (ParentLost("x"), None),
    (CannotCheck("missing_scope"), None),
    (Dropped("unwatched"), None),
]


@pytest.mark.parametrize(("outcome", "expected"), HOLDS)
def test_hold_after(outcome: Outcome, expected: tuple[timedelta, timedelta, str | None] | None) -> None:
    first, tenth = hold_after(outcome, streak=0, now=T0), hold_after(outcome, streak=10, now=T0)
    if expected is None:
        assert first is None and tenth is None
        return
    assert first is not None and tenth is not None
    assert (first.until - T0, tenth.until - T0, first.broken) == expected
    assert (first.streak, tenth.streak) == (1, 11)


def test_a_refused_channel_holds_its_rows_until_the_budget_then_reports_them() -> None:
    refused = Refused("not_in_channel", channel_level=True)
    held = next_state(row(P), refused, now=T0, give_up_after=DAY)
    assert (held.state, held.break_channel, held.given_up, held.failing_since) == (P, "not_in_channel", False, T0)
    troubled = row(P, failures=40, failing_since=T0)
    done = next_state(troubled, refused, now=T0 + DAY, give_up_after=DAY, streak=40)
    assert (done.state, done.given_up, done.break_channel) == (D, True, "not_in_channel")
    assert done.error is not None and "Slack refusing the channel" in done.error


@pytest.mark.parametrize("outcome", [NotSent("refused"), MaybeSent("HTTP 503")])
def test_a_row_is_given_up_only_after_the_budget_of_trouble(outcome: Outcome) -> None:
    troubled = row(P, failures=200, failing_since=T0)
    almost = next_state(troubled, outcome, now=T0 + DAY - timedelta(seconds=1), give_up_after=DAY)
    assert almost.state != D  # hundreds of failures are not a reason: only time is
    done = next_state(troubled, outcome, now=T0 + DAY, give_up_after=DAY)
    assert (done.state, done.given_up) == (D, True)
    assert done.error is not None and "gave up after 24.0h of Slack trouble" in done.error


def test_a_rate_limit_never_uses_the_budget() -> None:
    troubled = row(P, failures=5, failing_since=T0)
    now = T0 + DAY - timedelta(minutes=1)
    limited = next_state(troubled, RateLimited(600), now=now, give_up_after=DAY)
    assert (limited.failures, limited.state) == (5, P)  # not counted as a failure
    assert limited.failing_since == T0 + timedelta(seconds=600)  # and its wait is not trouble
    after = replace(troubled, failing_since=limited.failing_since)
    assert next_state(after, NotSent("x"), now=now + timedelta(seconds=61), give_up_after=DAY).state == P
    # Only 429s for days: never given up (the first trouble has not even started).
    fresh = next_state(row(P), RateLimited(900), now=T0 + 3 * DAY, give_up_after=DAY)
    assert (fresh.state, fresh.failing_since) == (P, None)


def test_a_rate_limit_backs_the_whole_channel_off() -> None:
    transition = next_state(row(P), RateLimited(12), now=T0, give_up_after=DAY)
    assert transition.channel_backoff_until == T0 + timedelta(seconds=12)


def test_a_summary_is_never_given_up() -> None:
    summary = row(P, kind=OutboxKind.SUMMARY, failures=50, failing_since=T0 - 3 * DAY)
    assert next_state(summary, MaybeSent("HTTP 503"), now=T0, give_up_after=DAY).state == U


@pytest.mark.parametrize(
    ("kind", "outcome", "reported"),
    [
        (OutboxKind.ALERT, Refused("invalid_blocks"), True),
        (OutboxKind.ROLLUP, Unrenderable("x"), True),
        (OutboxKind.NOTICE, Refused("msg_too_long"), True),
        # A parent's sessions still arrive (their replies go top-level): nothing to report.
        (OutboxKind.PARENT, Refused("invalid_blocks"), False),
        (OutboxKind.ALERT, Dropped("unwatched"), False),
    ],
)
def test_which_dead_rows_the_channel_hears_about(kind: OutboxKind, outcome: Outcome, reported: bool) -> None:
    transition = next_state(row(P, kind=kind), outcome, now=T0, give_up_after=DAY)
    assert (transition.state, transition.given_up) == (D, reported)


def test_a_channel_level_refusal_breaks_the_channel() -> None:
    transition = next_state(row(P), Refused("not_in_channel", channel_level=True), now=T0, give_up_after=DAY)
    assert transition.break_channel == "not_in_channel"
    assert transition.channel_backoff_until == T0 + policy.BROKEN_PROBE_BASE
    assert next_state(row(P), Refused("invalid_blocks"), now=T0, give_up_after=DAY).break_channel is None


def test_a_reply_sent_to_the_top_level_stays_there() -> None:
    moved = next_state(row(P), ParentLost("parent refused"), now=T0, give_up_after=DAY)
    assert moved.top_level
    later = next_state(row(P, top_level=True), MaybeSent("HTTP 503"), now=T0, give_up_after=DAY)
    assert later.top_level


def test_a_pagerduty_rate_limit_holds_only_its_row_not_the_slack_channel() -> None:
    page = next_state(row(P, kind=OutboxKind.PAGE), RateLimited(30), now=T0, give_up_after=DAY)
    assert page.channel_backoff_until is None and page.next_attempt_at == T0 + timedelta(seconds=30)
    # ...and a PagerDuty 400 is not summarised to the Slack channel (the watch shows it).
    refused = next_state(row(P, kind=OutboxKind.PAGE), Refused("bad event"), now=T0, give_up_after=DAY)
    assert (refused.state, refused.given_up, refused.break_channel) == (D, False, None)


def test_pagerduty_trouble_backs_pagerduty_off_like_a_channel() -> None:
    """(The store applies a page row's back-off to PagerDuty, not to the row's Slack channel.)"""
    page = next_state(row(P, kind=OutboxKind.PAGE), NotSent("HTTP 503"), now=T0, give_up_after=DAY, streak=3)
    assert (page.streak, page.channel_backoff_until) == (4, T0 + policy.RETRY_CAP)
