"""The outbox state machine, table-tested: every outcome from every state a worker can see."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import policy
from bot.alerts.transitions import (
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
    (P, Refused("channel_not_found", channel_level=True), D, timedelta(0), True),
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


def test_trouble_backs_off_exponentially_with_a_cap() -> None:
    delays = []
    current = row(P)
    for _ in range(12):
        transition = next_state(current, NotSent("refused"), now=T0, give_up_after=DAY)
        delays.append(transition.next_attempt_at - T0)
        current = replace(current, failures=transition.failures, failing_since=transition.failing_since)
    assert delays[:4] == [policy.RETRY_BASE * n for n in (1, 2, 4, 8)]
    assert max(delays) == policy.RETRY_CAP and delays[-1] == policy.RETRY_CAP


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
        # A broken channel is shown on its watches; it cannot take a summary anyway.
        (OutboxKind.ALERT, Refused("channel_not_found", channel_level=True), False),
        (OutboxKind.ALERT, Dropped("unwatched"), False),
    ],
)
def test_which_dead_rows_the_channel_hears_about(kind: OutboxKind, outcome: Outcome, reported: bool) -> None:
    transition = next_state(row(P, kind=kind), outcome, now=T0, give_up_after=DAY)
    assert (transition.state, transition.given_up) == (D, reported)


def test_a_channel_level_refusal_breaks_the_channel() -> None:
    transition = next_state(row(P), Refused("not_in_channel", channel_level=True), now=T0, give_up_after=DAY)
    assert transition.break_channel == "not_in_channel"
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
