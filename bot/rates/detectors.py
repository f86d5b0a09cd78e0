"""The rate detectors: pure functions of an agent's per-minute counts at `now`.

Each detector reads the short window against the agent's usual and says whether it fires (the
change is large, and unlikely to be chance at this volume: a binomial or Poisson tail), is
clearly back, or neither. `step` moves each detector's episode along with hysteresis: an episode
opens when its detector fires and clears only after it has been clearly back for
`RateRules.clear_hold`; the usual it was judged against is frozen when it opens, so a long episode
never becomes its own "usual".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.rates.counts import Counts, Minute, binomial_upper_tail, minute_of, poisson_lower_tail, total, window_start
from bot.rates.policy import COST_EDIT_SHARE, USUAL_FAILURES_MIN_HISTORY, RateRules

FAILURE = "failure-rate"
SILENCE = "silence"
COLD = "cold-start"
BOT_START = "bot-start"
#: Severities: "page" pages a paging watch; "warn" stays in Slack.
PAGE, WARN = "page", "warn"


def percent(share: float) -> str:
    """31% / 2.0% / 0.4%: whole percents once they are big enough to read that way."""
    value = share * 100
    return f"{value:.0f}%" if value >= 10 else f"{value:.1f}%"


def per_minute(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


@dataclass(frozen=True)
class Reading:
    """One detector's verdict now."""

    key: str
    firing: bool
    #: Clearly back to usual (an open episode may clear once it stays back).
    back: bool
    headline: str = ""
    current: float = 0.0
    usual: float = 0.0
    severity: str = PAGE
    #: Sessions the change cost so far (failures over the usual, starts missing), for the record.
    cost: int = 0


@dataclass(frozen=True)
class RateView:
    """What the detectors read: the agent's minutes (all deployments) up to `now`, and since when
    the agent has been counted."""

    now: datetime
    minutes: Sequence[Minute]
    observed_since: datetime


def _usual(view: RateView, rules: RateRules, length: timedelta, short: timedelta) -> tuple[Counts, float]:
    """The counts before the short window (as much of `length` as was observed), and its seconds."""
    end = window_start(view.now, short)
    start = max(end - length, minute_of(view.observed_since))
    seconds = max((end - start).total_seconds(), 0.0)
    return total(view.minutes, start, end), seconds


def usual_failures_per_hour(view: RateView, rules: RateRules) -> float:
    """How many sessions the agent usually fails an hour (over the usual window observed so far)."""
    counts, seconds = _usual(view, rules, rules.usual, rules.short)
    if seconds < USUAL_FAILURES_MIN_HISTORY.total_seconds():
        return 0.0  # too little history to call it usual
    return counts.failed / seconds * 3600


def recent_starts_per_minute(view: RateView, rules: RateRules) -> float:
    """Sessions started per minute over the silence detector's usual window (up to now)."""
    start = max(window_start(view.now, rules.silence_usual), minute_of(view.observed_since))
    seconds = (view.now - start).total_seconds()
    counts = total(view.minutes, start, view.now + timedelta(minutes=1))
    return counts.started / seconds * 60 if seconds >= 60 else 0.0


def failure_windows(
    now: datetime, observed_since: datetime, rules: RateRules
) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """The failure-rate detector's [start, end) windows: the short one ending now, and the usual
    before it (as much of `rules.usual` as was observed)."""
    short_start = window_start(now, rules.short)
    usual_start = min(max(short_start - rules.usual, minute_of(observed_since)), short_start)
    return (short_start, now + timedelta(minutes=1)), (usual_start, short_start)


def failure_rate(view: RateView, rules: RateRules, frozen: float | None = None) -> Reading:
    (short_start, short_end), (usual_start, usual_end) = failure_windows(view.now, view.observed_since, rules)
    short = total(view.minutes, short_start, short_end)
    return failure_reading(short, total(view.minutes, usual_start, usual_end), rules, frozen)


