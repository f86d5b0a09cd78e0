"""Polling: find sessions of watched agents that ended since the last poll (design.md §4).

Per agent, under its poll lease:
1. `status=all&startTime=<watermark − overlap>` (all pages): sessions created since the last poll.
2. Only while the stored active set is not empty: `status=active` (all pages); a session that left
   the set has ended, so its detail is fetched.
3. Ended sessions nobody recorded yet are matched against the agent's watches; the ones that alert
   get their detail (the list has no metrics), then one transaction records them as seen, enqueues
   their alerts, advances the watermark and replaces the active set.
A failed poll leaves the watermark where it was, so nothing is skipped; after
OUTAGE_NOTICE_AFTER_FAILURES failures in a row each watching channel gets one notice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.alerts import decide, policy
from bot.alerts.notices import outage_posts, recovery_posts
from bot.alerts.payloads import session_payload
from bot.clock import Clock
from bot.explain.explainer import Explainer
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import NotFound, PipecatError, UnexpectedResponse
from bot.pipecat.models import Session
from bot.store import LeaseLost, Store
from bot.store.records import DEAD, KIND_ALERT, MUTED, PENDING, EndedSession, NewPost, PollState, Watch

logger = logging.getLogger(__name__)


@dataclass
class Observation:
    """What one poll saw: the new active set and the ended sessions not recorded before."""

    active: set[str] = field(default_factory=set)
    ended: list[Session] = field(default_factory=list)
    #: Ended sessions to record as seen without alerting (vanished or malformed ones).
    skipped: list[str] = field(default_factory=list)


class Poller:
    def __init__(
        self,
        *,
        store: Store,
        pipecat: PipecatClient,
        clock: Clock,
        owner: str,
        poll_interval: float,
        explainer: Explainer | None = None,
    ) -> None:
        self._store = store
        self._explainer = explainer
        self._pipecat = pipecat
        self._clock = clock
        self._owner = owner
        self._overlap = policy.poll_overlap(poll_interval)

    async def poll_once(self) -> None:
        """Poll every watched agent, a few at a time; one agent's failure never stops the others."""
        limit = asyncio.Semaphore(policy.POLL_CONCURRENCY)

        watches = await self._store.all_watches()
        mutes = await self._store.active_mutes(self._clock.now())

        async def guarded(agent: str) -> None:
            async with limit:
                try:
                    await self.poll_agent(agent, watches[agent], mutes)
                except Exception:
                    logger.exception("polling %s failed unexpectedly", agent)

        await asyncio.gather(*(guarded(agent) for agent in sorted(watches)))

    async def seed(self, agent: str) -> None:
        """Start polling from now: the current active sessions are the active set, no back-fill."""
        active = await self._pipecat.all_sessions(agent, status="active")
        ids = [s.session_id.lower() for s in active if s.is_active]
        if await self._store.seed_poll_state(agent, self._clock.now(), ids):
            logger.info("started polling %s with %d active session(s)", agent, len(ids))

    async def poll_agent(self, agent: str, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]) -> None:
        now = self._clock.now()
        state = await self._store.claim_poll(agent, self._owner, now, policy.POLL_LEASE)
        if state is None:
            if await self._store.poll_state(agent) is None:
                await self.seed(agent)  # a watch whose seeding failed: start now
            return  # another replica is polling it
        recorded = False
        try:
            try:
                seen = await self._observe(agent, state, watches)
            except PipecatError as error:
                await self._failed(agent, state, watches, error, now)
                return
            await self._explain(agent, watches, seen)
            await self._record(agent, state, watches, seen, now, mutes)
            recorded = True
        except LeaseLost:
            logger.warning("lost the poll lease of %s; another replica records it", agent)
        finally:
            if not recorded:
                await self._store.release_poll_lease(agent, self._owner)

    async def _explain(self, agent: str, watches: Sequence[Watch], seen: Observation) -> None:
        """Causes of this poll's failures before they are enqueued (bounded in time by the
        explainer): a reply posts with its cause when the log answers quickly. Never fails the poll."""
        if self._explainer is None:
            return
        try:
            await self._explainer.saw(agent, seen.ended)
            failures = [s for s in seen.ended if decide.alerting_watches(s, watches)]
            if failures or await self._explainer.has_pending(agent):
                statuses = frozenset(status for w in watches for status in w.statuses)
                await self._explainer.explain(agent, failures, statuses)
        except Exception:
            logger.exception("explaining the failures of %s failed; alerting without causes", agent)

    async def _observe(self, agent: str, state: PollState, watches: Sequence[Watch]) -> Observation:
        start = int((state.watermark - self._overlap).timestamp())
        listed = {
            s.session_id.lower(): s for s in await self._pipecat.all_sessions(agent, status="all", start_time=start)
        }
        seen = Observation(active={sid for sid, s in listed.items() if s.is_active})
        if state.active_set:
            running = await self._pipecat.all_sessions(agent, status="active")
            seen.active |= {s.session_id.lower() for s in running if s.is_active}
        ended = {sid: s for sid, s in listed.items() if not s.is_active}
        gone = set(state.active_set) - seen.active - set(ended)
        fresh = await self._store.unseen(agent, sorted(set(ended) | gone))
        details = await self._details(agent, sorted(gone & fresh), required=True)
        for sid in sorted(gone & fresh):
            detail = details.get(sid)
            if detail is None:
                seen.skipped.append(sid)
            elif detail.is_active:
                seen.active.add(sid)  # the active list and the detail disagree: look again next poll
            else:
                ended[sid] = detail
        alerting = [sid for sid in sorted(set(ended) & fresh) if decide.alerting_watches(ended[sid], watches)]
        for sid, detail in (await self._details(agent, [s for s in alerting if s not in details])).items():
            if not detail.is_active:
                ended[sid] = detail  # the detail adds metrics; the list item is the fallback
        seen.ended = [ended[sid] for sid in sorted(set(ended) & fresh)]
        return seen

    async def _details(self, agent: str, ids: Sequence[str], *, required: bool = False) -> dict[str, Session]:
        """GET each session. Vanished or malformed ones are logged and left out; with `required`
        (sessions we know nothing else about) an outage error fails the poll."""
        limit = asyncio.Semaphore(policy.DETAIL_CONCURRENCY)
        found: dict[str, Session] = {}

        async def fetch(sid: str) -> None:
            async with limit:
                try:
                    found[sid] = await self._pipecat.get_session(agent, sid)
                except UnexpectedResponse as error:
                    if required and _garbled(error):
                        raise  # a truncated answer is an outage, not a verdict on the session: retry
                    logger.warning("skipping session %s of %s: %s", sid, agent, error)
                except NotFound as error:
                    logger.warning("skipping session %s of %s: %s", sid, agent, error)
                except PipecatError as error:
                    if required:
                        raise
                    logger.warning(
                        "no detail for session %s of %s (%s); alerting with the list data", sid, agent, error
                    )

        await asyncio.gather(*(fetch(sid) for sid in ids))
        return found

    async def _record(
        self,
        agent: str,
        state: PollState,
        watches: Sequence[Watch],
        seen: Observation,
        now: datetime,
        mutes: Mapping[tuple[str, str], object],
    ) -> None:
        ended = [EndedSession(s.session_id.lower(), tuple(_alert_posts(agent, s, watches, mutes))) for s in seen.ended]
        ended += [EndedSession(sid) for sid in seen.skipped]
        recovery = recovery_posts(agent, state, watches, mutes, now) if state.outage_notified else []
        enqueued = await self._store.record_poll(
            agent,
            self._owner,
            watermark=max(now, state.watermark),
            active_set=sorted(seen.active),
            ended=ended,
            recovery_posts=recovery,
            now=now,
            release_lease=True,
        )
        if enqueued:
            logger.info("%s: %d ended session(s), %d post(s) enqueued", agent, len(ended), enqueued)

    async def _failed(
        self, agent: str, state: PollState, watches: Sequence[Watch], error: PipecatError, now: datetime
    ) -> None:
        updated = await self._store.record_poll_failure(agent, self._owner, f"{type(error).__name__}: {error}", now)
        failures = updated.failures if updated else state.failures + 1
        logger.warning("polling %s failed (%d in a row): %s", agent, failures, error)
        if (
            updated is not None
            and updated.outage_since is not None
            and decide.outage_notice_due(failures, updated.outage_notified)
        ):
            mutes = await self._store.active_mutes(now)
            posts = outage_posts(agent, updated.outage_since, error.user_message, watches, mutes)
            await self._store.enqueue_outage_notices(agent, posts, now)


def _garbled(error: UnexpectedResponse) -> bool:
    """The body was not JSON at all (cut off, an HTML error page): the client marks that case with
    the HTTP status, a well-formed answer of the wrong shape has none. The former says nothing about
    the session (poll again later); the latter will not get better (skip the session)."""
    return error.status is not None


def _alert_posts(
    agent: str, session: Session, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]
) -> list[NewPost]:
    posts = []
    for watch in decide.alerting_watches(session, watches):
        state = DEAD if watch.broken_reason else MUTED if (watch.channel_id, agent) in mutes else PENDING
        posts.append(
            NewPost(
                dedup_key=decide.alert_dedup_key(watch.id, session.session_id),
                kind=KIND_ALERT,
                channel_id=watch.channel_id,
                agent=agent,
                payload=session_payload(session),
                subscription_id=watch.id,
                session_id=session.session_id.lower(),
                state=state,
                last_error=f"watch broken: {watch.broken_reason}" if watch.broken_reason else None,
            )
        )
    return posts
