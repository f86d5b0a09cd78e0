"""What one poll records, planned from what it observed and the watches read in its transaction.

No single session can block its agent: building one session's alerts is guarded, a session whose
processing raises is retried on the next polls (it stays in the active set, so it is fetched
again wherever it is in the list), and after ITEM_MAX_ATTEMPTS it is recorded as seen with its
error and its channels are told, so the rest of the agent's sessions never wait for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime

from bot.alerts import policy
from bot.alerts.incidents import decide
from bot.alerts.payloads import session_payload
from bot.alerts.poll.notices import item_failure_posts, recovery_posts
from bot.pipecat.models import Session
from bot.store.polling import IdlePoll, RecordPlan
from bot.store.records import EndedSession, ItemFailure, NewPost, OutboxKind, OutboxState, PollState, Watch

logger = logging.getLogger(__name__)


@dataclass
class Observation:
    """What one poll saw: the new active set and the ended sessions not recorded before."""

    active: set[str] = field(default_factory=set)
    ended: list[Session] = field(default_factory=list)
    #: Ended sessions to record as seen without alerting (vanished or malformed ones).
    skipped: list[str] = field(default_factory=list)
    #: Sessions whose processing raised this poll: id → (error, when the session was created).
    failed: dict[str, tuple[BaseException, datetime]] = field(default_factory=dict)
    #: False when a list walk was cut at MAX_PAGES: the watermark must not move past it.
    complete: bool = True
    #: Where the next poll continues a cut walk (None: nothing left unread).
    backfill_until: datetime | None = None
    #: Every session the list walks returned (rates count each as started, once).
    listed: list[Session] = field(default_factory=list)


def describe(error: BaseException) -> str:
    """One line for logs and notices: the exception's type and the start of its text."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:200]}" if text else type(error).__name__


def storable(posts: Sequence[NewPost]) -> None:
    """Raise (ValueError) if a payload is not strict JSON: NaN or Infinity from the API would
    make the database refuse the whole poll's transaction (PostgreSQL's JSON type does)."""
    for post in posts:
        # The model as given (mode="python"): a JSON dump would turn NaN into null silently.
        json.dumps(post.payload.model_dump(), allow_nan=False, default=str)


def alert_posts(
    agent: str, session: Session, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]
) -> list[NewPost]:
    posts = []
    for watch in decide.alerting_watches(session, watches):
        # A broken watch's alert is held like any other: its channel's next probe posts it.
        state = OutboxState.MUTED if (watch.channel_id, agent) in mutes else OutboxState.PENDING
        posts.append(
            NewPost(
                dedup_key=decide.alert_dedup_key(watch.id, session.session_id),
                kind=OutboxKind.ALERT,
                channel_id=watch.channel_id,
                agent=agent,
                payload=session_payload(session),
                subscription_id=watch.id,
                session_id=session.session_id.lower(),
                state=state,
            )
        )
    storable(posts)
    return posts


def window_read_enough(floor: datetime, gone: Set[str]) -> Callable[[Sequence[Session]], bool]:
    """When a busy agent's window walk (newest first) has read enough: it has reached a session
    created before `floor` and has found every id of `gone` (the sessions that left the active
    set, whose ends it reads). Asked after each page with everything read so far."""
    pending = {sid.lower() for sid in gone}
    checked = 0
    oldest: datetime | None = None

    def enough(read: Sequence[Session]) -> bool:
        nonlocal checked, oldest
        for session in read[checked:]:
            pending.discard(session.session_id.lower())
            created = session.created_at
            if created is not None and (oldest is None or created < oldest):
                oldest = created
        checked = len(read)
        return not pending and oldest is not None and oldest < floor

    return enough


