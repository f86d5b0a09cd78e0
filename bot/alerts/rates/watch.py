"""Rate alerts: after each poll cycle, the agents this replica polled are evaluated from their
per-minute counts (bot/store/rates.py) by the pure detectors (bot/rates/detectors.py, SLO burn in
bot/rates/slo.py).

An episode that opens is posted as a new top-level message (OutboxKind.RATE) to every channel watching
the agent, whatever its per-session incident is doing (open, acknowledged); while it lasts its
post is edited in place (current and worst reading, the sessions it cost so far); when it clears
the post says so (how long, about how many sessions it cost) and a reply goes in its thread
(OutboxKind.RATE_CLEAR). It resolves on evidence only: there is no Resolve button. Acknowledge and
Unacknowledge are recorded per episode (bot/store/rates.py `acknowledge_rate_alert`). Each
evaluation is stored with a compare-and-set on the agent's rate state, together with its posts:
of two replicas evaluating the same agent only one enqueues, and the dedup keys (one per watch and
episode) make a repeat a no-op. Paging watches page PagerDuty per episode (bot/alerts/paging/pager.py,
`rate_pages`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.alerts.fanout import Mutes, fan_out
from bot.alerts.rates.ports import FailureNowStore, RatePageStore, RateWatchStore
from bot.clock import Clock
from bot.contracts.keys import condition_alert_key, episode_dedup_key, rate_clear_key, rate_key
from bot.pagerduty import events
from bot.rates import detectors, slo
from bot.rates.counts import Counts, Minute, window_start
from bot.rates.detectors import Episode, RateView
from bot.rates.policy import BURN_RULES, SLO_PERIODS, RateRules
from bot.store.payloads import RateClearPayload, RatePayload
from bot.store.rates import FAILURES_PER_HOUR, RateState
from bot.store.records import NewPost, OutboxKind, Watch

logger = logging.getLogger(__name__)

EPISODES = "episodes"
#: The usual start rate (per minute) the silence detector would compare with.
STARTS_PER_MINUTE = "starts_per_minute"
#: Causes a rate alert lists, from the cause cache, over the last hour.
CAUSE_WINDOW = timedelta(hours=1)
TOP_CAUSES = 3


def episodes_of(memory: Mapping[str, Any]) -> dict[str, Episode]:
    raw = memory.get(EPISODES)
    found: dict[str, Episode] = {}
    for key, value in raw.items() if isinstance(raw, dict) else ():
        try:
            found[str(key)] = Episode.from_json(value)
        except (KeyError, TypeError, ValueError):
            logger.warning("forgetting an unreadable rate episode %s", key)
    return found


def slo_of(state: RateState) -> slo.Slo | None:
    if state.slo_target is None:
        return None
    return slo.Slo(state.slo_target, SLO_PERIODS.get(state.slo_period or "", SLO_PERIODS["28d"]))


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation decided (for logs and tests)."""

    opened: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    applied: bool = False


