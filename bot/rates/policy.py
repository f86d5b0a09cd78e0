"""The tunables of the rate detectors, named in one place (re-exported by bot/alerts/policy.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

#: Minutes of counts kept (the longest window read minute by minute is the SLO burn's 3 days; 8
#: days leaves a margin). Older minutes are folded into hourly counts (whole hours only).
COUNT_RETENTION = timedelta(days=8)
#: Hourly counts kept: longer than the longest SLO period (30 days), so its budget reads it whole.
HOUR_RETENTION = timedelta(days=35)
#: Sessions first seen started are remembered this long (only to count each start once; far
#: beyond any poll overlap).
STARTED_RETENTION = timedelta(days=1)
#: An agent's usual failures an hour (what makes it "busy" enough for periodic roll-ups) is only
#: known from this much history: one failure a minute after the app started is not 60 an hour.
USUAL_FAILURES_MIN_HISTORY = timedelta(minutes=30)
#: Bot-start seconds are counted into these fixed buckets (upper edges; the last bucket is above
#: the last edge): a p95 read from them is the upper edge of its bucket.
BOT_START_EDGES: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
#: An open rate alert's "sessions it cost so far" (its first line) is refreshed, which edits
#: every post of it, when the count moved by at least this share of what the posts show (or
#: from none), or when its reading changed anyway: not for every session, every minute.
COST_EDIT_SHARE = 0.1


@dataclass(frozen=True)
class RateRules:
    """When a rate detector fires and clears (bot/rates/detectors.py)."""

    #: The short window compared against the agent's usual.
    short: timedelta = timedelta(minutes=5)
    #: The usual: the counts of this long before the short window (as much of it as was observed).
    usual: timedelta = timedelta(hours=6)
    #: A tail probability at most this is "not chance" (binomial for shares, Poisson for starts).
    p_value: float = 1e-4
    #: Failure rate: at least this many times the usual, this many points over it, with this many
    #: ended sessions in the short window and this many behind the usual.
    failure_multiple: float = 3.0
    failure_points: float = 0.05
    min_short_sessions: int = 20
    min_usual_sessions: int = 50
    #: A usual failure rate is never taken as lower than this (no failures yet is not 0%).
    usual_floor: float = 0.005
    #: Clearly back: at most this multiple of the usual (or under the points margin) ...
    clear_multiple: float = 1.5
    #: ... for this long (a rate hovering at the line stays one alert).
    clear_hold: timedelta = timedelta(minutes=3)
    #: Silence: the window with no (or far too few) starts, the history it is compared with, the
    #: usual start rate below which an agent is too quiet to judge, and the history needed.
    silence_window: timedelta = timedelta(minutes=3)
    silence_usual: timedelta = timedelta(hours=1)
    silence_min_per_minute: float = 6.0
    silence_min_history: timedelta = timedelta(minutes=4)
    silence_p_value: float = 1e-6
    #: Silence is over when starts run at least this share of the usual again.
    silence_back_share: float = 0.5
    #: Cold-start share: this many times the usual and this many points over it.
    cold_multiple: float = 2.0
    cold_points: float = 0.2
    #: Bot-start p95: at least this many times the usual p95 and this many seconds over it.
    bot_start_multiple: float = 2.0
    bot_start_seconds: float = 2.0


@dataclass(frozen=True)
class BurnRule:
    """One row of the SRE workbook's multiwindow, multi-burn-rate table."""

    name: str
    long: timedelta
    short: timedelta
    burn: float
    page: bool


#: Page on 1 h and 5 min both burning 14.4x (2 % of a 30-day budget in an hour) or 6 h and 30 min
#: both 6x (5 % in 6 h); a Slack-only warning on 3 days and 6 h both 1x (10 % in 3 days).
BURN_RULES: tuple[BurnRule, ...] = (
    BurnRule("fast", timedelta(hours=1), timedelta(minutes=5), 14.4, True),
    BurnRule("slow", timedelta(hours=6), timedelta(minutes=30), 6.0, True),
    BurnRule("ticket", timedelta(days=3), timedelta(hours=6), 1.0, False),
)
#: A burn window needs this many ended sessions before its rate is evidence.
SLO_MIN_SESSIONS = 10
#: SLO periods `/session slo` takes, and its default.
SLO_PERIODS: dict[str, timedelta] = {"7d": timedelta(days=7), "28d": timedelta(days=28), "30d": timedelta(days=30)}
SLO_DEFAULT_PERIOD = "28d"

RATE_RULES = RateRules()
#: The demo's rules (`python -m bot demo`, its rate scenarios in sandbox/demo/rates.py): the same
#: tests over 2-minute windows with a 30-second hold. With RATE_RULES a rollback resolves its alert
#: about 8 minutes after it (the 5-minute window has to empty, then 3 minutes clearly back); the
#: demo's scenarios must each play out within about two minutes of a click.
DEMO_RATE_RULES = replace(
    RATE_RULES, short=timedelta(minutes=2), clear_hold=timedelta(seconds=30), silence_window=timedelta(minutes=2)
)
