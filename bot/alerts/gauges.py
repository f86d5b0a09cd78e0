"""The /metrics gauges read from the database at scrape time: outbox depth and age, open incidents
and health conditions, each watched agent's last poll, failure rate, start rate and SLO budget."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts.ports import GaugeStore, RateGaugeStore
from bot.alerts.rates.view import slo_line
from bot.ops.metrics import Metrics


async def refresh_store_gauges(store: GaugeStore, metrics: Metrics, now: datetime) -> None:
    snapshot = await store.ops_snapshot()
    metrics.outbox_depth.set(snapshot.outbox_depth)
    oldest = snapshot.oldest_pending_at
    metrics.outbox_oldest_age.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    metrics.open_incidents.set(snapshot.open_incidents)
    metrics.last_poll_age.clear()  # an unwatched agent leaves the series
    for poll in snapshot.polls:
        if poll.last_success_at is not None:
            metrics.last_poll_age.labels(poll.agent).set(max(0.0, (now - poll.last_success_at).total_seconds()))
    metrics.open_health_conditions.set(await store.open_health_condition_count())  # alerted ones only
    await refresh_rate_gauges(store, metrics, now, {poll.agent for poll in snapshot.polls})


#: The window of the per-agent rate gauges.
RATE_GAUGE_WINDOW = timedelta(minutes=5)


async def refresh_rate_gauges(store: RateGaugeStore, metrics: Metrics, now: datetime, watched: set[str]) -> None:
    """Per watched agent (names are bounded; session ids are never labels): the last 5 minutes'
    failure rate and start rate, and the SLO budget left."""
    for gauge in (metrics.agent_failure_rate, metrics.agent_start_rate, metrics.agent_slo_budget):
        gauge.clear()
    for state in await store.rate_states():
        if state.agent not in watched:
            continue
        windows = {"short": (now - RATE_GAUGE_WINDOW, now + timedelta(minutes=1))}
        short = (await store.rate_totals(state.agent, windows))["short"]
        metrics.agent_start_rate.labels(state.agent).set(short.started / (RATE_GAUGE_WINDOW.total_seconds() / 60))
        if short.failure_rate is not None:
            metrics.agent_failure_rate.labels(state.agent).set(short.failure_rate)
        line = await slo_line(store, state, now)  # the budget the agent card and App Home show
        if line is not None and line.budget_left is not None:
            metrics.agent_slo_budget.labels(state.agent).set(line.budget_left)