def failure_reading(short: Counts, usual_counts: Counts, rules: RateRules, frozen: float | None = None) -> Reading:
    """The failure-rate verdict from the two windows' totals (`failure_windows`): `failure_rate`
    on minutes, or on totals added up in SQL (a parent's or a roll-up's "usually" line)."""
    if frozen is not None:
        usual = frozen
    elif usual_counts.ended >= rules.min_usual_sessions:
        usual = max(usual_counts.failed / usual_counts.ended, rules.usual_floor)
    else:
        return Reading(FAILURE, firing=False, back=False)  # too little history to know the usual
    rate = short.failure_rate
    if rate is None or short.ended < rules.min_short_sessions:
        # Nothing ended lately (a silence has its own detector): no evidence either way.
        return Reading(FAILURE, firing=False, back=short.ended == 0 and frozen is not None, usual=usual)
    minutes = int(rules.short.total_seconds() // 60)
    fires = (
        rate >= usual * rules.failure_multiple
        and rate - usual >= rules.failure_points
        and binomial_upper_tail(short.failed, short.ended, usual) <= rules.p_value
    )
    back = rate <= usual * rules.clear_multiple or rate - usual < rules.failure_points / 2
    return Reading(
        FAILURE,
        firing=fires,
        back=back and not fires,
        headline=f"{percent(rate)} of calls failing (last {minutes} min), usually {percent(usual)}",
        current=rate,
        usual=usual,
        cost=max(0, round(short.failed - usual * short.ended)),
    )


def silence(view: RateView, rules: RateRules, frozen: float | None = None) -> Reading:
    """`usual`/`current`: sessions started per minute."""
    window = rules.silence_window
    recent = total(view.minutes, window_start(view.now, window), view.now + timedelta(minutes=1))
    # The usual is the hour before the calls stopped (the quiet minutes are not part of it).
    end = window_start(view.now, window)
    starts = [m.minute for m in view.minutes if m.counts.started and m.minute < end]
    if starts and not recent.started:
        end = min(end, max(starts) + timedelta(minutes=1))
    begin = max(end - rules.silence_usual, minute_of(view.observed_since))
    usual_counts = total(view.minutes, begin, end)
    seconds = max((end - begin).total_seconds(), 0.0)
    if frozen is not None:
        usual = frozen
    elif seconds >= rules.silence_min_history.total_seconds() - 60:
        usual = usual_counts.started / seconds * 60 if seconds else 0.0
    else:
        return Reading(SILENCE, firing=False, back=False)
    minutes = window.total_seconds() / 60
    current = recent.started / minutes
    expected = usual * minutes
    fires = (
        usual >= rules.silence_min_per_minute
        and recent.started <= expected / 10
        and poisson_lower_tail(recent.started, expected) <= rules.silence_p_value
    )
    back = current >= usual * rules.silence_back_share
    quiet_for = _quiet_for(view)
    if recent.started == 0:
        since = f"for {quiet_for} min" if quiet_for is not None else "lately"
        headline = f"no calls started {since}, usually {per_minute(usual)} a minute"
    else:
        headline = (
            f"only {recent.started} calls started in the last {minutes:.0f} min, usually {per_minute(usual)} a minute"
        )
    return Reading(
        SILENCE,
        firing=fires,
        back=back and not fires,
        headline=headline,
        current=current,
        usual=usual,
        cost=max(0, round(expected - recent.started)),
    )


def _quiet_for(view: RateView) -> int | None:
    """Whole minutes since the end of the last minute that started a session."""
    starts = [m.minute for m in view.minutes if m.counts.started and m.minute <= view.now]
    if not starts:
        return None
    return max(0, math.floor((view.now - (max(starts) + timedelta(minutes=1))).total_seconds() / 60))


def cold_starts(view: RateView, rules: RateRules, frozen: float | None = None) -> Reading:
    short = total(view.minutes, window_start(view.now, rules.short), view.now + timedelta(minutes=1))
    usual_counts, _ = _usual(view, rules, rules.usual, rules.short)
    if frozen is not None:
        usual = frozen
    elif usual_counts.start_known >= rules.min_usual_sessions:
        usual = max(usual_counts.cold_starts / usual_counts.start_known, rules.usual_floor)
    else:
        return Reading(COLD, firing=False, back=False)
    share = short.cold_share
    if share is None or short.start_known < rules.min_short_sessions:
        return Reading(COLD, firing=False, back=False, usual=usual)
    fires = (
        share >= usual * rules.cold_multiple
        and share - usual >= rules.cold_points
        and binomial_upper_tail(short.cold_starts, short.start_known, usual) <= rules.p_value
    )
    minutes = int(rules.short.total_seconds() // 60)
    return Reading(
        COLD,
        firing=fires,
        back=not fires and (share <= usual * rules.clear_multiple or share - usual < rules.cold_points / 2),
        headline=f"{percent(share)} of calls cold-started (last {minutes} min), usually {percent(usual)}",
        current=share,
        usual=usual,
        severity=WARN,
    )


def bot_start(view: RateView, rules: RateRules, frozen: float | None = None) -> Reading:
    """`usual`/`current`: bot-start p95 in seconds (bucket edges). Fires when the short window's
    p95 is well above the usual one and more of its starts are slower than the usual p95 than the
    usual 5 % explains (binomial tail)."""
    short = total(view.minutes, window_start(view.now, rules.short), view.now + timedelta(minutes=1))
    usual_counts, _ = _usual(view, rules, rules.usual, rules.short)
    usual = frozen if frozen is not None else usual_counts.bot_start_p95()
    if usual is None or (frozen is None and usual_counts.bot_start_count < rules.min_usual_sessions):
        return Reading(BOT_START, firing=False, back=False)
    current = short.bot_start_p95()
    if current is None or short.bot_start_count < rules.min_short_sessions:
        return Reading(BOT_START, firing=False, back=False, usual=usual)
    slow = short.slower_than(usual)
    fires = (
        math.isfinite(usual)
        and current >= usual * rules.bot_start_multiple
        and current - usual >= rules.bot_start_seconds
        and binomial_upper_tail(slow, short.bot_start_count, 0.05) <= rules.p_value
    )
    minutes = int(rules.short.total_seconds() // 60)
    shown = f"{current:g}s" if math.isfinite(current) else "over 60s"
    return Reading(
        BOT_START,
        firing=fires,
        back=not fires and current <= usual * rules.clear_multiple,
        headline=f"bot start p95 {shown} (last {minutes} min), usually {usual:g}s",
        current=current if math.isfinite(current) else 3600.0,
        usual=usual,
        severity=WARN,
    )


Detector = Callable[[RateView, RateRules, float | None], Reading]
DETECTORS: dict[str, Detector] = {FAILURE: failure_rate, SILENCE: silence, COLD: cold_starts, BOT_START: bot_start}


def read_all(view: RateView, rules: RateRules, frozen: Mapping[str, float]) -> list[Reading]:
    return [detect(view, rules, frozen.get(key)) for key, detect in DETECTORS.items()]


# -- episodes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """One detector's open alert: what it said when it opened, now, and at worst."""

    key: str
    opened_at: datetime
    usual: float
    headline: str
    current: float
    peak: float
    peak_headline: str
    severity: str = PAGE
    cost: int = 0
    #: The first reading of the current spell that was clearly back.
    clear_since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "opened_at": self.opened_at.isoformat(),
            "usual": self.usual,
            "headline": self.headline,
            "current": self.current,
            "peak": self.peak,
            "peak_headline": self.peak_headline,
            "severity": self.severity,
            "cost": self.cost,
            "clear_since": self.clear_since.isoformat() if self.clear_since else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Episode:
        clear = data.get("clear_since")
        return cls(
            key=str(data["key"]),
            opened_at=datetime.fromisoformat(str(data["opened_at"])),
            usual=float(data["usual"]),
            headline=str(data["headline"]),
            current=float(data["current"]),
            peak=float(data["peak"]),
            peak_headline=str(data.get("peak_headline") or data["headline"]),
            severity=str(data.get("severity") or PAGE),
            cost=int(data.get("cost") or 0),
            clear_since=datetime.fromisoformat(clear) if isinstance(clear, str) else None,
        )


@dataclass
class Moves:
    episodes: dict[str, Episode] = field(default_factory=dict)
    opened: list[str] = field(default_factory=list)
    #: Open episodes whose headline (current or peak) changed: their posts are edited.
    changed: list[str] = field(default_factory=list)
    cleared: dict[str, Episode] = field(default_factory=dict)


def episode_cost(episode: Episode, view: RateView, rules: RateRules) -> int:
    """Sessions the episode cost from the window that opened it to now: failures (or cold starts)
    over the usual, or starts missing against the usual rate."""
    lead = rules.silence_window if episode.key == SILENCE else rules.short
    start = minute_of(episode.opened_at) + timedelta(minutes=1) - lead
    counts = total(view.minutes, start, view.now + timedelta(minutes=1))
    if episode.key == FAILURE:
        return max(0, round(counts.failed - episode.usual * counts.ended))
    if episode.key == SILENCE:
        minutes = (view.now - start).total_seconds() / 60
        return max(0, round(episode.usual * minutes - counts.started))
    if episode.key == COLD:
        return max(0, round(counts.cold_starts - episode.usual * counts.start_known))
    return 0


def cost_moved(shown: int, now: int, share: float = COST_EDIT_SHARE) -> bool:
    """Whether an open episode's cost so far (`now`) is worth editing its posts that show `shown`:
    it changed, and by at least `share` of what they show (any change from none)."""
    if now == shown:
        return False
    return shown == 0 or abs(now - shown) >= shown * share


def _worse(key: str, current: float, peak: float) -> bool:
    return current < peak if key == SILENCE else current > peak


def step(episodes: Mapping[str, Episode], readings: Sequence[Reading], now: datetime, hold: timedelta) -> Moves:
    """Open, update and clear episodes from this evaluation's readings."""
    moves = Moves(episodes=dict(episodes))
    for reading in readings:
        episode = moves.episodes.get(reading.key)
        if episode is None:
            if reading.firing:
                moves.episodes[reading.key] = Episode(
                    key=reading.key,
                    opened_at=now,
                    usual=reading.usual,
                    headline=reading.headline,
                    current=reading.current,
                    peak=reading.current,
                    peak_headline=reading.headline,
                    severity=reading.severity,
                    cost=reading.cost,
                )
                moves.opened.append(reading.key)
            continue
        if reading.back:
            since = episode.clear_since or now
            if now - since >= hold:
                del moves.episodes[reading.key]
                moves.cleared[reading.key] = replace(episode, clear_since=since)
                continue
            moves.episodes[reading.key] = replace(episode, clear_since=since)
            continue
        if not reading.headline:
            continue  # no evidence either way: the episode stays as it was
        worse = _worse(reading.key, reading.current, episode.peak)
        updated = replace(
            episode,
            clear_since=None,
            headline=reading.headline,
            current=reading.current,
            peak=reading.current if worse else episode.peak,
            peak_headline=reading.headline if worse else episode.peak_headline,
        )
        if updated.headline != episode.headline or updated.peak_headline != episode.peak_headline:
            moves.changed.append(reading.key)
        moves.episodes[reading.key] = updated
    return moves
