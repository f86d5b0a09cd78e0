"""What `/session rates <agent>` shows, from the same per-minute counts the detectors read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.alerts.rates.ports import RatesViewStore, SloLinesStore, SloStore
from bot.alerts.rates.watch import deployment_rows, episodes_of, slo_of
from bot.blocks.rates import RateRow, RatesView, SloLine, slo_budget_text
from bot.rates.counts import Counts, Minute, total, window_start
from bot.rates.detectors import percent
from bot.rates.policy import SLO_DEFAULT_PERIOD, RateRules
from bot.rates.slo import budget_left
from bot.store.rates import RateState

WINDOWS = (("5 min", timedelta(minutes=5)), ("1 h", timedelta(hours=1)), ("24 h", timedelta(hours=24)))


def _row(label: str, counts: Counts, seconds: float) -> RateRow:
    return RateRow(
        label=label,
        started_per_minute=counts.started / seconds * 60 if seconds > 0 else None,
        failure_rate=counts.failure_rate,
        ended=counts.ended,
        cold_share=counts.cold_share,
        bot_start_p95=counts.bot_start_p95(),
    )


def rate_rows(minutes: list[Minute], now: datetime, observed_since: datetime, rules: RateRules) -> list[RateRow]:
    """The windows ending now, then the usual (the `rules.usual` before the short window)."""
    end = now + timedelta(minutes=1)
    rows = []
    for label, span in WINDOWS:
        start = window_start(now, span)
        seconds = (now - max(start, observed_since)).total_seconds()
        rows.append(_row(label, total(minutes, start, end), seconds))
    usual_end = window_start(now, rules.short)
    usual_start = max(usual_end - rules.usual, window_start(observed_since, timedelta(minutes=1)))
    rows.append(_row("usual", total(minutes, usual_start, usual_end), (usual_end - usual_start).total_seconds()))
    return rows


async def slo_line(store: SloStore, state: RateState, now: datetime) -> SloLine | None:
    """The agent's SLO and the budget left over its period up to `now` (the minutes of the last
    days and, before them, the hourly counts older minutes were folded into), or None without an
    SLO. Over the days counted so far when the agent was counted for less than the period."""
    target = slo_of(state)
    if target is None:
        return None
    start = max(now - target.period, state.observed_since)
    counts = (await store.rate_totals(state.agent, {"period": (start, now + timedelta(minutes=1))}))["period"]
    observed = (now - start).total_seconds() / 86400
    shown = observed if now - start < target.period - timedelta(minutes=1) else 0.0
    period = state.slo_period or SLO_DEFAULT_PERIOD
    return SloLine(target.label(), period, budget_left(target, counts), counts.ended, shown)


async def slo_lines(store: SloLinesStore, agents: Sequence[str], now: datetime) -> dict[str, SloLine]:
    """`slo_line` of each of `agents` that has an SLO (one read of their states)."""
    found: dict[str, SloLine] = {}
    for state in await store.rate_states(sorted(set(agents))):
        line = await slo_line(store, state, now)
        if line is not None:
            found[state.agent] = line
    return found


async def rates_view(store: RatesViewStore, agent: str, now: datetime, rules: RateRules) -> RatesView:
    state = await store.rate_state(agent)
    if state is None:
        return RatesView(agent, [], [], None)
    minutes = await store.rate_minutes(agent, window_start(now, timedelta(hours=24)))
    rows = rate_rows(minutes, now, state.observed_since, rules)
    recent = await store.rate_minutes(agent, now - timedelta(hours=1), by_deployment=True)
    deployments = [(r["deployment"], r["ended"], r["failed"]) for r in deployment_rows(recent)]
    alerts = [e.headline for e in episodes_of(state.memory).values()]
    return RatesView(agent, rows, deployments, await slo_line(store, state, now), alerts)


def rates_line(view: RatesView) -> str | None:
    """One plain line of the card: the last 5 minutes against the usual, and the SLO budget."""
    if not view.rows:
        return None
    short, usual = view.rows[0], view.rows[-1]
    parts = []
    if short.started_per_minute is not None:
        parts.append(f"last 5 min: {short.started_per_minute:.1f} started a minute")
    if short.failure_rate is not None:
        usual_rate = f" (usually {percent(usual.failure_rate)})" if usual.failure_rate is not None else ""
        parts.append(f"{percent(short.failure_rate)} failing{usual_rate}")
    if view.slo is not None:
        parts.append(slo_budget_text(view.slo))
    return " · ".join(parts) or None
