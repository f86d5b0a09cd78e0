"""SLO burn rates (the SRE workbook's multiwindow, multi-burn-rate alerts) and the error budget.

Good sessions are those that did not fail (bot/rates/counts.py `is_failed`). The burn rate of a
window is its failure rate over the budget (1 − target): 1.0 spends the budget exactly over the
period. A rule fires when both its long and its short window burn at least its rate (the short
window makes the alert stop soon after the burn stops).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.rates.counts import Counts
from bot.rates.detectors import PAGE, WARN, Reading
from bot.rates.policy import BURN_RULES, SLO_MIN_SESSIONS, BurnRule

SLO_PREFIX = "slo-"


@dataclass(frozen=True)
class Slo:
    target: float  # 0.995 for 99.5 %
    period: timedelta

    @property
    def budget(self) -> float:
        return 1.0 - self.target

    def label(self) -> str:
        return f"{self.target * 100:g}%"


def burn(counts: Counts, slo: Slo) -> float | None:
    if counts.ended < SLO_MIN_SESSIONS or slo.budget <= 0:
        return None
    return (counts.failed / counts.ended) / slo.budget


def windows() -> set[timedelta]:
    """Every window the rules read."""
    return {w for rule in BURN_RULES for w in (rule.long, rule.short)}


def _span(window: timedelta) -> str:
    if window >= timedelta(days=1):
        return f"{window.days} d"
    if window >= timedelta(hours=1):
        return f"{window.total_seconds() / 3600:g} h"
    return f"{window.total_seconds() / 60:g} min"


def burn_readings(
    slo: Slo, totals: Mapping[timedelta, Counts], rules: tuple[BurnRule, ...] = BURN_RULES
) -> list[Reading]:
    """One reading per rule: firing when both windows burn at least its rate; back when the short
    window burns under it (the long one lags by design)."""
    readings = []
    for rule in rules:
        long, short = burn(totals.get(rule.long, Counts()), slo), burn(totals.get(rule.short, Counts()), slo)
        key = f"{SLO_PREFIX}{rule.name}"
        if long is None or short is None:
            readings.append(Reading(key, firing=False, back=short is None or (short is not None and short < rule.burn)))
            continue
        fires = long >= rule.burn and short >= rule.burn
        headline = (
            f"burning its {slo.label()} SLO error budget {short:.1f}x as fast as allowed "
            f"({_span(rule.short)}; {long:.1f}x over {_span(rule.long)})"
        )
        readings.append(
            Reading(
                key,
                firing=fires,
                back=not fires and short < rule.burn,
                headline=headline,
                current=short,
                usual=rule.burn,
                severity=PAGE if rule.page else WARN,
            )
        )
    return readings


def budget_left(slo: Slo, period_counts: Counts) -> float | None:
    """The share of the period's error budget left (negative when overspent); None without sessions."""
    if not period_counts.ended or slo.budget <= 0:
        return None
    allowed = slo.budget * period_counts.ended
    return 1.0 - period_counts.failed / allowed