class RateWatcher:
    def __init__(self, *, store: RateWatchStore, clock: Clock, rules: RateRules) -> None:
        """`rules`: when detectors fire and clear (bot/alerts/policy.py RATE_RULES)."""
        self._store = store
        self._clock = clock
        self._rules = rules

    async def evaluate_all(self, agents: Sequence[str]) -> None:
        """Evaluate each agent; one agent's failure never stops the others."""
        if not agents:
            return
        # One read: most idle agents were never counted, or have nothing new to judge.
        states = {s.agent: s for s in await self._store.rate_states(agents) if self._worth(s)}
        agents = [a for a in agents if a in states]
        if not agents:
            return
        watches = await self._store.all_watches()
        mutes = await self._store.active_mutes(self._clock.now())
        for agent in agents:
            try:
                await self.evaluate(agent, watches.get(agent, []), mutes, state=states[agent])
            except Exception:  # broad: one agent's failure never stops the others
                logger.exception("evaluating the rates of %s failed; the next cycle tries again", agent)

    async def view(self, agent: str, state: RateState, now: datetime) -> RateView:
        lookback = max(self._rules.usual, self._rules.silence_usual) + self._rules.short + timedelta(minutes=1)
        minutes = await self._store.rate_minutes(agent, window_start(now, lookback))
        return RateView(now=now, minutes=minutes, observed_since=state.observed_since)

    def _worth(self, state: RateState) -> bool:
        """Could an evaluation of this agent change anything? Not when nothing was counted since
        the last one, nothing is open, no SLO is set and it starts too few calls to fall silent."""
        if state.counted_since_evaluated or state.slo_target is not None or state.memory.get(EPISODES):
            return True
        starts = state.memory.get(STARTS_PER_MINUTE)
        return not isinstance(starts, int | float) or starts >= self._rules.silence_min_per_minute

    async def evaluate(
        self, agent: str, watches: Sequence[Watch], mutes: Mutes, *, state: RateState | None = None
    ) -> Evaluation:
        state = state or await self._store.rate_state(agent)
        if state is None:
            return Evaluation()  # nothing counted yet
        now = self._clock.now()
        view = await self.view(agent, state, now)
        episodes = episodes_of(state.memory)
        frozen = {key: e.usual for key, e in episodes.items() if key in detectors.DETECTORS}
        readings = detectors.read_all(view, self._rules, frozen)
        target = slo_of(state)
        if target is not None:
            readings += slo.burn_readings(target, await self._burn_totals(agent, now))
        moves = detectors.step(episodes, readings, now, self._rules.clear_hold)
        changed = set(moves.changed)
        for key, episode in moves.episodes.items():
            if key in moves.opened:
                continue
            # How bad so far, on the alert's first line: refreshed with its reading, or once the
            # sessions it cost moved enough to say (not every session, every minute).
            cost = detectors.episode_cost(episode, view, self._rules)
            if key in changed or detectors.cost_moved(episode.cost, cost):
                moves.episodes[key] = replace(episode, cost=cost)
                changed.add(key)
        posts: list[NewPost] = []
        touched: dict[str, dict[str, Any]] = {}
        if moves.opened:
            deployments = await self._deployments(agent, now)
            causes = await self._causes(agent, now)
            for key in moves.opened:
                posts += self._opened(agent, moves.episodes[key], deployments, causes, watches, mutes)
        late = {
            key: [w for w in watches if w.created_at > e.opened_at]
            for key, e in moves.episodes.items()
            if key not in moves.opened
        }
        if any(late.values()):
            # A channel that started watching during an episode hears of it too (once: its key),
            # acknowledged already if someone is on it.
            deployments = await self._deployments(agent, now)
            causes = await self._causes(agent, now)
            acks = await self._store.rate_acknowledgements(agent)
            for key, newer in late.items():
                episode = moves.episodes[key]
                ack = acks.get((key, episode.opened_at))
                posts += self._opened(agent, episode, deployments, causes, newer, mutes, ack)
        for key in sorted(changed):
            episode = moves.episodes[key]
            for w in watches:
                touched[rate_key(w.id, key, episode.opened_at)] = {"episode": episode.to_json()}
        for key, episode in moves.cleared.items():
            cost = detectors.episode_cost(episode, view, self._rules)
            episode = Episode.from_json({**episode.to_json(), "cost": cost})
            for w in watches:
                touched[rate_key(w.id, key, episode.opened_at)] = {
                    "cleared_at": now.isoformat(),
                    "cost": cost,
                    "episode": episode.to_json(),
                }
            posts += self._cleared(agent, episode, now, cost, watches, mutes)
        memory = {
            **state.memory,
            EPISODES: {k: e.to_json() for k, e in sorted(moves.episodes.items())},
            # Whole failures an hour are enough to tell a busy agent, and keep the memory still.
            FAILURES_PER_HOUR: round(detectors.usual_failures_per_hour(view, self._rules)),
            STARTS_PER_MINUTE: round(detectors.recent_starts_per_minute(view, self._rules), 1),
        }
        if memory == state.memory and not posts and not touched and not state.counted_since_evaluated:
            return Evaluation()  # nothing moved: no write (most agents, most cycles)
        applied = await self._store.save_rate_evaluation(
            agent, state.version, memory, now, posts=posts, touched=touched
        )
        if applied:
            for key in moves.opened:
                logger.info("%s: rate alert opened: %s", agent, moves.episodes[key].headline)
            for episode in moves.cleared.values():
                logger.info("%s: rate alert cleared: %s", agent, episode.peak_headline)
        return Evaluation(tuple(moves.opened), tuple(moves.cleared), tuple(sorted(changed)), applied)

    async def _burn_totals(self, agent: str, now: datetime) -> dict[timedelta, Counts]:
        spans = {rule.long for rule in BURN_RULES} | {rule.short for rule in BURN_RULES}
        end = now + timedelta(minutes=1)
        windows = {str(int(span.total_seconds())): (window_start(now, span), end) for span in spans}
        totals = await self._store.rate_totals(agent, windows)
        return {timedelta(seconds=int(name)): counts for name, counts in totals.items()}

    async def _deployments(self, agent: str, now: datetime) -> list[dict[str, Any]]:
        return deployment_rows(await self._store.rate_minutes(agent, now - timedelta(hours=1), by_deployment=True))

    async def _causes(self, agent: str, now: datetime) -> list[dict[str, Any]]:
        try:
            stats = await self._store.top_causes(agent, now - CAUSE_WINDOW, TOP_CAUSES)
        except Exception:  # broad: the causes are extra; the alert goes out without them
            logger.exception("reading the causes of %s failed; the rate alert lists none", agent)
            return []
        return [{"label": s.label, "count": s.occurrences or s.count} for s in stats]

    @staticmethod
    def _opened(
        agent: str,
        episode: Episode,
        deployments: list[dict[str, Any]],
        causes: list[dict[str, Any]],
        watches: Sequence[Watch],
        mutes: Mutes,
        ack: tuple[str, datetime] | None = None,
    ) -> list[NewPost]:
        payload = RatePayload(
            episode=episode.to_json(),
            opened_at=episode.opened_at,
            deployments=deployments if episode.key in (detectors.FAILURE,) or episode.key.startswith("slo") else [],
            causes=causes if episode.key == detectors.FAILURE or episode.key.startswith("slo") else [],
            acknowledged_by=ack[0] if ack else None,
            acknowledged_at=ack[1] if ack else None,
        )
        return fan_out(
            agent, OutboxKind.RATE, watches, mutes, lambda w: (rate_key(w.id, episode.key, episode.opened_at), payload)
        )

    @staticmethod
    def _cleared(
        agent: str, episode: Episode, now: datetime, cost: int, watches: Sequence[Watch], mutes: Mutes
    ) -> list[NewPost]:
        def post(w: Watch) -> tuple[str, RateClearPayload]:
            payload = RateClearPayload(
                episode=episode.to_json(),
                opened_at=episode.opened_at,
                cleared_at=now,
                opener_key=rate_key(w.id, episode.key, episode.opened_at),
                cost=cost,
            )
            return rate_clear_key(w.id, episode.key, episode.opened_at), payload

        return fan_out(agent, OutboxKind.RATE_CLEAR, watches, mutes, post)


