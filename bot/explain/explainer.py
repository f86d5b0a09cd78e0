"""The explain stage: read failed sessions' logs (bounded), record causes, fingerprints and the
deployments they ran on, and the side-by-side failure rates when a deployment is suspect.

Cost rules (issue 12): logs are read only for failures; at most LOG_READS_PER_AGENT_PER_CYCLE
per agent per cycle (the rest of a burst is marked skipped: roll-up members are not read one
by one); each session is read once (the cache); the poll waits at most CAUSE_WAIT_SECONDS for
them, and a read still running then is dropped and left pending, read again on a later cycle,
and its reply edited once the cause is in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.explain.cause import first_error, quote_lines
from bot.explain.deploys import (
    RATES_WINDOW,
    failing_deployments,
    previous_of,
    rates_wanted,
    replaced_pair,
    went_live_times,
)
from bot.explain.fingerprint import fingerprint
from bot.explain.ports import ExplainerStore
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import PipecatError
from bot.pipecat.models import Agent, Session
from bot.store.records import (
    CAUSE_FOUND,
    CAUSE_NONE,
    CAUSE_PENDING,
    CAUSE_SKIPPED,
    DeploymentSeen,
    DeployRate,
    DeployRates,
    NewCause,
)

logger = logging.getLogger(__name__)

#: Log reads per agent per poll cycle, new failures and late ones together.
LOG_READS_PER_AGENT_PER_CYCLE = 5
#: Log reads in flight at once for one agent.
LOG_READ_CONCURRENCY = 4
#: The longest a poll (and so a post) waits for causes; slower reads are finished later.
CAUSE_WAIT_SECONDS = 5.0
#: The longest a lookup of a failed session (summary, Details, Refresh) waits for its one log
#: read when the cause is not cached yet; slower, the summary says the cause is not read.
LOOKUP_CAUSE_WAIT_SECONDS = 3.0
#: A pending cause is given up (left "not read") after this many failed or slow reads.
MAX_CAUSE_ATTEMPTS = 3
#: How often the agents with causes still to read are looked up again in the database.
PENDING_RESCAN = timedelta(minutes=5)
#: Side-by-side deployment rates are recomputed at most this often per agent while it fails.
DEPLOY_RATES_REFRESH = timedelta(minutes=5)
#: A session's cached cause is kept this long (fingerprints, their counts and links stay): well
#: beyond /session causes' longest window (7d).
CAUSE_RETENTION = timedelta(days=30)
#: Sessions read per deployment for its rate (the list has no status filter: it is walked).
RATE_SESSION_CAP = 500


def failed_at(session: Session) -> datetime:
    """When a failed session failed: its end (an ended session always says when it ended)."""
    when = session.ended_at or session.created_at
    if when is None:
        raise ValueError(f"session {session.session_id} is still running: it has not failed")
    return when


class Explainer:
    def __init__(
        self,
        *,
        store: ExplainerStore,
        pipecat: PipecatClient,
        clock: Clock,
        reads_per_cycle: int,
        wait_seconds: float,
        read_status: bool,
    ) -> None:
        """`read_status`: when a failing deployment is undated, read the agent's status for it
        (off when the agent-status job reads statuses anyway and tells `note_status`)."""
        self._store = store
        self._pipecat = pipecat
        self._clock = clock
        self._reads = reads_per_cycle
        self._wait = wait_seconds
        #: Deployments already recorded, so an idle poll writes nothing.
        self._known: dict[str, set[str]] = {}
        self._rates_at: dict[str, datetime] = {}
        self._status_at: dict[str, datetime] = {}
        self._read_status = read_status
        #: Go-live times already recorded, so a status read that says nothing new writes nothing.
        self._dated: dict[tuple[str, str], datetime] = {}
        #: What each deployment replaced, already recorded (same reason).
        self._replaced: dict[tuple[str, str], str] = {}
        #: Agents with causes still to read, kept in memory (no query per idle poll) and reloaded
        #: every PENDING_RESCAN (another replica, or one that died, may have left some).
        self._pending: set[str] | None = None
        self._pending_loaded_at: datetime | None = None

    async def has_pending(self, agent: str) -> bool:
        now = self._clock.now()
        if self._pending is None or self._pending_loaded_at is None or now - self._pending_loaded_at >= PENDING_RESCAN:
            self._pending = set(await self._store.agents_with_pending_causes(MAX_CAUSE_ATTEMPTS))
            self._pending_loaded_at = now
        return agent in self._pending

    # -- deployments ---------------------------------------------------------------------------------

    async def saw(self, agent: str, sessions: Iterable[Session]) -> None:
        """Note the deployments of listed sessions the first time each is seen."""
        known = self._known.get(agent)
        if known is None:
            known = self._known[agent] = {d.deployment_id for d in await self._store.deployments_of(agent)}
        first: dict[str, datetime] = {}
        for session in sessions:
            dep = session.deployment_id
            seen_at = session.created_at or session.ended_at
            if dep and dep not in known and seen_at is not None:
                first[dep] = min(first.get(dep, seen_at), seen_at)
        if first:
            await self._store.note_deployments(agent, first)
            known.update(first)

    # -- causes --------------------------------------------------------------------------------------

    async def explain(self, agent: str, failures: Sequence[Session]) -> None:
        """Causes for this cycle's new failures, then for earlier ones still pending (the part a
        post waits for: at most `wait_seconds`)."""
        fresh = [s for s in failures if not s.is_active]
        if fresh:
            cached = await self._store.session_causes(agent, [s.session_id for s in fresh])
            fresh = [s for s in fresh if s.session_id.lower() not in cached]
        to_read, beyond = fresh[: self._reads], fresh[self._reads :]
        room = self._reads - len(to_read)
        pending = await self._store.pending_causes(agent, MAX_CAUSE_ATTEMPTS, room) if room > 0 else []
        logs = await self._read_all(agent, [s.session_id.lower() for s in to_read] + [p.session_id for p in pending])
        entries = [_blank(s, CAUSE_SKIPPED) for s in beyond]
        for session in to_read:
            texts = logs.get(session.session_id.lower())
            blank = _blank(session, CAUSE_PENDING)
            entries.append(blank if texts is None else _from_log(agent, blank, texts))
        resolved: list[str] = []
        failed_reads: list[str] = []
        for item in pending:
            texts = logs.get(item.session_id)
            if texts is None:
                failed_reads.append(item.session_id)
                continue
            blank = NewCause(item.session_id, CAUSE_PENDING, item.failed_at, item.deployment_id)
            entries.append(_from_log(agent, blank, texts))
            resolved.append(item.session_id)
        now = self._clock.now()
        if entries:
            await self._store.record_causes(agent, entries, now)
        for item in pending:
            if item.session_id in failed_reads:
                await self._store.note_failed_read(agent, item.session_id)
                if item.attempts + 1 >= MAX_CAUSE_ATTEMPTS:
                    resolved.append(item.session_id)  # given up: its reply says so
        self._note_pending(agent, entries, room <= 0 or len(pending) == room, bool(failed_reads))
        if resolved:
            await self._store.queue_reply_edits(agent, resolved, now)
            logger.info("%s: %d late cause(s) in; their replies will be edited", agent, len(resolved))

    def _note_pending(self, agent: str, entries: Sequence[NewCause], maybe_more: bool, failed: bool) -> None:
        if self._pending is None:
            self._pending = set()
        if maybe_more or failed or any(e.state == CAUSE_PENDING for e in entries):
            self._pending.add(agent)
        else:
            self._pending.discard(agent)

    async def _read_all(self, agent: str, ids: Sequence[str]) -> dict[str, list[str] | None]:
        """Read each log with a shared deadline; a read not done by then is cancelled (None)."""
        if not ids:
            return {}
        limit = asyncio.Semaphore(LOG_READ_CONCURRENCY)
        results: dict[str, list[str] | None] = dict.fromkeys(ids)

        async def read(sid: str) -> None:
            async with limit:
                try:
                    log = await self._pipecat.session_log(agent, sid)
                except PipecatError as error:
                    logger.warning("cannot read the log of %s session %s: %s", agent, sid, error)
                    return
                except Exception:  # broad: one log's failure must not cost the others theirs
                    logger.exception("reading the log of %s session %s failed unexpectedly", agent, sid)
                    return
                results[sid] = log.texts

        tasks = [asyncio.ensure_future(read(sid)) for sid in ids]
        _, slow = await asyncio.wait(tasks, timeout=self._wait)
        for task in slow:
            task.cancel()
        if slow:
            await asyncio.gather(*slow, return_exceptions=True)
            logger.info("%s: %d log read(s) slower than %.0fs; posting without them", agent, len(slow), self._wait)
        return results

    # -- deployment rates ------------------------------------------------------------------------------

    async def compare_deployments(self, agent: str, failures: Sequence[Session], statuses: frozenset[str]) -> None:
        """Side-by-side failure rates of a suspect deployment and the one before it (list calls:
        run after the failures are recorded, so no post waits for them)."""
        failures = [s for s in failures if not s.is_active]
        if not failures:
            return
        now = self._clock.now()
        last = self._rates_at.get(agent)
        if last is not None and now - last < DEPLOY_RATES_REFRESH:
            return
        known = await self._store.deployments_of(agent)
        undated = any(d.went_live_at is None for d in known if d.deployment_id in {s.deployment_id for s in failures})
        asked = self._status_at.get(agent)
        if undated and self._read_status and (asked is None or now - asked >= DEPLOY_RATES_REFRESH):
            self._status_at[agent] = now
            known = await self._live_times(agent, known)
        failing = failing_deployments([s.deployment_id for s in failures], known)
        started = min(failed_at(s) for s in failures)
        pointed = rates_wanted(failing, started, known)
        previous = previous_of(pointed.deployment_id, known) if pointed else None
        if pointed is None or previous is None:
            return
        self._rates_at[agent] = now
        try:
            rates = [await self._rate(agent, d, now, statuses) for d in (pointed.deployment_id, previous)]
        except PipecatError as error:
            logger.warning("cannot compare deployment failure rates of %s: %s", agent, error)
            return
        window = int(RATES_WINDOW.total_seconds())
        await self._store.save_deploy_rates(agent, DeployRates(now, window, tuple(rates)))

    async def _live_times(self, agent: str, known: list[DeploymentSeen]) -> list[DeploymentSeen]:
        """When the agent's status has not told yet when its failing deployment went live, ask it
        once (a failure path, at most every DEPLOY_RATES_REFRESH per agent like the rates)."""
        try:
            status = await self._pipecat.get_agent(agent)
        except PipecatError as error:
            logger.info("no agent status for %s (%s): deployments dated by first sighting", agent, error)
            return known
        return await self._store.deployments_of(agent) if await self.note_status(agent, status) else known

    async def note_status(self, agent: str, status: Agent) -> bool:
        """Record when the deployments an agent status names went live, and which deployment the
        current one replaced; True if anything changed."""
        changed = False
        raw = status.model_dump(mode="json", by_alias=True)
        for deployment_id, at in went_live_times(raw).items():
            if self._dated.get((agent, deployment_id)) == at:
                continue
            changed |= await self._store.set_deployment_live(agent, deployment_id, at)
            self._dated[(agent, deployment_id)] = at
        pair = replaced_pair(raw)
        if pair is not None and self._replaced.get((agent, pair[0])) != pair[1]:
            changed |= await self._store.set_deployment_replaced(agent, pair[0], pair[1], self._clock.now())
            self._replaced[(agent, pair[0])] = pair[1]
        return changed

    async def _rate(self, agent: str, deployment_id: str, now: datetime, statuses: frozenset[str]) -> DeployRate:
        start = int((now - RATES_WINDOW).timestamp())
        sessions = await self._pipecat.deployment_sessions(agent, deployment_id, start_time=start, cap=RATE_SESSION_CAP)
        ended = [s for s in sessions if not s.is_active]
        failed = sum(1 for s in ended if s.matches(statuses))
        return DeployRate(deployment_id, len(ended), failed)


def cause_entry(agent: str, session: Session, texts: list[str]) -> NewCause:
    """What a failed session's read log says, ready for the cause cache."""
    return _from_log(agent, _blank(session, CAUSE_PENDING), texts)


def _blank(session: Session, state: str) -> NewCause:
    return NewCause(session.session_id.lower(), state, failed_at(session), session.deployment_id)


def _from_log(agent: str, blank: NewCause, texts: list[str]) -> NewCause:
    """What a read log says: its first error (found) or nothing (none)."""
    cause = first_error(texts)
    if cause is None:
        return NewCause(blank.session_id, CAUSE_NONE, blank.failed_at, blank.deployment_id)
    fp, label = fingerprint(agent, cause.where, cause.headline)
    return NewCause(
        blank.session_id, CAUSE_FOUND, blank.failed_at, blank.deployment_id, fp, label, tuple(quote_lines(cause))
    )
