"""Agent status reads: every AGENT_STATUS_INTERVAL_SECONDS, one `GET /agents/{agent}` per watched
agent, across all replicas (the store's due time and read lease), on its own scheduler job.

Per read: evaluate the status (bot/alerts/health/assess.py), move each condition through its life with
the hold times (bot/alerts/health/states.py: pending, open, clearing, closed, reopened), and in
one transaction open/reopen/clear conditions and enqueue their posts (only the transaction that
inserted or deleted a condition's row enqueues, so each occurrence is posted once). A failed read
changes nothing, and neither does a read that leaves out what a condition is judged on: no news
is not a recovery.

Other parts hear about conditions through `ConditionListener` (the PagerDuty stream pages them):
`condition_opened` / `condition_cleared` are called after the commit, by the one replica that
applied the change, with a stable `condition_dedup_key` (bot/contracts/keys.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.alerts.health import assess as health
from bot.alerts.health import states as health_states
from bot.alerts.health.ports import StatusWatchStore
from bot.alerts.health.posts import (
    cleared_changes,
    cleared_posts,
    opened_posts,
    opener_keys,
    reopened_changes,
    returned_posts,
    status_facts,
)
from bot.alerts.health.records import CLEARING, OPEN, PENDING, Track
from bot.alerts.policy import HealthHold
from bot.clock import Clock
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import PipecatError
from bot.pipecat.models import Agent
from bot.store import LeaseLost
from bot.store.records import ConditionClear, ConditionOpen, NewPost, OpenCondition, Watch
from bot.webhooks.decide import is_webhook_condition

logger = logging.getLogger(__name__)

#: A read (one GET and one transaction) holds the agent this long; a crashed reader's expires.
STATUS_READ_LEASE = timedelta(seconds=60)
#: A read is due this early (a share of the interval, capped): replicas' timers drift by their
#: jitter, and a read found "not yet due" by a few seconds would otherwise wait a whole interval.
DUE_SLACK_SHARE = 0.1
MAX_DUE_SLACK = timedelta(seconds=10)
STATUS_CONCURRENCY = 4


#: Called with every agent status read: (agent, status).
StatusListener = Callable[[str, Agent], Awaitable[object]]


class ConditionListener(Protocol):
    async def condition_opened(self, agent: str, finding: health.Finding, opened_at: datetime) -> None: ...

    async def condition_cleared(
        self, agent: str, finding: health.Finding, opened_at: datetime, cleared_at: datetime
    ) -> None: ...


class AgentStatusWatcher:
    def __init__(
        self,
        *,
        store: StatusWatchStore,
        pipecat: PipecatClient,
        clock: Clock,
        owner: str,
        interval_seconds: float,
        hold: HealthHold,
        capacity_hysteresis: int,
        warn_percent: float,
        listeners: Sequence[ConditionListener] = (),
    ) -> None:
        """`hold`: when conditions open, clear and reopen; `capacity_hysteresis`: sessions below
        a capacity line before its level is left (bot/alerts/policy.py HEALTH_HOLD,
        CAPACITY_HYSTERESIS_SESSIONS)."""
        self._store = store
        self._pipecat = pipecat
        self._clock = clock
        self._owner = owner
        self.interval = timedelta(seconds=interval_seconds)
        self._warn_percent = warn_percent
        self._hold = hold
        self._capacity_hysteresis = capacity_hysteresis
        self._listeners = list(listeners)
        #: Told every status read (the explainer dates deployments from it).
        self._status_listeners: list[StatusListener] = []
        self._due_slack = min(self.interval * DUE_SLACK_SHARE, MAX_DUE_SLACK)

    def _next_read_in(self, tracks: dict[str, Track]) -> timedelta:
        """The regular interval, or the hold time when a condition waits for a second sighting:
        a crash loop a deployment webhook read at once is then told a minute later, not an
        interval later."""
        if any(t.state == PENDING for t in tracks.values()):
            return min(self.interval, self._hold.open_after)
        return self.interval

    @property
    def enabled(self) -> bool:
        return self.interval > timedelta(0)

    def add_listener(self, listener: ConditionListener) -> None:
        self._listeners.append(listener)

    def add_status_listener(self, listener: StatusListener) -> None:
        self._status_listeners.append(listener)

    async def read_once(self) -> None:
        """Read every watched agent whose status is due; one agent's failure never stops the others."""
        if not self.enabled:
            return
        watches = await self._store.all_watches()
        mutes = await self._store.active_mutes(self._clock.now())
        limit = asyncio.Semaphore(STATUS_CONCURRENCY)

        async def guarded(agent: str) -> None:
            async with limit:
                try:
                    await self.read_agent(agent, watches[agent], mutes)
                except Exception:  # broad: one agent's failure never stops the others
                    logger.exception("reading the status of %s failed unexpectedly", agent)

        await asyncio.gather(*(guarded(agent) for agent in sorted(watches)))

    async def read_agent(self, agent: str, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]) -> None:
        now = self._clock.now()
        raw = await self._store.claim_status_read(agent, self._owner, now, STATUS_READ_LEASE, due_slack=self._due_slack)
        if raw is None:
            return  # not due yet, or another replica is reading it
        try:
            status = await self._pipecat.get_agent(agent)
        except PipecatError as error:
            logger.warning("reading the status of %s failed: %s", agent, error)
            await self._store.status_read_failed(agent, self._owner, now, now + self.interval, str(error))
            return
        for listener in self._status_listeners:
            try:
                await listener(agent, status)
            except Exception:  # broad: a listener's failure must not stop the read
                logger.exception("a status listener failed on %s; the read goes on", agent)
        evaluation = health.evaluate(
            status,
            health.Memory.from_json(raw),
            now,
            warn_percent=self._warn_percent,
            capacity_hysteresis=self._capacity_hysteresis,
        )
        # Webhook alerts (spend limit, suspension) share the table; only their events open and clear them.
        current = {c.key: c for c in await self._store.open_conditions(agent) if not is_webhook_condition(c.key)}
        tracks = _adopt(evaluation.memory.tracks, current)
        findings = evaluation.findings
        silent = {key for key in tracks if key not in findings and health.silent_on(status, key)}
        moved = health_states.step(tracks, findings.keys(), silent, now, self._hold)
        facts = status_facts(status)
        opened = [self._opened(agent, findings[key], moved.tracks[key], watches, mutes) for key in moved.opened]
        opened += [
            self._reopened(agent, findings[key], moved.tracks[key], now, watches, mutes) for key in moved.reopened
        ]
        cleared = [
            ConditionClear(
                key,
                current[key].opened_at,
                tuple(cleared_posts(agent, current[key], now, facts, watches, mutes, returns=tracks[key].returns)),
                openers=opener_keys(key, current[key].opened_at, watches) if current[key].posted else (),
                opener_changes=cleared_changes(now),
            )
            for key in moved.cleared
            if key in current
        ]
        late = self._late_posts(agent, current, moved.cleared, watches, mutes)
        memory = replace(evaluation.memory, tracks=moved.tracks)
        try:
            applied_open, applied_clear = await self._store.record_status_read(
                agent,
                self._owner,
                now=now,
                next_read_at=now + self._next_read_in(moved.tracks),
                memory=memory.to_json(),
                opened=opened,
                cleared=cleared,
                late_posts=late,
            )
        except LeaseLost:
            logger.warning("lost the status read of %s; another replica records it", agent)
            return
        for key in applied_open:
            again = " again" if key in moved.reopened else ""
            logger.info("%s: health condition opened%s: %s", agent, again, findings[key].title)
        for key in applied_clear:
            logger.info("%s: health condition cleared: %s", agent, current[key].finding.get("title"))
        opened_at = {key: moved.tracks[key].opened_at or now for key in applied_open}
        await self._notify(agent, findings, opened_at, [current[k] for k in applied_clear], now)

    @staticmethod
    def _opened(
        agent: str,
        finding: health.Finding,
        track: Track,
        watches: Sequence[Watch],
        mutes: Mapping[tuple[str, str], object],
    ) -> ConditionOpen:
        opened_at = track.opened_at or track.first_seen
        assert opened_at is not None, "an open track has its opening time"
        posts = opened_posts(agent, finding, opened_at, watches, mutes)
        return ConditionOpen(finding.key, finding.to_json(), not finding.quiet, tuple(posts), opened_at=opened_at)

    @staticmethod
    def _reopened(
        agent: str,
        finding: health.Finding,
        track: Track,
        now: datetime,
        watches: Sequence[Watch],
        mutes: Mapping[tuple[str, str], object],
    ) -> ConditionOpen:
        """The occurrence's openers come back (those a channel has get re-rendered open, and a
        reply in their thread; a channel that never had one gets it now)."""
        opened_at = track.opened_at
        assert opened_at is not None, "a reopened track has its opening time"
        return ConditionOpen(
            finding.key,
            finding.to_json(),
            not finding.quiet,
            tuple(opened_posts(agent, finding, opened_at, watches, mutes)),
            opened_at=opened_at,
            reopened_at=now,
            opener_changes=reopened_changes(finding, now, track.returns),
            replies=returned_posts(agent, finding, opened_at, now, track.returns, watches, mutes),
        )

    @staticmethod
    def _late_posts(
        agent: str,
        current: Mapping[str, OpenCondition],
        cleared: Sequence[str],
        watches: Sequence[Watch],
        mutes: Mapping[tuple[str, str], object],
    ) -> list[NewPost]:
        """A channel that started watching while a condition was open hears about it too (once:
        the dedup key is the watch's, with the moment the condition opened)."""
        posts: list[NewPost] = []
        for key, condition in current.items():
            newer = [w for w in watches if w.created_at > condition.opened_at]
            if key in cleared or not condition.posted or not newer:
                continue
            finding = health.Finding.from_json(condition.finding)
            posts += opened_posts(agent, finding, condition.opened_at, newer, mutes)
        return posts

    async def _notify(
        self,
        agent: str,
        findings: Mapping[str, health.Finding],
        opened: Mapping[str, datetime],
        cleared: Sequence[OpenCondition],
        now: datetime,
    ) -> None:
        for listener in self._listeners:
            try:
                for key, opened_at in opened.items():
                    await listener.condition_opened(agent, findings[key], opened_at)
                for condition in cleared:
                    finding = health.Finding.from_json(condition.finding)
                    await listener.condition_cleared(agent, finding, condition.opened_at, now)
            except Exception:  # broad: a listener's failure must not stop the read
                logger.exception("a health condition listener failed for %s", agent)

    async def open_findings(self, agent: str) -> list[tuple[health.Finding, datetime]]:
        """The agent's open conditions and when each opened (the incident parent's health line,
        `/session agent`)."""
        return [(health.Finding.from_json(c.finding), c.opened_at) for c in await self._store.open_conditions(agent)]

    async def health_line(self, agent: str) -> str | None:
        """ "Agent health: new revision 7c1e2f90 crash-looping", or None while the agent is healthy."""
        return health.health_line(f for f, _ in await self.open_findings(agent))

    async def health_summary(self, agent: str) -> str | None:
        """The same without its label, for a slot that has its own ("new revision 7c1e2f90
        crash-looping"); matches the incident parent's HealthSource (agent → text or None)."""
        return health.health_summary(f for f, _ in await self.open_findings(agent))


def _adopt(tracks: Mapping[str, Track], current: Mapping[str, OpenCondition]) -> dict[str, Track]:
    """The tracks, with every open condition row among them as open: a row stored before tracks
    were kept (or a track lost) is alerted, so it must go through clearing like any other."""
    adopted = dict(tracks)
    for key, condition in current.items():
        track = adopted.get(key)
        if track is None or track.state not in (OPEN, CLEARING):
            adopted[key] = Track(OPEN, first_seen=condition.opened_at, sightings=1, opened_at=condition.opened_at)
    return adopted