async def failure_now(store: FailureNowStore, agent: str, now: datetime, rules: RateRules) -> str | None:
    """The agent's failure rate now against its usual, in the failure-rate detector's words ("2.1%
    of calls failing (last 5 min), usually 2.0%"): its windows (`detectors.failure_windows`) added
    up in SQL and judged by `detectors.failure_reading`, with the usual an open failure-rate alert
    froze. None before the agent was counted, or while the detector has too little to say (too
    few calls lately or too little history: a quiet agent)."""
    state = await store.rate_state(agent)
    if state is None:
        return None
    short, usual = detectors.failure_windows(now, state.observed_since, rules)
    totals = await store.rate_totals(agent, {"short": short, "usual": usual})
    episode = episodes_of(state.memory).get(detectors.FAILURE)
    reading = detectors.failure_reading(totals["short"], totals["usual"], rules, episode.usual if episode else None)
    return reading.headline or None


def deployment_rows(minutes: Sequence[Minute]) -> list[dict[str, Any]]:
    """Per deployment (busiest first): sessions ended and failed."""
    by: dict[str, Counts] = {}
    for m in minutes:
        by.setdefault(m.deployment, Counts()).add(m.counts)
    rows = [{"deployment": d, "ended": c.ended, "failed": c.failed} for d, c in by.items() if c.ended]
    return sorted(rows, key=lambda r: (-r["ended"], r["deployment"]))


@dataclass(frozen=True)
class RatePage:
    subscription_id: int
    channel_id: str
    facts: events.ConditionFacts
    #: Someone pressed Acknowledge on a post of the episode (any channel's): PagerDuty stops
    #: escalating too. Unacknowledge leaves PagerDuty's alert acknowledged (no way back there).
    acknowledged: bool = False


async def rate_pages(
    store: RatePageStore, paging: Mapping[tuple[str, str], int], namespace: str, now: datetime
) -> dict[str, RatePage]:
    """The PagerDuty alerts open rate episodes want, by dedup key: one per paging watch of the
    agent and episode of a paging severity, unless the channel muted the agent (muted alerts
    stay out of PagerDuty as they stay out of Slack)."""
    wanted: dict[str, RatePage] = {}
    agents = sorted({agent for _, agent in paging})
    if not agents:
        return wanted
    mutes = await store.active_mutes(now)
    for agent in agents:
        state = await store.rate_state(agent)
        if state is None:
            continue
        acks = await store.rate_acknowledgements(agent)
        for episode in episodes_of(state.memory).values():
            if episode.severity != detectors.PAGE:
                continue
            facts = events.ConditionFacts(
                agent=agent,
                condition=f"rate-{episode.key}",
                description=episode.headline,
                since=episode.opened_at,
                severity="critical" if episode.key == detectors.SILENCE else "error",
                facts=(f"worst: {episode.peak_headline}",) if episode.peak_headline != episode.headline else (),
            )
            for (channel, watched), sid in paging.items():
                if watched == agent and (channel, agent) not in mutes:
                    occurrence = episode_dedup_key(agent, episode.key, episode.opened_at)
                    key = condition_alert_key(namespace, channel, occurrence)
                    acknowledged = (episode.key, episode.opened_at) in acks
                    wanted[key] = RatePage(sid, channel, facts, acknowledged)
    return wanted
