"""The outbox lifecycle as one pure function: what an attempt's outcome does to a row.

`next_state(row, outcome, now=…, give_up_after=…)` is the only place that decides a row's next
state, when it is tried again, what it records as its error, whether the channel backs off,
stops for this pass or is broken. The store applies the result in one fenced write
(`Store.apply`); the deliverer only observes outcomes. Table-tested in tests/unit/alerts/.

The moves:
    pending ──claim──▶ sending ──Posted/AlreadyPosted──▶ sent
    sending ──NotSent / RateLimited / ClaimExpired──▶ pending (an uncertain row stays uncertain)
    sending ──MaybeSent──▶ uncertain ──(reconcile: look for the copy first)──▶ …
    sending ──Refused(channel_level)──▶ pending, held: the channel's watches are broken
    any failure past the give-up budget, a message refusal, an unrenderable row ──▶ dead
    a reply whose parent is dead / whose thread is gone ──▶ pending, top level
A destination other than a Slack channel (PagerDuty) reuses the same outcomes: `Posted` with the
remote id, `RateLimited`, `NotSent`, `MaybeSent`, `Refused`.

Trouble is the destination's, not the row's: `streak` (the destination's failed attempts in a
row, kept in channel_state) sets one back-off the destination's rows and replicas share
(`hold_after`). The first success after a streak says `recovered`: the store pulls every held row
of the destination forward and heals a broken channel's watches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from bot.alerts import policy
from bot.store.records import OutboxKind, OutboxRow, OutboxState, Transition

# -- outcomes: what one attempt observed ----------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """The destination stored it; `ts` is its id there (a Slack message ts)."""

    ts: str


@dataclass(frozen=True)
class AlreadyPosted:
    """Reconciliation found the copy an earlier, uncertain attempt left: recorded, not re-posted."""

    ts: str


@dataclass(frozen=True)
class RateLimited:
    """HTTP 429: nothing was stored; nobody posts to the channel for `retry_after` seconds."""

    retry_after: float
    detail: str = "ratelimited"


@dataclass(frozen=True)
class NotSent:
    """Surely not stored (the connection was never made, a proxy's 4xx)."""

    detail: str


@dataclass(frozen=True)
class MaybeSent:
    """May have been stored (5xx, read timeout, reset after sending): look before posting again."""

    detail: str


@dataclass(frozen=True)
class Refused:
    """Refused for good. `channel_level`: nothing will ever post to the channel (broken watch)."""

    reason: str
    channel_level: bool = False


@dataclass(frozen=True)
class ClaimExpired:
    """The fence found the claim or the channel lease too short: no call was made."""


@dataclass(frozen=True)
class Unrenderable:
    """The row's payload cannot be turned into a message (a bug or an old row): nothing to retry."""

    detail: str


@dataclass(frozen=True)
class ParentLost:
    """A reply's parent was given up (or its thread deleted): the reply goes to the top level."""

    reason: str


@dataclass(frozen=True)
class Dropped:
    """Not to be posted any more, nothing to report (the watch was removed or broken)."""

    reason: str


@dataclass(frozen=True)
class CannotCheck:
    """Reconciliation cannot read the channel (missing_scope): post without the check, once."""

    reason: str


#: What a failed call observed: the one vocabulary of a destination's failures. Slack's answers
#: become one of these in bot/alerts/delivery/slack_errors.py, PagerDuty's in
#: bot/alerts/paging/delivery.py.
Failed = RateLimited | NotSent | MaybeSent | Refused

Outcome = (
    Posted
    | AlreadyPosted
    | RateLimited
    | NotSent
    | MaybeSent
    | Refused
    | ClaimExpired
    | Unrenderable
    | ParentLost
    | CannotCheck
    | Dropped
)


# -- the destination's shared back-off ------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """A destination after a failed attempt: nobody tries it before `until`; `streak` failed
    attempts in a row; `broken` names Slack's refusal when the channel refuses posts outright."""

    until: datetime
    streak: int
    broken: str | None = None


def hold_after(outcome: Outcome, *, streak: int, now: datetime) -> Hold | None:
    """The destination's back-off after `outcome`, given its `streak` before it; None when the
    outcome says nothing about the destination (a post taken, a message refused, a 429's own wait)."""
    match outcome:
        case NotSent() | MaybeSent():
            return _trouble_hold(streak, now)
        case Refused(reason, True):
            return _refusal_hold(reason, streak, now)
        case _:
            return None


def _trouble_hold(streak: int, now: datetime) -> Hold:
    return Hold(now + policy.retry_delay(streak + 1), streak + 1)


def _refusal_hold(reason: str, streak: int, now: datetime) -> Hold:
    return Hold(now + policy.broken_probe_delay(streak + 1), streak + 1, broken=reason)


# -- the decision ---------------------------------------------------------------------------------


def next_state(
    row: OutboxRow, outcome: Outcome, *, now: datetime, give_up_after: timedelta, streak: int = 0
) -> Transition:
    """The row's next state after `outcome`. `row` is the snapshot read before the attempt's claim;
    `streak` is its destination's failed attempts in a row before this one (channel_state). The
    back-off grows with the longer of the two streaks, the destination's and the row's own: a row
    that has been failing for long waits as long, whoever tries it."""
    longest = max(streak, row.failures)
    match outcome:
        case Posted(ts) | AlreadyPosted(ts):
            return Transition(
                OutboxState.SENT, now, None, row.failures, None, posted_ts=ts, top_level=row.top_level,
                streak=0 if streak else None, recovered=streak > 0,
            )  # fmt: skip
        case RateLimited(retry_after, detail):
            wait = timedelta(seconds=retry_after)
            # A Slack 429 holds the whole channel; another destination's holds only the row.
            channel_wait = now + wait if row.kind != OutboxKind.PAGE else None
            # The wait is Slack's to set, not trouble: shift the trouble clock past it.
            since = min(now, row.failing_since + wait) if row.failing_since is not None else None
            return Transition(
                _unsent(row),
                now + wait,
                detail,
                row.failures,
                since,
                top_level=row.top_level,
                channel_backoff_until=channel_wait,
                stop_channel=True,
            )
        case ClaimExpired():
            return Transition(
                _unsent(row), now, "claim ran out before the post", row.failures, row.failing_since,
                top_level=row.top_level, stop_channel=True,
            )  # fmt: skip
        case NotSent(detail):
            return _trouble(row, _unsent(row), detail, now, give_up_after, _trouble_hold(longest, now))
        case MaybeSent(detail):
            return _trouble(row, OutboxState.UNCERTAIN, detail, now, give_up_after, _trouble_hold(longest, now))
        case Refused(reason, True):
            # Held, not killed: the channel's next probe posts it once Slack takes posts there again.
            hold = _refusal_hold(reason, longest, now)
            return _trouble(row, _unsent(row), reason, now, give_up_after, hold)
        case Refused(reason):
            return Transition(
                OutboxState.DEAD, now, reason, row.failures, row.failing_since,
                top_level=row.top_level, given_up=_reported(row),
            )  # fmt: skip
        case Unrenderable(detail):
            return Transition(
                OutboxState.DEAD, now, f"render failed: {detail}", row.failures, row.failing_since,
                top_level=row.top_level, given_up=_reported(row),
            )  # fmt: skip
        case Dropped(reason):
            return Transition(OutboxState.DEAD, now, reason, row.failures, row.failing_since, top_level=row.top_level)
        case ParentLost(reason):
            # Surely not in the (missing) thread: post it where it can be seen.
            return Transition(OutboxState.PENDING, now, reason, row.failures, row.failing_since, top_level=True)
        case CannotCheck(reason):
            # At least once beats never: the row is posted again without the duplicate check.
            return Transition(
                OutboxState.PENDING, now, f"could not check for an earlier copy ({reason})",
                row.failures, row.failing_since, top_level=row.top_level,
            )  # fmt: skip
        case _:
            assert_never(outcome)


def _unsent(row: OutboxRow) -> OutboxState:
    """Nothing was stored by this attempt; a row that may have been posted before stays uncertain."""
    return OutboxState.UNCERTAIN if row.maybe_posted else OutboxState.PENDING


def _reported(row: OutboxRow) -> bool:
    """Given-up rows the channel hears about: what carries a session or an agent health alert (not
    parents, summaries, or replies to an alert the channel has)."""
    return row.kind in (OutboxKind.ALERT, OutboxKind.ROLLUP, OutboxKind.NOTICE, OutboxKind.HEALTH, OutboxKind.RATE)


def _trouble(
    row: OutboxRow, state: OutboxState, detail: str, now: datetime, give_up_after: timedelta, hold: Hold
) -> Transition:
    """The destination is in trouble (or refuses the channel): the row waits out the destination's
    shared back-off, or is given up once the trouble has lasted `give_up_after` for it."""
    failures = row.failures + 1
    since = row.failing_since or now
    if now - since >= give_up_after and row.kind != OutboxKind.SUMMARY:
        hours = (now - since).total_seconds() / 3600
        trouble = "Slack refusing the channel" if hold.broken else "Slack trouble"
        return Transition(
            OutboxState.DEAD,
            now,
            f"gave up after {hours:.1f}h of {trouble} ({failures} attempts): {detail}",
            failures,
            since,
            top_level=row.top_level,
            given_up=_reported(row),
            channel_backoff_until=hold.until,
            break_channel=hold.broken,
            stop_channel=True,
            streak=hold.streak,
        )
    next_attempt = hold.until
    if state == OutboxState.UNCERTAIN:
        next_attempt = max(next_attempt, now + policy.UNCERTAIN_RECHECK)
    return Transition(
        state,
        next_attempt,
        detail,
        failures,
        since,
        top_level=row.top_level,
        channel_backoff_until=hold.until,
        break_channel=hold.broken,
        stop_channel=True,
        streak=hold.streak,
    )
