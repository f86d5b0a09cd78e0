"""Agent health conditions over time: a pure state machine, one step per status read.

    (absent) ──seen──▶ pending ──seen on `open_after_reads` reads over `open_after`──▶ open
    pending ──shown gone for `clear_after`──▶ (absent), or back to closed if it had an alert
    open ──shown gone──▶ clearing ──seen again──▶ open        (no post, no page either way)
    clearing ──shown gone for `clear_after`──▶ closed          (the alert is resolved)
    closed ──seen──▶ pending ──held──▶ open again: *reopened* when it first came back within
        `reopen_within` of closing (the same alert: message, dedup keys, PagerDuty key), a new
        occurrence otherwise; a closed track is forgotten after `reopen_within`.

A read that says nothing about a condition (`silent`: a status answer missing the fields it is
judged on) moves nothing: absence of evidence is not recovery, and a pending condition is not
confirmed by it either. A sighting while pending need not be on consecutive reads: a crash loop
seen on every other read (its pod running a few seconds between restarts) still opens, once.

`step` reads no clock (the read's time is `now`) and does no I/O: table-tested in
tests/unit/alerts/test_health_states.py. The hold times are bot/alerts/policy.py HEALTH_HOLD.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.alerts.health.records import CLEARING, CLOSED, OPEN, PENDING, Track
from bot.alerts.policy import HealthHold

__all__ = ["Step", "step"]


@dataclass(frozen=True)
class Step:
    """The tracks after one read, and what changed for the alerts."""

    tracks: dict[str, Track]
    #: New occurrences (each track's `opened_at` is its first sighting).
    opened: list[str] = field(default_factory=list)
    #: Closed occurrences that came back: their alert reopens (`returns` counts the comebacks).
    reopened: list[str] = field(default_factory=list)
    #: Alerted occurrences that cleared (the track keeps `opened_at`, `closed_at` is now).
    cleared: list[str] = field(default_factory=list)


def step(
    tracks: Mapping[str, Track],
    present: Collection[str],
    silent: Collection[str],
    now: datetime,
    hold: HealthHold,
) -> Step:
    """One read: `present` are the keys of the conditions it shows; `silent` the keys it says
    nothing about (only consulted for keys not present)."""
    result = Step(tracks={})
    for key in sorted(set(tracks) | set(present)):
        before = tracks.get(key)
        after: Track | None
        if key in present:
            after = _seen(before, now, hold)
        elif key in silent or before is None:
            after = before
        else:
            after = _shown_gone(before, now, hold)
        closed_at = after.closed_at if after is not None and after.state == CLOSED else None
        if closed_at is not None and now - closed_at > hold.reopen_within:
            after = None  # too long ago to reopen: the next occurrence is a new one
        if after is not None:
            result.tracks[key] = after
        was = before.state if before is not None else None
        now_state = after.state if after is not None else None
        if now_state == OPEN and was in (None, PENDING, CLOSED) and after is not None:
            # Alerted from this read on (from None or CLOSED: a hold of one read).
            (result.reopened if after.returns > (before.returns if before else 0) else result.opened).append(key)
        elif now_state == CLOSED and was in (OPEN, CLEARING):
            result.cleared.append(key)
    return result


def _seen(track: Track | None, now: datetime, hold: HealthHold) -> Track:
    if track is None:
        return _held(Track(PENDING, first_seen=now, sightings=1), now, hold)
    if track.state in (OPEN, CLEARING):
        return replace(track, state=OPEN, clear_since=None)
    if track.state == CLOSED:
        return _held(replace(track, state=PENDING, first_seen=now, sightings=1, clear_since=None), now, hold)
    return _held(replace(track, sightings=track.sightings + 1, clear_since=None), now, hold)


def _held(pending: Track, now: datetime, hold: HealthHold) -> Track:
    """A pending condition held long enough opens: the closed occurrence it came back to if it
    came back soon enough, else a new one."""
    first = pending.first_seen or now
    if pending.sightings < hold.open_after_reads or now - first < hold.open_after:
        return pending
    came_back_soon = (
        pending.opened_at is not None
        and pending.closed_at is not None
        and first - pending.closed_at <= hold.reopen_within
    )
    if came_back_soon:
        return replace(pending, state=OPEN, clear_since=None, returns=pending.returns + 1)
    return Track(OPEN, first_seen=first, sightings=pending.sightings, opened_at=first)


def _shown_gone(track: Track, now: datetime, hold: HealthHold) -> Track | None:
    if track.state == CLOSED:
        return track
    since = track.clear_since or now
    over = now - since >= hold.clear_after
    if track.state == PENDING:
        if not over:
            return replace(track, clear_since=since)
        # Never confirmed: forgotten, or back to the closed occurrence it may still reopen.
        return replace(track, state=CLOSED, clear_since=None) if track.closed_at is not None else None
    if over:
        return replace(track, state=CLOSED, clear_since=None, closed_at=now)
    return replace(track, state=CLEARING, clear_since=since)
