"""The outbox lifecycle as one pure function: what an attempt's outcome does to a row.

`next_state(row, outcome, now=…, give_up_after=…)` is the only place that decides a row's next
state, when it is tried again, what it records as its error, whether the channel backs off,
stops for this pass or is broken. The store applies the result in one fenced write
(`Store.apply`); the deliverer only observes outcomes. Table-tested in tests/unit/alerts/.

The moves:
    pending ──claim──▶ sending ──Posted/AlreadyPosted──▶ sent
    sending ──NotSent / RateLimited / ClaimExpired──▶ pending (an uncertain row stays uncertain)
    sending ──MaybeSent──▶ uncertain ──(reconcile: look for the copy first)──▶ …
    any failure past the give-up budget, a refusal, an unrenderable row ──▶ dead
    a reply whose parent is dead / whose thread is gone ──▶ pending, top level
A destination other than a Slack channel (PagerDuty) reuses the same outcomes: `Posted` with the
remote id, `RateLimited`, `NotSent`, `MaybeSent`, `Refused`.
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


# -- the decision ---------------------------------------------------------------------------------


def next_state(row: OutboxRow, outcome: Outcome, *, now: datetime, give_up_after: timedelta) -> Transition:
    """The row's next state after `outcome`. `row` is the snapshot read before the attempt's claim."""
    match outcome:
        case Posted(ts) | AlreadyPosted(ts):
            return Transition(OutboxState.SENT, now, None, row.failures, None, posted_ts=ts, top_level=row.top_level)
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
            return _trouble(row, _unsent(row), detail, now, give_up_after)
        case MaybeSent(detail):
            return _trouble(row, OutboxState.UNCERTAIN, detail, now, give_up_after)
        case Refused(reason, channel_level):
            return Transition(
                OutboxState.DEAD,
                now,
                reason,
                row.failures,
                row.failing_since,
                top_level=row.top_level,
                given_up=not channel_level and _reported(row),
                break_channel=reason if channel_level else None,
                stop_channel=channel_level,
            )
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


def _trouble(row: OutboxRow, state: OutboxState, detail: str, now: datetime, give_up_after: timedelta) -> Transition:
    """Slack trouble: back off (capped), or give up once it has lasted `give_up_after`."""
    failures = row.failures + 1
    since = row.failing_since or now
    if now - since >= give_up_after and row.kind != OutboxKind.SUMMARY:
        hours = (now - since).total_seconds() / 3600
        return Transition(
            OutboxState.DEAD,
            now,
            f"gave up after {hours:.1f}h of Slack trouble ({failures} attempts): {detail}",
            failures,
            since,
            top_level=row.top_level,
            given_up=_reported(row),
            stop_channel=True,
        )
    delay = policy.retry_delay(failures)
    if state == OutboxState.UNCERTAIN:
        delay = max(delay, policy.UNCERTAIN_RECHECK)
    return Transition(state, now + delay, detail, failures, since, top_level=row.top_level, stop_channel=True)
