"""Delivery: drain the outbox to Slack, exactly once per dedup key (design.md §4).

Per channel, under its lease (one post in flight per channel, across replicas):
route new alerts into incidents → post due rows one by one → edit changed parents.
One post is claim (committed) → fence (the claim and the lease still have CLAIM_SAFETY_MARGIN to
run) → chat.postMessage → fenced record. A row whose outcome is unknown (5xx, read timeout, a
claimer that died) is first looked for in the channel by the dedup key in our message metadata,
and only re-posted if it is not there.

With a real clock, posts to one channel are spaced by SLACK_POST_SPACING across all replicas: the
spacing is written to the channel's shared back-off after every post, like a 429's Retry-After.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import Enum
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError

from bot.alerts import policy
from bot.alerts.health_messages import Skip, Wait, recovery_thread, resolve_opener
from bot.alerts.incidents import IncidentKeeper
from bot.alerts.messages import MessageFactory
from bot.alerts.reconcile import find_posted
from bot.alerts.reply_edits import ReplyEditor
from bot.alerts.slack_errors import Permanent, RateLimited, Retryable, SlackFailure, Uncertain, slack_call
from bot.clock import Clock
from bot.store import LeaseLost, Store, is_connection_error
from bot.store.engine import describe_db_error
from bot.store.records import (
    DEAD,
    KIND_ALERT,
    KIND_HEALTH_CLEAR,
    KIND_PARENT,
    KIND_ROLLUP,
    PENDING,
    SENDING,
    UNCERTAIN,
    OutboxRow,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Added to a back-off wait: the sleep runs on the monotonic clock, the back-off on the wall clock.
WAKE_SLACK_SECONDS = 0.01
Sleep = Callable[[float], Awaitable[None]]


class Next(Enum):
    CONTINUE = "continue"  # go on with the channel's next row
    STOP = "stop"  # leave the channel for this pass (backing off, or Slack is unwell)


class Deliverer:
    def __init__(
        self,
        *,
        store: Store,
        slack: AsyncWebClient,
        clock: Clock,
        messages: MessageFactory,
        incidents: IncidentKeeper,
        owner: str,
        post_spacing: timedelta = timedelta(0),
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self._slack = slack
        self._clock = clock
        self._messages = messages
        self._incidents = incidents
        self._owner = owner
        #: Zero (a simulated clock in tests): no spacing, and back-offs are never waited out inline.
        self._spacing = post_spacing
        self._sleep = sleep
        self._edits = ReplyEditor(store=store, slack=slack, messages=messages)

    async def deliver_once(self) -> None:
        await self._incidents.close_quiet()
        channels = await self._store.channels_with_work(self._clock.now())
        # Replies whose cause came late are edited in their channel's pass.
        channels = sorted(set(channels) | set(await self._store.reply_edits_channels()))
        limit = asyncio.Semaphore(policy.DELIVERY_CONCURRENCY)
        await asyncio.gather(*(self._channel(channel, limit) for channel in channels))

    async def _channel(self, channel_id: str, limit: asyncio.Semaphore) -> None:
        async with limit:
            try:
                await self._channel_pass(channel_id)
            except Exception:
                # The database went away mid-pass (or anything else): rows stay queued, claims and
                # leases expire, and a later cycle (here or on another replica) carries on.
                logger.exception("delivery to %s failed; rows stay queued for the next cycle", channel_id)

    async def _channel_pass(self, channel_id: str) -> None:
        if not await self._store.acquire_channel(channel_id, self._owner, self._clock.now(), policy.CHANNEL_LEASE):
            return  # another replica is on it, or the channel is backed off
        try:
            await self._incidents.route(channel_id)
            if await self._drain(channel_id) is Next.CONTINUE:
                await self._incidents.render_dirty(channel_id)
                await self._edits.edit_channel(channel_id)
        except SlackFailure as error:
            await self._channel_failure(channel_id, error)
        except LeaseLost:
            logger.warning("lost the delivery lease of %s mid-pass; another worker continues", channel_id)
        finally:
            await self._store.release_channel(channel_id, self._owner)

    async def _drain(self, channel_id: str) -> Next:
        deadline = time.monotonic() + policy.CHANNEL_PASS_BUDGET.total_seconds()
        for _ in range(policy.MAX_POSTS_PER_CHANNEL_PASS):
            row = await self._store.next_deliverable(channel_id, self._clock.now())
            if row is None:
                return Next.CONTINUE
            if not await self._wait_for_channel(channel_id, deadline):
                return Next.STOP
            # Renew the lease before each post so a long drain keeps the channel.
            if not await self._store.acquire_channel(channel_id, self._owner, self._clock.now(), policy.CHANNEL_LEASE):
                return Next.STOP
            if await self._deliver(row) is Next.STOP:
                return Next.STOP
        return Next.STOP

    async def _wait_for_channel(self, channel_id: str, deadline: float) -> bool:
        """Wait out a short back-off (post spacing, a small Retry-After) while keeping the channel;
        False when it is too long to wait here or the pass is out of time."""
        if not self._spacing:
            return True  # simulated time: acquire_channel refuses a backed-off channel instead
        until = await self._store.channel_backoff(channel_id)
        wait = (until - self._clock.now()).total_seconds() if until is not None else 0.0
        if wait <= 0:
            return True
        if wait > policy.MAX_INLINE_WAIT.total_seconds() or time.monotonic() + wait > deadline:
            return False
        await self._sleep(wait + WAKE_SLACK_SECONDS)
        return True

    async def _deliver(self, row: OutboxRow) -> Next:
        now = self._clock.now()
        token = uuid.uuid4().hex
        # A row left `sending` by a dead claimer is as uncertain as a timed-out one.
        maybe_posted = row.state in (UNCERTAIN, SENDING)
        thread_ts: str | None = None
        if row.kind in (KIND_ALERT, KIND_ROLLUP):
            parent = await self._thread_of(row)
            if isinstance(parent, Next):
                return parent
            thread_ts = parent
        elif row.kind == KIND_HEALTH_CLEAR:
            opener = await recovery_thread(self._store, row)
            if isinstance(opener, Wait):
                return Next.STOP  # the recovery stays behind its alert
            if isinstance(opener, Skip):
                await self._store.mark_dead(row, None, f"recovery not posted: {opener.reason}", now)
                return Next.CONTINUE
            thread_ts = opener
        if not await self._store.claim(row, token, now, policy.CLAIM_TTL):
            return Next.CONTINUE  # someone else took it
        try:
            message, version = await self._messages.for_row(row)
        except Exception:
            logger.exception("cannot render outbox row %d (%s); marking it dead", row.id, row.dedup_key)
            await self._store.mark_dead(row, token, "render failed", now)
            return Next.CONTINUE
        posted = False
        try:
            ts = await find_posted(self._slack, row, thread_ts) if maybe_posted else None
            if ts is not None:
                logger.info("outbox row %s was already in Slack (ts %s): recorded, not re-posted", row.dedup_key, ts)
            else:
                fence = functools.partial(self._fence, row, token, maybe_posted=maybe_posted)
                if not await self._with_db_retry(f"the claim on {row.dedup_key}", fence):
                    return Next.STOP
                kwargs: dict[str, Any] = message.to_post_kwargs()
                if thread_ts is not None:
                    kwargs["thread_ts"] = thread_ts
                posted = True
                response = await slack_call(
                    self._slack.chat_postMessage(
                        channel=row.channel_id, unfurl_links=False, unfurl_media=False, **kwargs
                    ),
                    now=self._clock.now(),  # measures a Retry-After given as an HTTP-date
                )
                ts = str(response["ts"])
        except SlackFailure as error:
            failure = error
            return await self._with_db_retry(
                f"the failed post of {row.dedup_key}",
                lambda: self._post_failure(row, token, failure, reconciling=maybe_posted, posted=posted),
            )
        recorded = await self._with_db_retry(
            f"the post of {row.dedup_key}", functools.partial(self._sent, row, token, ts, posted)
        )
        if not recorded:
            logger.warning("posted %s (ts %s) but the claim had passed to another worker", row.dedup_key, ts)
        elif version is not None and row.incident_id is not None:
            await self._store.mark_rendered(row.incident_id, version)
        elif row.kind == KIND_HEALTH_CLEAR:
            await resolve_opener(self._slack, self._store, row)
        return Next.CONTINUE

    async def _fence(self, row: OutboxRow, token: str, *, maybe_posted: bool) -> bool:
        """Right before the Slack call: is the claim (and the channel lease) still safely ours?"""
        now = self._clock.now()
        if await self._store.confirm_claim(
            row,
            token,
            self._owner,
            now,
            ttl=policy.CLAIM_TTL,
            lease_ttl=policy.CHANNEL_LEASE,
            margin=policy.CLAIM_SAFETY_MARGIN,
        ):
            return True
        logger.warning(
            "not posting %s: the claim or the lease of %s ran out (this worker was stalled?); "
            "whoever holds it now posts it",
            row.dedup_key,
            row.channel_id,
        )
        # If the claim is still ours but short, hand the row back now rather than at expiry (fenced:
        # a no-op when another worker has it).
        await self._store.mark_retry(
            row,
            token,
            state=UNCERTAIN if maybe_posted else PENDING,
            next_attempt_at=now,
            error="claim ran out before the post",
            now=now,
        )
        return False

    async def _sent(self, row: OutboxRow, token: str, ts: str, posted: bool) -> bool:
        if posted:
            await self._pace(row.channel_id)
        return await self._store.mark_sent(row, token, ts, self._clock.now())

    async def _pace(self, channel_id: str) -> None:
        """After a post reached Slack: no replica posts to the channel for SLACK_POST_SPACING."""
        if self._spacing:
            await self._store.back_off_channel(channel_id, self._clock.now() + self._spacing)

    async def _with_db_retry(self, what: str, write: Callable[[], Awaitable[T]]) -> T:
        """Run a write between claim and record (the fence, the record of what Slack did), retrying
        while the database is unreachable (a restart): a claim is worth keeping, and a post that
        happened is worth recording. Gives up after RECORD_RETRY_WINDOW; the claim then expires
        and reconciliation finds the post (or its absence)."""
        deadline = time.monotonic() + policy.RECORD_RETRY_WINDOW.total_seconds()
        delay = 0.25
        while True:
            try:
                return await write()
            except DBAPIError as error:
                if not is_connection_error(error) or time.monotonic() + delay > deadline:
                    raise
                logger.warning("writing %s: database unavailable (%s); retrying", what, describe_db_error(error))
                await self._sleep(delay)
                delay = min(delay * 2, policy.RECORD_RETRY_CAP.total_seconds())

    async def _thread_of(self, row: OutboxRow) -> str | Next:
        """The parent ts a reply goes under; STOP while the parent is not posted yet (replies keep
        their order behind it), CONTINUE once the row died with a parent that can never be posted."""
        incident = await self._store.incident(row.incident_id) if row.incident_id is not None else None
        if incident is not None and incident.parent_ts is not None:
            return incident.parent_ts
        parents = await self._store.outbox_rows(row.channel_id, kind=KIND_PARENT, incident_id=row.incident_id)
        if parents and parents[0].state != DEAD:
            return Next.STOP
        reason = f"incident parent could not be posted: {parents[0].last_error if parents else 'missing'}"
        logger.error("outbox row %s: %s", row.dedup_key, reason)
        await self._store.mark_dead(row, None, reason, self._clock.now())
        return Next.CONTINUE

    async def _post_failure(
        self, row: OutboxRow, token: str, error: SlackFailure, *, reconciling: bool, posted: bool = False
    ) -> Next:
        now = self._clock.now()
        attempts = row.attempts + 1
        if posted:
            await self._pace(row.channel_id)  # the request reached Slack: it counts against the channel
        if isinstance(error, RateLimited):
            until = now + timedelta(seconds=error.retry_after)
            await self._store.back_off_channel(row.channel_id, until)
            # A 429 means nothing was stored; a row that was uncertain stays uncertain.
            state = UNCERTAIN if reconciling else PENDING
            await self._store.mark_retry(row, token, state=state, next_attempt_at=until, error=error.detail, now=now)
            logger.info("Slack rate-limited %s: backing off %.1fs", row.channel_id, error.retry_after)
            # Leave the channel: whichever replica comes first after the back-off carries on.
            return Next.STOP
        if isinstance(error, Permanent):
            await self._store.mark_dead(row, token, error.reason, now)
            if error.channel_level:
                dead = await self._store.mark_channel_broken(row.channel_id, error.reason, now)
                logger.error(
                    "Slack refuses posts to %s (%s): its watches are broken, %d queued post(s) dead",
                    row.channel_id,
                    error.reason,
                    dead + 1,
                )
                return Next.STOP
            logger.error("Slack refused outbox row %s for good: %s", row.dedup_key, error.reason)
            return Next.CONTINUE
        if attempts >= policy.MAX_ATTEMPTS:
            await self._store.mark_dead(row, token, f"gave up after {attempts} attempts: {error.detail}", now)
            logger.error("gave up on outbox row %s after %d attempts: %s", row.dedup_key, attempts, error.detail)
            return Next.STOP
        if isinstance(error, Uncertain) or reconciling:
            delay, state = policy.UNCERTAIN_RECHECK, UNCERTAIN
        else:
            assert isinstance(error, Retryable)
            delay, state = policy.retry_delay(attempts), PENDING
        if not await self._store.mark_retry(
            row, token, state=state, next_attempt_at=now + delay, error=error.detail, now=now
        ):
            logger.warning(
                "posting %s to %s: %s, and the claim had passed to another worker meanwhile: left to it",
                row.dedup_key,
                row.channel_id,
                error.detail,
            )
            return Next.STOP
        logger.warning(
            "posting %s to %s: %s (%s; retry in %s)", row.dedup_key, row.channel_id, error.detail, state, delay
        )
        return Next.STOP

    async def _channel_failure(self, channel_id: str, error: SlackFailure) -> None:
        """A failure outside a row's post (editing a parent): back off or mark the channel broken."""
        now = self._clock.now()
        if isinstance(error, RateLimited):
            await self._store.back_off_channel(channel_id, now + timedelta(seconds=error.retry_after))
        elif isinstance(error, Permanent) and error.channel_level:
            await self._store.mark_channel_broken(channel_id, error.reason, now)
            logger.error("Slack refuses %s (%s): its watches are broken", channel_id, error.reason)
        else:
            logger.warning("updating incident parents in %s failed (%s); will retry", channel_id, error.detail)