def idle_poll(
    agent: str, state: PollState, seen: Observation, now: datetime, *, count_rates: bool = True
) -> IdlePoll | None:
    """The poll as an IdlePoll when all it has to record is a later watermark and the active set
    (no session ended, nothing skipped or failing, every walk complete, no failure streak or gap
    to end, nothing new to count when `count_rates`); None when it needs the full recording
    transaction (`Planner`)."""
    if seen.ended or seen.skipped or seen.failed or not seen.complete or seen.backfill_until is not None:
        return None
    if count_rates and any(s.is_active and s.session_id.lower() not in state.active_set for s in seen.listed):
        return None  # a session running that no poll recorded yet: rates count it in the full transaction
    if state.backfill_until is not None or state.backfill_from is not None:
        return None  # the gap's end is recorded by the full transaction
    if state.failures or state.outage_since is not None or state.outage_notified or state.last_error is not None:
        return None  # a streak ends (and its channels may hear of the recovery) in the full transaction
    if state.failure_kind is not None:
        return None
    return IdlePoll(agent, max(now, state.watermark), frozenset(seen.active))


@dataclass
class Planner:
    """Called by the store inside the recording transaction with the agent's current watches."""

    agent: str
    state: PollState
    seen: Observation
    known_failures: Mapping[str, ItemFailure]
    now: datetime
    #: Count the listed and ended sessions for the rate detectors (AlertSettings.count_rates).
    count_rates: bool = True

    def __call__(self, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]) -> RecordPlan:
        plan = RecordPlan()
        failed = dict(self.seen.failed)
        for session in self.seen.ended:
            sid = session.session_id.lower()
            try:
                posts = alert_posts(self.agent, session, watches, mutes)
            except Exception as error:  # broad: one session's failure never holds the others back
                logger.exception("session %s of %s could not be processed", sid, self.agent)
                failed[sid] = (error, session.created_at or session.ended_at or self.now)
                continue
            plan.ended.append(EndedSession(sid, tuple(posts)))
        plan.ended += [EndedSession(sid) for sid in self.seen.skipped]
        retrying = self._failures(plan, failed, watches, mutes)
        done = {e.session_id for e in plan.ended}
        plan.resolved_items = [
            sid for sid, f in self.known_failures.items() if f.gave_up_at is None and sid in done and sid not in failed
        ]
        # A failing session stays in the active set: the next poll fetches it again by id.
        plan.active_set = sorted(self.seen.active | retrying)
        complete = self.seen.complete and self.seen.backfill_until is None
        plan.watermark = max(self.now, self.state.watermark) if complete else self.state.watermark
        plan.backfill_until = self.seen.backfill_until
        plan.backfill_from = self.now if self.seen.backfill_until is not None else None
        if self.state.outage_notified:
            plan.recovery_posts = recovery_posts(self.agent, self.state, watches, mutes, self.now)
        if not self.count_rates:
            return plan
        # A session is counted as started by the poll that first records it: running (it joins
        # the active set here, and every later poll knows it), or ended or retried (it was never
        # in the active set). An ended session recorded before was counted then.
        first = {s.session_id.lower() for s in self.seen.ended} | set(failed)
        plan.rate_started = [
            s
            for s in self.seen.listed
            if (s.is_active or s.session_id.lower() in first) and s.session_id.lower() not in self.state.active_set
        ]
        plan.rate_ended = list(self.seen.ended)
        plan.rate_statuses = frozenset(status for w in watches for status in w.statuses)
        return plan

    def _failures(
        self,
        plan: RecordPlan,
        failed: Mapping[str, tuple[BaseException, datetime]],
        watches: Sequence[Watch],
        mutes: Mapping[tuple[str, str], object],
    ) -> set[str]:
        retrying = set()
        for sid, (error, created_at) in sorted(failed.items()):
            prior = self.known_failures.get(sid)
            attempts = (prior.attempts if prior else 0) + 1
            first = prior.first_failed_at if prior else None
            problem = describe(error)
            if attempts >= policy.ITEM_MAX_ATTEMPTS:
                logger.error(
                    "giving up on session %s of %s after %d failed polls (%s): recorded as seen",
                    sid,
                    self.agent,
                    attempts,
                    problem,
                )
                plan.ended.append(EndedSession(sid))
                plan.item_failures.append(
                    ItemFailure(sid, attempts, problem, created_at, gave_up_at=self.now, first_failed_at=first)
                )
                plan.notices += item_failure_posts(self.agent, sid, attempts, problem, watches, mutes)
            else:
                retrying.add(sid)
                plan.item_failures.append(ItemFailure(sid, attempts, problem, created_at, first_failed_at=first))
        return retrying
