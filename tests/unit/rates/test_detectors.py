"""Table tests of the rate detectors (bot/rates/detectors.py, bot/rates/slo.py) on the simulator's
clock: each fires on a real change, not on chance, works from little history at high volume,
stays quiet at low volume, and clears only once clearly back for the hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.rates import detectors, slo
from bot.rates.counts import Counts, Minute, binomial_upper_tail, poisson_lower_tail, quantile
from bot.rates.detectors import RateView
from bot.rates.policy import BOT_START_EDGES, BURN_RULES, RATE_RULES
from sandbox.pipecat.simulator import SimClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minute_counts(per_minute: float, fail: float, *, cold: float = 0.1, slow: float = 0.0) -> Counts:
    """One minute of sessions: `per_minute` started and ended, `fail` share failed, `cold` share cold,
    bot starts at 1 s (or `slow` share at 8 s)."""
    n = round(per_minute)
    buckets = [0] * (len(BOT_START_EDGES) + 1)
    slow_n = round(n * slow)
    buckets[1] += n - slow_n  # ≤ 1 s
    buckets[6] += slow_n  # ≤ 8 s
    return Counts(
        started=n,
        ended=n,
        failed=round(n * fail),
        start_known=n,
        cold_starts=round(n * cold),
        bot_starts=buckets,
    )


class Series:
    """Minutes of an agent on the simulator's clock: each `run` appends minutes and moves the clock."""

    def __init__(self) -> None:
        self.clock = SimClock(START)
        self.minutes: list[Minute] = []

    def run(self, count: int, counts: Counts) -> None:
        for _ in range(count):
            self.minutes.append(Minute(self.clock.now(), counts))
            self.clock.advance(60)

    def view(self) -> RateView:
        # Evaluated a moment into the next minute (a poll right after a whole minute was counted).
        return RateView(now=self.clock.now() + timedelta(seconds=1), minutes=list(self.minutes), observed_since=START)


def first_fire(series: Series, minutes: int, counts: Counts, detect: detectors.Detector) -> int | None:
    """Minutes of `counts` until `detect` fires (None: never within `minutes`)."""
    for n in range(1, minutes + 1):
        series.run(1, counts)
        if detect(series.view(), RATE_RULES, None).firing:
            return n
    return None


@pytest.mark.parametrize(
    ("name", "per_second", "history", "before", "after", "within"),
    [
        ("5/s 2% to 30% is told within 2 minutes", 5, 60, 0.02, 0.30, 2),
        ("20/s 2% to 30% is told within 2 minutes", 20, 60, 0.02, 0.30, 2),
        ("5/s from only 10 minutes of history", 5, 10, 0.02, 0.30, 2),
        ("1/s 1% to 15%", 1, 60, 0.01, 0.15, 3),
        ("1/s 2% to 3% never (not a multiple)", 1, 60, 0.02, 0.03, None),
        ("5/s 10% to 14% never (under the points margin)", 5, 60, 0.10, 0.14, None),
    ],
)
def test_failure_rate_regression(
    name: str, per_second: float, history: int, before: float, after: float, within: int | None
) -> None:
    series = Series()
    series.run(history, minute_counts(per_second * 60, before))
    assert not detectors.failure_rate(series.view(), RATE_RULES).firing
    told = first_fire(series, 10, minute_counts(per_second * 60, after), detectors.failure_rate)
    if within is None:
        assert told is None, name
    else:
        assert told is not None and told <= within, name


def test_two_failures_at_one_session_a_minute_never_fire() -> None:
    series = Series()
    series.run(120, minute_counts(1, 0.0))
    series.run(1, Counts(started=1, ended=1, failed=1))
    series.run(1, Counts(started=1, ended=1, failed=1))
    reading = detectors.failure_rate(series.view(), RATE_RULES)
    assert not reading.firing


def test_failure_rate_is_not_chance_at_its_usual_rate() -> None:
    """A noisy but usual rate (2% ± bursts to 4% for a minute) never fires at 5/s."""
    series = Series()
    for minute in range(240):
        fail = 0.04 if minute % 17 == 0 else 0.02
        series.run(1, minute_counts(300, fail))
        assert not detectors.failure_rate(series.view(), RATE_RULES).firing


@pytest.mark.parametrize(
    ("name", "per_minute", "history", "within"),
    [
        ("1/s stops: told within 5 minutes from 4 minutes of history", 60, 4, 5),
        ("5/s stops", 300, 30, 4),
        ("a dev agent with a call every 10 minutes never", 0.1, 120, None),
        ("2 calls a minute (a nightly lull) never", 2, 120, None),
    ],
)
def test_silence(name: str, per_minute: float, history: int, within: int | None) -> None:
    series = Series()
    if per_minute >= 1:
        series.run(history, minute_counts(per_minute, 0.0))
    else:
        for minute in range(history):
            series.run(1, minute_counts(1 if minute % round(1 / per_minute) == 0 else 0, 0.0))
    told = first_fire(series, 30, Counts(), detectors.silence)
    if within is None:
        assert told is None, name
    else:
        assert told is not None and told <= within, name


def test_silence_says_how_long_and_the_usual() -> None:
    series = Series()
    series.run(30, minute_counts(180, 0.0))
    series.run(6, Counts())
    reading = detectors.silence(series.view(), RATE_RULES)
    assert reading.firing
    assert reading.headline == "no calls started for 6 min, usually 180 a minute"


