"""Polling: find sessions of watched agents that ended since the last poll.

Per agent, under its poll lease:
1. Only while the stored active set is not empty: `status=active` (all pages): every running
   session. One that left the set has ended.
2. The window, `startTime=<watermark − overlap>`: `status=all` when nothing was running (an idle
   agent's one call), else `status=ended`, read newest first only until it is below the watermark
   minus LATE_LISTING_ALLOWANCE and has found every session that left the active set (one it does
   not find gets its detail fetched).
3. Ended sessions nobody recorded yet are matched against the agent's watches; the ones that alert
   get their detail (the list has no metrics), then one transaction reads the agent's watches
   again, records the sessions as seen, enqueues their alerts, advances the watermark and
   replaces the active set (bot/alerts/poll/plan.py decides what, per session, guarded).
A poll that cannot reach Pipecat leaves the watermark where it was, so nothing is skipped; after
OUTAGE_NOTICE_AFTER_FAILURES failures in a row each watching channel gets one notice. A poll that
fails on anything else (what Pipecat sent, a bug) is caught here, logged with its traceback and
counted; after DATA_NOTICE_AFTER_FAILURES the channels are told the polls fail, not that Pipecat
is down. A walk cut at MAX_PAGES holds the watermark and is continued on the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.alerts import policy
from bot.alerts.incidents import decide
from bot.alerts.poll.notices import outage_posts, poll_failed_posts
from bot.alerts.poll.plan import Observation, Planner, describe, idle_poll, window_read_enough
from bot.alerts.poll.ports import PollerStore
from bot.clock import Clock
from bot.explain.explainer import Explainer
from bot.ops.events import PipelineEvents
from bot.pipecat.client import PipecatClient, SessionStatus, SessionWalk
from bot.pipecat.errors import BadRequest, InvalidInput, NotFound, PipecatError, UnexpectedResponse
from bot.pipecat.models import Session
from bot.store import LeaseLost
from bot.store.polling import IdlePoll
from bot.store.records import FAILURE_DATA, FAILURE_REACHABILITY, ItemFailure, PollState, Watch

logger = logging.getLogger(__name__)


class Poller:
    def __init__(
        self,
        *,
        store: PollerStore,
        pipecat: PipecatClient,
        clock: Clock,
        owner: str,
        poll_interval: float,
        explainer: Explainer | None,
        events: PipelineEvents,
        count_rates: bool,
    ) -> None:
        """`count_rates`: count the listed and ended sessions for the rate detectors in each
        recording transaction (bot/store/rates.py `count_sessions`)."""
        self._store = store
        self._count_rates = count_rates
        self._events = events
        self._explainer = explainer
        self._pipecat = pipecat
        self._clock = clock
        self._owner = owner
        self._overlap = policy.poll_overlap(poll_interval)
        self._interval = timedelta(seconds=poll_interval)
        #: The agents the last cycle polled here, completely and successfully: their counts are
        #: whole up to now, so their rates are evaluated after it (a failed or cut poll would
        #: look like calls that stopped).
        self.polled: list[str] = []

    async def poll_once(self) -> None:
        """Poll every watched agent, a few at a time; one agent's failure never stops the others.

        The cycle's database work is batched: one transaction claims every agent's lease, one read
        fetches their failing sessions, and the polls that saw nothing end are recorded together
        (IDLE_FLUSH at a time). Only an agent with something to record gets a transaction of its
        own. The watches read here only pick the agents and which sessions need a detail fetch;
        what is recorded is decided from the watches read again inside that transaction."""
        self.polled = []
        watches = await self._store.all_watches()
        agents = sorted(watches)
        if not agents:
            return
        claimed_at = self._clock.now()
        states = await self._store.claim_polls(
            agents, self._owner, claimed_at, policy.POLL_LEASE, interval=self._interval
        )
        for agent in sorted(await self._store.unpolled([a for a in agents if a not in states])):
            await self._seed_quietly(agent)  # a watch whose seeding failed: start now
        known = await self._store.item_failures_of(list(states))
        idle = _IdleBatch(self._store, self._owner, self._clock, self._events)
        limit = asyncio.Semaphore(policy.POLL_CONCURRENCY)

        async def guarded(agent: str) -> None:
            async with limit:
                try:
                    state = states[agent]
                    if self._clock.now() - claimed_at > policy.POLL_LEASE / 2:  # a long cycle: renew
                        renewed = await self._store.claim_poll(agent, self._owner, self._clock.now(), policy.POLL_LEASE)
                        if renewed is None:
                            return  # it ran out and another replica has it now
                        state = renewed
                    await self.poll_agent(agent, watches[agent], state, known.get(agent, {}), idle)
                except Exception:  # broad: one agent's failure never stops the others
                    logger.exception("polling %s failed unexpectedly", agent)

        await asyncio.gather(*(guarded(agent) for agent in agents if agent in states))
        await idle.flush()
        self.polled.sort()

    async def _seed_quietly(self, agent: str) -> None:
        try:
            await self.seed(agent)
        except Exception:  # broad: one agent's failure never stops the others
            logger.exception("seeding the polls of %s failed; the next cycle tries again", agent)

    async def seed(self, agent: str) -> None:
        """Start polling from now: the current active sessions are the active set, no back-fill."""
        ids = await self._running_ids(agent)
        if await self._store.seed_poll_state(agent, self._clock.now(), sorted(ids)):
            logger.info("started polling %s with %d active session(s)", agent, len(ids))

    async def _running_ids(self, agent: str) -> set[str]:
        """The active list, walked until two walks agree: offset paging skips a session when one
        ahead of it ends between two page requests. Every id any walk saw is kept (one that ended
        meanwhile is found gone by the first poll, which then reads its detail)."""
        seen: set[str] = set()
        previous: set[str] | None = None
        for _ in range(policy.SEED_MAX_WALKS):
            walk = await self._pipecat.walk_sessions(agent, status="active")
            ids = {s.session_id.lower() for s in walk.sessions if s.is_active}
            seen |= ids
            if ids == previous and walk.complete:
                break
            previous = ids
        return seen

    async def poll_agent(
        self,
        agent: str,
        watches: Sequence[Watch],
        state: PollState,
        known: Mapping[str, ItemFailure],
        idle: _IdleBatch,
    ) -> None:
        """One agent's poll, under the lease its cycle claimed (`state`): observe, explain, record
        (into `idle` when there is nothing but the watermark to record); the lease is released by
        the recording, or here."""
        self._events.poll_started(agent)
        now = self._clock.now()
        handed_over = False
        try:
            try:
                seen = await self._observe(agent, state, watches)
            except Exception as error:  # noqa: BLE001 - counted and logged by _failed (traceback for a bug)
                # The agent boundary: nothing Pipecat sends (or a bug) escapes uncounted.
                await self._failed(agent, state, watches, error, now)
                return
            failures = await self._explain(agent, watches, seen)
            whole = seen.complete and seen.backfill_until is None and state.backfill_until is None
            quiet = idle_poll(agent, state, seen, now, count_rates=self._count_rates)
            if quiet is not None:
                await idle.add(quiet)  # recorded with others; the batch releases the lease
                handed_over = True
                self.polled.append(agent)
                return
            planner = Planner(agent, state, seen, known, now, count_rates=self._count_rates)
            enqueued = await self._store.record_poll(agent, self._owner, planner=planner, now=now, release_lease=True)
            handed_over = True
            self._events.polls_recorded(1, enqueued)
            if whole:
                self.polled.append(agent)
            await self._compare_deployments(agent, watches, failures)
            if enqueued:
                logger.info("%s: %d ended session(s), %d post(s) enqueued", agent, len(seen.ended), enqueued)
        except LeaseLost:
            logger.warning("lost the poll lease of %s; another replica records it", agent)
        finally:
            if not handed_over:
                await self._store.release_poll_lease(agent, self._owner)

    async def _explain(self, agent: str, watches: Sequence[Watch], seen: Observation) -> list[Session]:
        """Causes of this poll's failures before they are enqueued (bounded in time by the
        explainer): a reply posts with its cause when the log answers quickly. Never fails the poll."""
        if self._explainer is None:
            return []
        failures = [s for s in seen.ended if decide.alerting_watches(s, watches)]
        try:
            await self._explainer.saw(agent, seen.ended)
            if failures or await self._explainer.has_pending(agent):
                await self._explainer.explain(agent, failures)
        except Exception:  # broad: the causes are extra; the poll alerts without them
            logger.exception("explaining the failures of %s failed; alerting without causes", agent)
        return failures

    async def _compare_deployments(self, agent: str, watches: Sequence[Watch], failures: Sequence[Session]) -> None:
        if self._explainer is None or not failures:
            return
        try:
            statuses = frozenset(status for w in watches for status in w.statuses)
            await self._explainer.compare_deployments(agent, failures, statuses)
        except Exception:  # broad: the rates are extra; the poll goes on without them
            logger.exception("comparing the deployments of %s failed; the incident shows no rates", agent)

    async def _observe(self, agent: str, state: PollState, watches: Sequence[Watch]) -> Observation:
        start = state.watermark - self._overlap
        gap = state.backfill_until  # a cut walk left sessions created up to here unread
        # While a gap is read, the walk from the top reads only what is new since the last poll;
        # the gap drains below it (the list is newest first: only an end time reaches the rest).
        top_from = start if gap is None or state.backfill_from is None else state.backfill_from - self._overlap
        # While sessions run, the active walk lists every running one, so the window walks need
        # only the ended ones: a busy agent's running sessions are read once a cycle, not twice.
        # An idle agent keeps its one call a cycle (the window, every status, no active walk).
        # The active walk goes first: a session that ends while it runs is then either read as
        # running (and found ended next poll) or already in the ended list the window walk reads.
        running = await self._pipecat.walk_sessions(agent, status="active") if state.active_set else None
        window: SessionStatus = "all" if running is None else "ended"
        enough = None
        if running is not None and running.complete:
            gone = set(state.active_set) - {s.session_id.lower() for s in running.sessions if s.is_active}
            enough = window_read_enough(state.watermark - policy.LATE_LISTING_ALLOWANCE, gone)
        top = await self._pipecat.walk_sessions(
            agent, status=window, start_time=_seconds(max(start, top_from)), enough=enough
        )
        walks = [top]
        if gap is not None:
            rest = await self._pipecat.walk_sessions(
                agent, status=window, start_time=_seconds(start), end_time=_seconds(gap)
            )
            walks.append(rest)
        if not top.complete:
            until = _oldest(top, fallback=gap or top_from)  # a new gap below what it read (one gap)
        elif gap is not None and not walks[1].complete:
            until = _oldest(walks[1], fallback=gap)
        else:
            until = None
        seen = Observation(complete=until is None, backfill_until=until)
        listed = {s.session_id.lower(): s for w in walks for s in w.sessions}
        seen.active = {sid for sid, s in listed.items() if s.is_active}
        active_complete = True
        if running is not None:
            for session in running.sessions:
                if session.is_active:
                    sid = session.session_id.lower()
                    seen.active.add(sid)
                    listed.setdefault(sid, session)
            active_complete = running.complete
        seen.listed = list(listed.values())
        ended = {sid: s for sid, s in listed.items() if not s.is_active}
        missing = set(state.active_set) - seen.active - set(ended)
        if not active_complete:
            seen.active |= missing  # not read is not gone: keep them until a whole walk says so
            missing = set()
        fresh = await self._store.unseen(agent, sorted(set(ended) | missing))
        details = await self._details(agent, sorted(missing & fresh), required=True)
        for sid in sorted(missing & fresh):
            detail = details.get(sid)
            if detail is None:
                seen.skipped.append(sid)
            elif detail.is_active:
                seen.active.add(sid)  # the active list and the detail disagree: look again next poll
            else:
                ended[sid] = detail
        alerting = []
        for sid in sorted(set(ended) & fresh):
            try:
                if decide.alerting_watches(ended[sid], watches):
                    alerting.append(sid)
            except Exception as error:  # broad: one session's failure never holds the others back
                logger.exception("session %s of %s could not be matched against its watches", sid, agent)
                failing = ended.pop(sid)
                seen.failed[sid] = (error, failing.created_at or failing.ended_at or self._clock.now())
        for sid, detail in (await self._details(agent, self._sample(agent, alerting, details, ended))).items():
            if not detail.is_active:
                ended[sid] = detail  # the detail adds metrics; the list item is the fallback
        seen.ended = [ended[sid] for sid in sorted(set(ended) & fresh)]
        return seen

    def _sample(
        self, agent: str, alerting: Sequence[str], fetched: Mapping[str, Session], ended: Mapping[str, Session]
    ) -> list[str]:
        """The alerting sessions whose detail is fetched: at most DETAIL_FETCHES_PER_AGENT_PER_CYCLE,
        the most recently ended first; the others alert with what the list said."""
        wanted = [sid for sid in alerting if sid not in fetched]
        if len(wanted) <= policy.DETAIL_FETCHES_PER_AGENT_PER_CYCLE:
            return wanted
        newest = sorted(wanted, key=lambda sid: (_ended_at(ended[sid]), sid), reverse=True)
        logger.info(
            "%s: %d failures this poll; metrics fetched for the %d newest, the rest alert with the list's data",
            agent,
            len(wanted),
            policy.DETAIL_FETCHES_PER_AGENT_PER_CYCLE,
        )
        return sorted(newest[: policy.DETAIL_FETCHES_PER_AGENT_PER_CYCLE])

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
                    if required and error.garbled:
                        raise  # a truncated answer is an outage, not a verdict on the session: retry
                    logger.warning("skipping session %s of %s: %s", sid, agent, error)
                except (NotFound, InvalidInput, BadRequest) as error:
                    # It will never be fetched (gone, or an id the API cannot take): not an outage.
                    logger.warning("skipping session %s of %s: %s", sid, agent, error)
                except PipecatError as error:
                    if required:
                        raise
                    logger.warning(
                        "no detail for session %s of %s (%s); alerting with the list data", sid, agent, error
                    )

        await asyncio.gather(*(fetch(sid) for sid in ids))
        return found

    async def _failed(
        self, agent: str, state: PollState, watches: Sequence[Watch], error: Exception, now: datetime
    ) -> None:
        kind = _kind(error)
        if kind == FAILURE_DATA and not isinstance(error, PipecatError):
            logger.error("polling %s failed on unexpected data", agent, exc_info=error)
        problem = describe(error) if kind == FAILURE_DATA else f"{type(error).__name__}: {error}"
        self._events.poll_failed(agent)
        updated = await self._store.record_poll_failure(agent, self._owner, problem, now, kind)
        failures = updated.failures if updated else state.failures + 1
        logger.warning("polling %s failed (%d in a row): %s", agent, failures, problem)
        if updated is None or updated.outage_since is None:
            return
        if kind == FAILURE_REACHABILITY and decide.outage_notice_due(failures, updated.outage_notified):
            assert isinstance(error, PipecatError)
            mutes = await self._store.active_mutes(now)
            posts = outage_posts(agent, updated.outage_since, error.user_message, watches, mutes)
            await self._store.enqueue_outage_notices(agent, posts, now)
        elif kind == FAILURE_DATA and decide.outage_notice_due(
            failures, updated.outage_notified, policy.DATA_NOTICE_AFTER_FAILURES
        ):
            mutes = await self._store.active_mutes(now)
            posts = poll_failed_posts(agent, updated.outage_since, failures, problem, watches, mutes)
            await self._store.enqueue_outage_notices(agent, posts, now)


class _IdleBatch:
    """Idle polls waiting to be recorded together: flushed every IDLE_FLUSH polls and at the end
    of the cycle, so a long cycle's early agents do not sit on their leases until it ends."""

    def __init__(self, store: PollerStore, owner: str, clock: Clock, events: PipelineEvents) -> None:
        self._store, self._owner, self._clock, self._events = store, owner, clock, events
        self._polls: list[IdlePoll] = []

    async def add(self, poll: IdlePoll) -> None:
        self._polls.append(poll)
        if len(self._polls) >= policy.IDLE_FLUSH:
            await self.flush()

    async def flush(self) -> None:
        polls, self._polls = self._polls, []
        if not polls:
            return
        try:
            recorded = await self._store.record_idle_polls(self._owner, polls, self._clock.now())
        except Exception:  # broad: nothing is lost (see below)
            # Nothing is lost: the watermarks stay, the leases expire, the next cycle reads again.
            logger.exception("recording %d idle polls failed; the next cycle reads them again", len(polls))
            return
        self._events.polls_recorded(recorded, 0)


def _kind(error: Exception) -> str:
    """Reachability: Pipecat did not answer usefully right now (down, 5xx, rate limit, a garbled
    body, a refused key). Data: it answered, and what it said (or our handling of it) failed."""
    if isinstance(error, UnexpectedResponse):
        return FAILURE_REACHABILITY if error.garbled else FAILURE_DATA
    if isinstance(error, InvalidInput | BadRequest) or not isinstance(error, PipecatError):
        return FAILURE_DATA
    return FAILURE_REACHABILITY


def _oldest(walk: SessionWalk, *, fallback: datetime) -> datetime:
    """Where to continue a cut walk: at the oldest session it read (inclusive, dedup absorbs it)."""
    return min((s.created_at for s in walk.sessions if s.created_at is not None), default=fallback)


def _seconds(value: datetime) -> int:
    return int(value.timestamp())


__all__ = ["ItemFailure", "Observation", "Poller"]


def _ended_at(session: Session) -> datetime:
    """When a listed session ended (or, lacking that, was created): for picking the newest."""
    return session.ended_at or session.created_at or datetime.min.replace(tzinfo=UTC)
