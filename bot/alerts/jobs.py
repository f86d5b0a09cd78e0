"""AlertJobs: what the scheduler runs (bot/alerts/scheduler.py registers every job): the poll
cycle, the delivery job (woken whenever rows are enqueued), the agent status cycle and pruning.
Built with every stage it drives by the composition root (bot/wiring.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bot.alerts import policy
from bot.alerts.delivery.deliverer import Deliverer
from bot.alerts.health.watcher import AgentStatusWatcher
from bot.alerts.paging.pager import Pager
from bot.alerts.poll.poller import Poller
from bot.alerts.ports import JobStore
from bot.alerts.rates.watch import RateWatcher
from bot.clock import Clock
from bot.explain.explainer import CAUSE_RETENTION

__all__ = ["MAX_DELIVERY_ROUNDS", "AlertJobs"]

logger = logging.getLogger(__name__)

#: Delivery passes one job run makes at most while rows keep being enqueued during it.
MAX_DELIVERY_ROUNDS = 5


class AlertJobs:
    def __init__(
        self,
        *,
        store: JobStore,
        clock: Clock,
        replica_id: str,
        poller: Poller,
        rates: RateWatcher | None,
        deliverer: Deliverer,
        pager: Pager,
        health: AgentStatusWatcher,
    ) -> None:
        self.store = store
        self.replica_id = replica_id
        self.poller = poller
        #: Rate alerts: the agents each poll cycle recorded, evaluated right after it (None: rates
        #: are not counted, AlertSettings.count_rates).
        self.rates = rates
        self.pager = pager
        #: Agent health and capacity (its own interval; status_interval 0 turns it off).
        self.health = health
        self._clock = clock
        self._deliverer = deliverer
        self._pruned_at: datetime | None = None
        #: The alert cycle and the status cycle both deliver: one PagerDuty pass at a time here
        #: (Slack passes may overlap, one per channel at a time: Deliverer._passing).
        self._delivering = asyncio.Lock()
        #: Set by the scheduler: makes the delivery job run now (it is idle).
        self._delivery_waker: Callable[[], None] | None = None
        self._delivery_running = False
        self._wake_pending = False
        self._extras: set[asyncio.Task[None]] = set()

    # -- the pipeline ----------------------------------------------------------------------------

    async def poll_once(self) -> None:
        """One poll cycle over every watched agent."""
        await self.poller.poll_once()
        if self.rates is not None:
            await self.rates.evaluate_all(self.poller.polled)
        await self._prune()

    async def leave(self) -> None:
        """Stopping: the other replicas take this one's share of the polls from their next cycle
        (instead of after REPLICA_LIVE_INTERVALS). Never raises."""
        for task in list(self._extras):
            task.cancel()
        try:
            await self.store.leave_polling(self.replica_id)
        except Exception:  # broad: stopping must not fail on the sign-off
            logger.exception("could not sign off polling; the others take over within a few intervals")

    async def deliver_once(self) -> None:
        """Post everything deliverable now (channels in parallel, each channel in order), then
        bring PagerDuty up to date with the incidents of paging watches."""
        await self._deliverer.deliver_once()  # a channel already in a pass here waits for it
        async with self._delivering:
            await self.pager.run_once()

    async def status_cycle(self) -> None:
        """What the status job runs: read due agent statuses, then post what they opened or
        cleared. Never raises."""
        for name, stage in (("status read", self.health.read_once), ("delivery", self.deliver_once)):
            try:
                await stage()
            except Exception:  # broad: a cycle must not kill the job
                logger.exception("status cycle: %s failed; the next cycle tries again", name)

    async def run_cycle(self) -> None:
        """Poll, then deliver (tests drive cycles by hand, with the scheduler off). Never raises."""
        await self.run_poll()
        await self.run_delivery()

    async def run_poll(self) -> None:
        """The scheduler's poll job. Never raises (a cycle must not kill the job)."""
        try:
            await self.poll_once()
        except Exception:  # broad: a cycle must not kill the job
            logger.exception("alert cycle: poll failed; the next cycle tries again")

    async def run_delivery(self) -> None:
        """The scheduler's delivery job, separate from polling so one slow agent never holds
        back any channel's alerts. Runs again at once when rows were enqueued while it ran.
        Never raises."""
        self._delivery_running = True
        try:
            for _ in range(MAX_DELIVERY_ROUNDS):
                self._wake_pending = False
                try:
                    await self.deliver_once()
                except Exception:  # broad: a cycle must not kill the job
                    logger.exception("alert cycle: delivery failed; the next cycle tries again")
                if not self._wake_pending:
                    break
        finally:
            self._delivery_running = False

    async def tick_delivery(self) -> None:
        """The delivery job's tick: a delivery (`run_delivery`); or, while one runs (a drain at
        1 post/s lasts up to policy.CHANNEL_PASS_BUDGET), a pass beside it, so a channel whose
        back-off just ended (Slack answering again after an outage) or whose rows another replica
        enqueued is served now, not after that drain. Never raises."""
        if self._delivery_running:
            self._pass_beside()
        else:
            await self.run_delivery()

    def set_delivery_waker(self, waker: Callable[[], None] | None) -> None:
        self._delivery_waker = waker

    def wake_delivery(self) -> None:
        """Rows were enqueued (or a parent needs an edit): deliver now, not at the next tick."""
        self._wake_pending = True
        if not self._delivery_running:
            if self._delivery_waker is not None:
                self._delivery_waker()
        else:
            # The delivery job is draining a channel at 1 post/s: deliver the channels that just
            # got rows now, beside it, instead of after its drain.
            self._pass_beside()

    def _pass_beside(self) -> None:
        """One delivery pass beside the running one, in the background. On a channel another pass
        is on, it waits its turn (one pass per channel here), joining a pass already waiting."""
        task = asyncio.get_running_loop().create_task(self._extra_pass())
        self._extras.add(task)
        task.add_done_callback(self._extras.discard)

    async def _extra_pass(self) -> None:
        try:
            await self._deliverer.deliver_once()
        except Exception:  # broad: a background task has nobody to raise to
            logger.exception("alert delivery beside the running pass failed; the next tick tries again")

    async def _prune(self) -> None:
        now = self._clock.now()
        if self._pruned_at is not None and now - self._pruned_at < policy.PRUNE_EVERY:
            return
        self._pruned_at = now
        pruned = await self.store.prune_seen(now - policy.SEEN_RETENTION)
        if pruned:
            logger.info("forgot %d seen session(s) older than %s", pruned, policy.SEEN_RETENTION)
        done = await self.store.prune_sent(now - policy.OUTBOX_RETENTION)
        if done:
            logger.info("pruned %d delivered outbox row(s) older than %s", done, policy.OUTBOX_RETENTION)
        minutes = await self.store.prune_rates(
            now - policy.COUNT_RETENTION, now - policy.STARTED_RETENTION, now - policy.HOUR_RETENTION
        )
        if minutes:
            logger.info("folded %d minute(s) of rate counts older than %s into hours", minutes, policy.COUNT_RETENTION)
        causes = await self.store.prune_causes(now - CAUSE_RETENTION)
        if causes:
            logger.info("forgot the causes of %d session(s) older than %s", causes, CAUSE_RETENTION)