def test_cold_start_share_and_bot_start_p95_regressions() -> None:
    series = Series()
    series.run(60, minute_counts(120, 0.0, cold=0.05))
    told = first_fire(series, 5, minute_counts(120, 0.0, cold=0.6), detectors.cold_starts)
    assert told is not None and told <= 2
    series = Series()
    series.run(60, minute_counts(120, 0.0))
    told = first_fire(series, 5, minute_counts(120, 0.0, slow=0.5), detectors.bot_start)
    assert told is not None and told <= 2
    series = Series()
    series.run(60, minute_counts(2, 0.0, cold=0.0))
    assert first_fire(series, 10, minute_counts(2, 0.0, cold=1.0), detectors.cold_starts) is None  # too few


def run_episodes(series: Series, minutes: int, counts: Counts) -> list[detectors.Moves]:
    moves_seen = []
    for _ in range(minutes):
        series.run(1, counts)
        view = series.view()
        frozen = {k: e.usual for k, e in series.episodes.items()}  # type: ignore[attr-defined]
        moves = detectors.step(
            series.episodes,  # type: ignore[attr-defined]
            [detectors.failure_rate(view, RATE_RULES, frozen.get(detectors.FAILURE))],
            view.now,
            RATE_RULES.clear_hold,
        )
        series.episodes = moves.episodes  # type: ignore[attr-defined]
        moves_seen.append(moves)
    return moves_seen


def test_an_episode_opens_once_and_clears_only_when_back_for_the_hold() -> None:
    series = Series()
    series.episodes = {}  # type: ignore[attr-defined]
    series.run(60, minute_counts(300, 0.02))
    bad = run_episodes(series, 5, minute_counts(300, 0.30))
    assert sum(len(m.opened) for m in bad) == 1
    back = run_episodes(series, 20, minute_counts(300, 0.02))
    cleared_at = [i for i, m in enumerate(back) if m.cleared]
    assert len(cleared_at) == 1
    # Clearly back needs the 5-minute window (nearly) free of the bad minutes, then the 3-minute hold.
    assert 5 <= cleared_at[0] <= 9
    [episode] = back[cleared_at[0]].cleared.values()
    assert episode.peak == pytest.approx(0.30, abs=0.01)
    assert "usually 2.0%" in episode.headline


def test_a_rate_hovering_at_the_line_is_one_episode_that_does_not_clear() -> None:
    series = Series()
    series.episodes = {}  # type: ignore[attr-defined]
    series.run(60, minute_counts(300, 0.02))
    run_episodes(series, 3, minute_counts(300, 0.30))
    # Between 1.5x and 3x the usual, and more than the margin over it: neither firing anew nor back.
    hover = run_episodes(series, 20, minute_counts(300, 0.05))
    assert sum(len(m.opened) for m in hover) == 0 and not any(m.cleared for m in hover)
    assert detectors.FAILURE in series.episodes  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "long_rate", "short_rate", "rule", "fires"),
    [
        ("fast burn: 1 h and 5 min both at 14.4x", 0.08, 0.08, "slo-fast", True),
        ("fast burn that stopped: the short window clears it", 0.08, 0.001, "slo-fast", False),
        ("slow burn: 6 h and 30 min at 6x", 0.035, 0.035, "slo-slow", True),
        ("a 1x ticket burn is a warning", 0.006, 0.006, "slo-ticket", True),
        ("under budget: nothing", 0.004, 0.004, "slo-ticket", False),
    ],
)
def test_slo_burn_rules(name: str, long_rate: float, short_rate: float, rule: str, fires: bool) -> None:
    target = slo.Slo(0.995, timedelta(days=28))
    totals: dict[timedelta, Counts] = {}
    for r in BURN_RULES:
        totals[r.long] = Counts(ended=10_000, failed=round(10_000 * long_rate))
        totals[r.short] = Counts(ended=10_000, failed=round(10_000 * short_rate))
    readings = {r.key: r for r in slo.burn_readings(target, totals)}
    assert readings[rule].firing is fires, name
    if fires:
        assert readings[rule].severity == (detectors.WARN if rule == "slo-ticket" else detectors.PAGE)


def test_slo_budget_left() -> None:
    target = slo.Slo(0.99, timedelta(days=28))
    assert slo.budget_left(target, Counts(ended=1000, failed=5)) == pytest.approx(0.5)
    assert slo.budget_left(target, Counts()) is None


def test_tails_and_quantiles() -> None:
    assert binomial_upper_tail(2, 5, 0.02) > RATE_RULES.p_value  # 2 of 5 at 2%: chance enough
    assert binomial_upper_tail(90, 300, 0.02) < 1e-30
    assert poisson_lower_tail(0, 180) < 1e-70
    assert poisson_lower_tail(0, 0.3) > 0.5
    assert quantile([0, 95, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.95) == 1.0
    assert quantile([0] * 12, 0.95) is None


@pytest.mark.parametrize(
    ("shown", "now", "moved"),
    [
        (0, 0, False),
        (0, 1, True),  # the first session it cost is worth saying
        (12, 12, False),
        (12, 13, False),  # under 10% of what the post shows: no edit for it
        (12, 14, True),
        (100, 109, False),
        (100, 110, True),
        (100, 88, True),  # it can shrink (the usual caught up within the window)
        (5, 0, True),
    ],
)
def test_cost_so_far_edits_the_alert_only_when_it_moved_enough(shown: int, now: int, moved: bool) -> None:
    """bot/rates/detectors.py `cost_moved` (COST_EDIT_SHARE): the sessions an open rate alert cost
    so far are refreshed on its posts when they moved, not for every session every minute."""
    assert detectors.cost_moved(shown, now) is moved
