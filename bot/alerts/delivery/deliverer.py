"""Delivery: drain the outbox to Slack, exactly once per dedup key (states: ARCHITECTURE.md).

Per channel, under its lease (one post in flight per channel, across replicas): close quiet
incidents → route new alerts into incidents → summarise given-up alerts → post due rows one by
one → edit changed parents. One post is claim (committed) → fence (the claim and the lease still
have CLAIM_SAFETY_MARGIN to run) → chat.postMessage → apply: the attempt's outcome goes through
the pure `transitions.next_state`, and its result is written by one fenced `Store.apply`. A row
whose last attempt may have reached Slack is first looked for in the channel (reconcile.py).

Posts to one channel are spaced by `post_spacing` across all replicas: written to the channel's
shared back-off after every post, like a 429's Retry-After.

Trouble is the channel's, not the row's: a failed attempt (Slack down, or refusing the channel
outright) sets the channel's shared back-off from its streak of failures (`transitions.hold_after`),
so during an outage one attempt per channel per back-off probes Slack, under the channel's lease;
the first success pulls every held row forward and the pass drains them at once. A channel Slack
refuses (not_in_channel, channel_not_found, a token error) is probed the same way by its next post,
on a longer back-off: its rows are held, its watches show it broken until Slack takes a post again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import Enum
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from bot.alerts import policy
from bot.alerts.delivery import transitions
from bot.alerts.delivery.events import note_end
from bot.alerts.delivery.hooks import ChannelPassHooks
from bot.alerts.delivery.ports import DeliveryStore, RowMessages
from bot.alerts.delivery.reconcile import find_posted
from bot.alerts.delivery.reply_edits import ReplyEditor
from bot.alerts.delivery.slack_errors import SlackFailure, slack_call
from bot.alerts.delivery.threads import Behind, thread_of
from bot.clock import Clock
from bot.ops.events import PipelineEvents
from bot.store import LeaseLost, is_connection_error
from bot.store.engine import describe_db_error
from bot.store.records import OutboxRow, OutboxState, Transition

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Added to a back-off wait: the sleep runs on the monotonic clock, the back-off on the wall clock.
WAKE_SLACK_SECONDS = 0.01
Sleep = Callable[[float], Awaitable[None]]


class Next(Enum):
    CONTINUE = "continue"  # go on with the channel's next row
    STOP = "stop"  # leave the channel for this pass (backing off, or Slack is unwell)


@dataclasses.dataclass
class ChannelPass:
    """One pass over a channel under its lease: the channel's failed attempts in a row (its
    shared back-off's streak), kept current as the pass's outcomes are applied."""

    channel_id: str
    streak: int


class Deliverer:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        slack: AsyncWebClient,
        clock: Clock,
        messages: RowMessages,
        incidents: ChannelPassHooks,
        owner: str,
        post_spacing: timedelta,
        give_up_after: timedelta,
        sleep: Sleep,
        events: PipelineEvents,
    ) -> None:
        self._store = store
        self._events = events
        self._slack = slack
        self._clock = clock
        self._messages = messages
        self._incidents = incidents
        self._owner = owner
        #: Zero: no spacing, and back-offs are never waited out inline (acquire refuses instead).
        self._spacing = post_spacing
        #: The longest back-off a pass waits out rather than leaving the channel for a later tick.
        self._inline_wait = policy.MAX_INLINE_WAIT if post_spacing else timedelta(0)
        self._give_up_after = give_up_after
        self._sleep = sleep
        self._edits = ReplyEditor(store=store, slack=slack, messages=messages)
        #: One pass per channel at a time in this process (the lease would let this replica in
        #: twice). Passes over other channels run beside it: a pass started while another drains
        #: (the spacing makes a drain of 14 posts take 13 s) does not wait for that drain.
        self._passing: dict[str, asyncio.Lock] = {}
        #: The pass waiting for a channel's running one (done when it has run), by channel.
        self._queued: dict[str, asyncio.Future[None]] = {}

    async def deliver_once(self) -> None:
        now = self._clock.now()
        # A channel whose back-off ends soon (the spacing after a post) is kept: its pass waits it out.
        # (Replies whose cause came late are edited in their channel's pass: they count as work.)
        channels = await self._store.channels_with_work(
            now, quiet_before=now - self._incidents.window, backed_off_past=now + self._inline_wait
        )
        # A busy agent's held failures whose roll-up is due (the incident keeper's `route` flushes them).
        channels = sorted(
            set(channels) | set(await self._store.held_rollup_channels(now - policy.BACKGROUND_ROLLUP_EVERY))
        )
        limit = asyncio.Semaphore(policy.DELIVERY_CONCURRENCY)
        await asyncio.gather(*(self._channel(channel, limit) for channel in channels))

    async def _channel(self, channel_id: str, limit: asyncio.Semaphore) -> None:
        queued = self._queued.get(channel_id)
        if queued is not None:
            # A pass already waits for this channel's running one: it starts after it and reads
            # every row enqueued by then, ours too. Wait for it rather than queue a pass of our own
            # (a storm wakes delivery once per agent recorded while a channel drains).
            await asyncio.shield(queued)
            return
        lock = self._passing.setdefault(channel_id, asyncio.Lock())
        if not lock.locked():
            async with lock:
                await self._limited_pass(channel_id, limit)
            return
        queued = self._queued[channel_id] = asyncio.get_running_loop().create_future()
        try:
            async with lock:
                del self._queued[channel_id]  # started: a pass from now on queues anew
                await self._limited_pass(channel_id, limit)
        finally:
            if self._queued.get(channel_id) is queued:
                del self._queued[channel_id]  # cancelled while waiting
            queued.set_result(None)

    async def _limited_pass(self, channel_id: str, limit: asyncio.Semaphore) -> None:
        async with limit:
            try:
                await self._channel_pass(channel_id)
            except Exception:  # broad: a channel's pass must not stop the others (see below)
                # The database went away mid-pass (or anything else): rows stay queued, claims and
                # leases expire, and a later cycle (here or on another replica) carries on.
                logger.exception("delivery to %s failed; rows stay queued for the next cycle", channel_id)

    async def _channel_pass(self, channel_id: str) -> None:
        if not await self._acquire(channel_id):
            return  # another replica is on it, or the channel is backed off for long
        try:
            current = ChannelPass(channel_id, await self._store.destination_streak(channel_id))
            await self._incidents.close_quiet(channel_id)
            await self._incidents.route(channel_id)
            await self._incidents.summarise_undelivered(channel_id)
            if not current.streak:
                # Parents first: one a person deleted is found (and replaced) before replies go
                # into its thread. (A channel in trouble is probed by a post instead.)
                await self._incidents.render_dirty(channel_id, self._owner)
            if await self._drain(current) is Next.CONTINUE:
                edited = await self._incidents.render_dirty(channel_id, self._owner)
                edited += await self._edits.edit_channel(channel_id)
                if edited and current.streak:
                    # The edits were the probe (nothing to post): Slack takes the channel's writes.
                    await self._store.destination_recovered(channel_id, self._clock.now())
        except SlackFailure as error:
            await self._incidents.channel_failure(channel_id, error)
        except LeaseLost:
            logger.warning("lost the delivery lease of %s mid-pass; another worker continues", channel_id)
        finally:
            await self._store.release_channel(channel_id, self._owner)

    async def _drain(self, current: ChannelPass) -> Next:
        channel_id = current.channel_id
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
            if await self._deliver(row, current) is Next.STOP:
                return Next.STOP
            # A button's edit waits for the lease: do it between posts, not after a long drain.
            await self._incidents.render_dirty(channel_id, self._owner)
        return Next.STOP

    async def _acquire(self, channel_id: str) -> bool:
        """Take the channel's lease. A short back-off (the spacing after the last post) is waited
        out first, so a row enqueued or a button clicked just after a post goes out now: the wake
        that brought us here would otherwise find the channel refused and wait for a later tick."""
        if await self._store.acquire_channel(channel_id, self._owner, self._clock.now(), policy.CHANNEL_LEASE):
            return True
        wait = await self._backoff_left(channel_id)
        if wait <= 0 or wait > self._inline_wait.total_seconds():
            return False  # another worker holds the lease, or the back-off is too long to wait here
        await self._sleep(wait + WAKE_SLACK_SECONDS)
        return await self._store.acquire_channel(channel_id, self._owner, self._clock.now(), policy.CHANNEL_LEASE)

    async def _wait_for_channel(self, channel_id: str, deadline: float) -> bool:
        """Wait out a short back-off (post spacing, a small Retry-After) while keeping the channel;
        False when it is too long to wait here or the pass is out of time."""
        wait = await self._backoff_left(channel_id)
        if wait <= 0:
            return True
        if wait > self._inline_wait.total_seconds() or time.monotonic() + wait > deadline:
            return False
        await self._sleep(wait + WAKE_SLACK_SECONDS)
        return True

    async def _backoff_left(self, channel_id: str) -> float:
        """Seconds until the channel's shared back-off ends; 0 when there is none to wait out here
        (without spacing, acquire_channel refuses a backed-off channel instead)."""
        if not self._spacing:
            return 0.0
        until = await self._store.channel_backoff(channel_id)
        return (until - self._clock.now()).total_seconds() if until is not None else 0.0

    async def _deliver(self, row: OutboxRow, current: ChannelPass) -> Next:
        """claim → (reconcile) → fence → post → apply."""
        thread = await thread_of(self._store, row)  # where the row's payload says it goes
        if isinstance(thread, Behind):
            return Next.STOP  # the post it goes under is not made yet: replies keep their order behind it
        if isinstance(thread, transitions.ParentLost | transitions.Dropped):
            await self._apply(row, None, thread, current, reached_slack=False)
            return Next.CONTINUE  # a lost parent: the row comes back at once, for the top level
        token = uuid.uuid4().hex
        if not await self._store.claim(row, token, self._clock.now(), policy.CLAIM_TTL):
            return Next.CONTINUE  # someone else took it
        self._events.post_claimed(
            agent=row.agent, session=row.session_id or "", dedup_key=row.dedup_key, channel=row.channel_id
        )
        outcome, reached_slack, version = await self._attempt(row, token, thread)
        transition = await self._apply(row, token, outcome, current, reached_slack=reached_slack)
        if transition is None:
            return Next.STOP
        if transition.state != OutboxState.DEAD and version is not None and row.incident_id is not None:
            await self._store.mark_rendered(row.incident_id, version)
        return Next.STOP if transition.stop_channel else Next.CONTINUE

    async def _attempt(
        self, row: OutboxRow, token: str, thread_ts: str | None
    ) -> tuple[transitions.Outcome, bool, int | None]:
        """One attempt's outcome, whether the request reached Slack, and a parent's version shown."""
        try:
            message, version = await self._messages.for_row(row)
        except DBAPIError as error:
            # The database blinked while the message's parts were read: nothing is wrong with the
            # row, so it is retried like a post that did not leave (never given up as unrenderable).
            logger.warning("could not read what outbox row %d shows (%s): retried", row.id, describe_db_error(error))
            return transitions.NotSent(f"database: {describe_db_error(error)}"), False, None
        except Exception as error:  # broad: any builder's failure makes the row unrenderable
            logger.exception("cannot render outbox row %d (%s)", row.id, row.dedup_key)
            return transitions.Unrenderable(type(error).__name__), False, None
        if row.maybe_posted:
            found = await find_posted(self._slack, row, thread_ts, now=self._clock.now())
            if found is not None:
                return found, False, version  # already there, or Slack could not tell us
        if not await self._with_db_retry(f"the claim on {row.dedup_key}", lambda: self._fence(row, token)):
            return transitions.ClaimExpired(), False, version
        kwargs: dict[str, Any] = message.to_post_kwargs()
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        try:
            response = await slack_call(
                self._slack.chat_postMessage(channel=row.channel_id, unfurl_links=False, unfurl_media=False, **kwargs),
                now=self._clock.now(),  # measures a Retry-After given as an HTTP-date
            )
        except SlackFailure as error:
            return error.outcome, True, version
        return transitions.Posted(str(response["ts"])), True, version

    async def _fence(self, row: OutboxRow, token: str) -> bool:
        """Right before the Slack call: is the claim (and the channel lease) still safely ours?"""
        if await self._store.confirm_claim(
            row,
            token,
            self._owner,
            self._clock.now(),
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
        return False

    async def _apply(
        self,
        row: OutboxRow,
        token: str | None,
        outcome: transitions.Outcome,
        current: ChannelPass,
        *,
        reached_slack: bool,
    ) -> Transition | None:
        """Decide (pure) and write (fenced) the attempt's outcome; None if the row was no longer ours."""
        now = self._clock.now()
        transition = transitions.next_state(
            row, outcome, now=now, give_up_after=self._give_up_after, streak=current.streak
        )
        if reached_slack and self._spacing:
            # The request counts against the channel's rate, whatever Slack answered.
            spaced = now + self._spacing
            if transition.channel_backoff_until is None or transition.channel_backoff_until < spaced:
                transition = dataclasses.replace(transition, channel_backoff_until=spaced)
        applied = await self._with_db_retry(
            f"the outcome of {row.dedup_key}", lambda: self._store.apply(row, token, transition, now)
        )
        _log(row, outcome, transition, applied)
        if not applied:
            return None
        note_end(self._events, row, transition.state)
        if transition.streak is not None:
            current.streak = transition.streak
        if transition.break_channel is not None:
            logger.error(
                "Slack refuses posts to %s (%s): its watches show it broken, its posts are held; "
                "the next one probes it at %s",
                row.channel_id,
                transition.break_channel,
                transition.next_attempt_at.isoformat(timespec="seconds"),
            )
        if transition.recovered:
            logger.warning("Slack takes posts to %s again: its held posts go out now", row.channel_id)
        return transition

    async def _with_db_retry(self, what: str, write: Callable[[], Awaitable[T]]) -> T:
        """Run a write between claim and record (the fence, the record of what Slack did), retrying
        while the database is unreachable (a restart): a claim is worth keeping, and a post that
        happened is worth recording. Gives up after RECORD_RETRY_WINDOW; the claim then expires
        and reconciliation finds the post (or its absence)."""

        def log_retry(state: Any) -> None:
            error = state.outcome.exception() if state.outcome else None
            detail = describe_db_error(error) if isinstance(error, DBAPIError) else repr(error)
            logger.warning("writing %s: database unavailable (%s); retrying", what, detail)

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, DBAPIError) and is_connection_error(e)),
            stop=stop_after_delay(policy.RECORD_RETRY_WINDOW.total_seconds()),
            wait=wait_exponential(
                multiplier=policy.RECORD_RETRY_FIRST.total_seconds(), max=policy.RECORD_RETRY_CAP.total_seconds()
            ),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await write()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def _log(row: OutboxRow, outcome: transitions.Outcome, transition: Transition, applied: bool) -> None:
    if not applied:
        logger.warning(
            "outbox row %s: %s, and the claim had passed to another worker meanwhile: left to it",
            row.dedup_key,
            type(outcome).__name__,
        )
    elif isinstance(outcome, transitions.AlreadyPosted):
        logger.info("outbox row %s was already in Slack (ts %s): recorded, not re-posted", row.dedup_key, outcome.ts)
    elif isinstance(outcome, transitions.RateLimited):
        logger.info("Slack rate-limited %s: backing off %.1fs", row.channel_id, outcome.retry_after)
    elif isinstance(outcome, transitions.ParentLost):
        logger.warning("outbox row %s goes to the top level: %s", row.dedup_key, outcome.reason)
    elif transition.state == OutboxState.DEAD:
        logger.error("gave up on outbox row %s: %s", row.dedup_key, transition.error)
    elif not isinstance(outcome, transitions.Posted):
        logger.warning(
            "posting %s to %s: %s (%s; next try at %s)",
            row.dedup_key,
            row.channel_id,
            transition.error,
            transition.state,
            transition.next_attempt_at.isoformat(timespec="seconds"),
        )
