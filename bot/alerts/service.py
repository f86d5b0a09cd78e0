"""AlertService: what the Slack layer and the scheduler call. Composes poller, outbox and incidents."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.alerts.agent_status import AgentStatusWatcher
from bot.alerts.explanations import link
from bot.alerts.incidents import IncidentKeeper
from bot.alerts.messages import HealthSource, MessageFactory, no_health
from bot.alerts.outbox import Deliverer, Sleep
from bot.alerts.pager import Pager
from bot.alerts.poller import Poller
from bot.alerts.rate_view import rates_line, rates_view
from bot.alerts.rate_watch import RateWatcher
from bot.blocks.alert_watches import WatchView
from bot.blocks.causes import MAX_CAUSES, CauseRow
from bot.blocks.rates import RatesView
from bot.clock import Clock
from bot.explain.explainer import CAUSE_RETENTION, CAUSE_WAIT_SECONDS, Explainer
from bot.pagerduty.client import PagerDutyClient
from bot.pipecat.client import PipecatClient
from bot.pipecat.validation import check_agent
from bot.store import Store
from bot.store.agent_health import ConditionAck
from bot.store.records import Incident, Watch

__all__ = ["Acknowledgement", "AlertService", "Watch", "WatchView"]

logger = logging.getLogger(__name__)

#: Delivery passes one job run makes at most while rows keep being enqueued during it.
MAX_DELIVERY_ROUNDS = 5
#: Leases and claims store their owner in a String(64) column.
MAX_REPLICA_ID_LENGTH = 64


def new_replica_id(hostname: str | None = None, pid: int | None = None) -> str:
    """`<hostname>-<pid>-<random>`: unique per process (the random part covers pid reuse and
    containers that all run as pid 1), and readable in logs and in the leases' owner columns."""
    host = (hostname if hostname is not None else socket.gethostname()) or "host"
    suffix = f"-{pid if pid is not None else os.getpid()}-{secrets.token_hex(4)}"
    return host[: MAX_REPLICA_ID_LENGTH - len(suffix)] + suffix


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an incident and when; `first`: this click was the one that did."""

    by: str
    at: datetime
    first: bool


class AlertService:
    def __init__(
        self,
        *,
        store: Store,
        pipecat: PipecatClient,
        slack: AsyncWebClient,
        clock: Clock,
        default_statuses: frozenset[str],
        incident_window: timedelta = policy.DEFAULT_INCIDENT_WINDOW,
        poll_interval: float = 60.0,
        replica_id: str | None = None,
        post_spacing: timedelta = policy.SLACK_POST_SPACING,
        give_up_after: timedelta = policy.OUTBOX_GIVE_UP,
        pagerduty: PagerDutyClient | None = None,
        status_interval: float = 0.0,
        capacity_warn_percent: float = 80.0,
        explain: bool = True,
        cause_wait_seconds: float = CAUSE_WAIT_SECONDS,
        health: HealthSource = no_health,
        sleep: Sleep = asyncio.sleep,
        dashboard_url: str | None = None,
        rate_rules: policy.RateRules = policy.RATE_RULES,
    ) -> None:
        """`post_spacing`: the least time between two posts to one channel, across replicas
        (settings: SLACK_POST_SPACING_SECONDS). `give_up_after`: how long an alert is retried
        through Slack trouble before it is given up and summarised (OUTBOX_GIVE_UP_HOURS).
        `explain`: read failed sessions' logs for their causes (bot.explain); `cause_wait_seconds`
        bounds how long a poll waits for them. `health`: what an incident parent says in its
        agent-health slot (the agent-status reader fills it; none by default). `sleep`: how delivery
        waits out a short channel back-off (tests on the simulator's clock advance it instead).
        `dashboard_url`: PIPECAT_DASHBOARD_URL, the alerts' links to the Pipecat Cloud dashboard.
        `rate_rules`: when rate alerts fire and clear (the demo judges shorter windows)."""
        if not default_statuses:
            raise ValueError("default_statuses must name at least one status")
        if replica_id is not None and not 0 < len(replica_id) <= MAX_REPLICA_ID_LENGTH:
            raise ValueError(f"replica_id must be 1 to {MAX_REPLICA_ID_LENGTH} characters")
        self.store = store
        self.replica_id = replica_id or new_replica_id()
        self._pipecat = pipecat
        self._clock = clock
        self._default_statuses = frozenset(s.upper() for s in default_statuses)
        #: Agent health and capacity (its own interval; status_interval 0 turns it off).
        self.health = AgentStatusWatcher(
            store=store,
            pipecat=pipecat,
            clock=clock,
            owner=self.replica_id,
            interval_seconds=status_interval,
            hold=policy.HEALTH_HOLD,
            capacity_hysteresis=policy.CAPACITY_HYSTERESIS_SESSIONS,
            warn_percent=capacity_warn_percent,
        )
        # The incident parent's agent-health slot shows the agent's open conditions.
        if health is no_health and self.health.enabled:
            health = self.health.health_summary
        self._messages = MessageFactory(store, clock, health, dashboard_url)
        self._incidents = IncidentKeeper(
            store=store,
            slack=slack,
            clock=clock,
            messages=self._messages,
            window=incident_window,
            owner=self.replica_id,
            give_up_after=give_up_after,
            wake_delivery=self.wake_delivery,
        )
        self.explainer = (
            Explainer(
                store=store,
                pipecat=pipecat,
                clock=clock,
                wait_seconds=cause_wait_seconds,
                read_status=not self.health.enabled,  # the status job reads it anyway, and tells
            )
            if explain
            else None
        )
        if self.explainer is not None and self.health.enabled:
            self.health.add_status_listener(self.explainer.note_status)
        self.poller = Poller(
            store=store,
            pipecat=pipecat,
            clock=clock,
            owner=self.replica_id,
            poll_interval=poll_interval,
            explainer=self.explainer,
        )
        self._deliverer = Deliverer(
            store=store,
            slack=slack,
            clock=clock,
            messages=self._messages,
            incidents=self._incidents,
            owner=self.replica_id,
            post_spacing=post_spacing,
            give_up_after=give_up_after,
            sleep=sleep,
        )
        #: Rate alerts: the agents each poll cycle recorded, evaluated right after it.
        self._rate_rules = rate_rules
        self.rates = RateWatcher(store=store, clock=clock, rules=rate_rules)
        #: Without PAGERDUTY_ROUTING_KEY there is no client: paging watches cannot be made.
        self.pager = Pager(
            store=store,
            slack=slack,
            clock=clock,
            client=pagerduty,
            update_every=policy.PAGE_UPDATE_EVERY,
            give_up_after=give_up_after,
        )
        self._pruned_at: datetime | None = None
        #: The alert cycle and the status cycle both deliver: one PagerDuty pass at a time here
        #: (Slack passes may overlap, one per channel at a time: Deliverer._passing).
        self._delivering = asyncio.Lock()
        #: Set by the scheduler: makes the delivery job run now (it is idle).
        self._delivery_waker: Callable[[], None] | None = None
        self._delivery_running = False
        self._wake_pending = False
        self._extras: set[asyncio.Task[None]] = set()
        # Rows enqueued anywhere in this process (a poll, a notice) wake delivery at once.
        store.on_enqueue(self.wake_delivery)

    # -- the pipeline ----------------------------------------------------------------------------

    async def poll_once(self) -> None:
        """One poll cycle over every watched agent."""
        await self.poller.poll_once()
        await self.rates.evaluate_all(self.poller.polled)
        await self._prune()

    async def leave(self) -> None:
        """Stopping: the other replicas take this one's share of the polls from their next cycle
        (instead of after REPLICA_LIVE_INTERVALS). Never raises."""
        for task in list(self._extras):
            task.cancel()
        try:
            await self.store.leave_polling(self.replica_id)
        except Exception:
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
            except Exception:
                logger.exception("status cycle: %s failed; the next cycle tries again", name)

    async def run_cycle(self) -> None:
        """Poll, then deliver (the demo and tests drive cycles by hand). Never raises."""
        await self.run_poll()
        await self.run_delivery()

    async def run_poll(self) -> None:
        """The scheduler's poll job. Never raises (a cycle must not kill the job)."""
        try:
            await self.poll_once()
        except Exception:
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
                except Exception:
                    logger.exception("alert cycle: delivery failed; the next cycle tries again")
                if not self._wake_pending:
                    break
        finally:
            self._delivery_running = False

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
            # got rows now, beside it, instead of after its drain. Each wake gets one such pass;
            # on a channel another pass is on, it waits its turn (one pass per channel here).
            task = asyncio.get_running_loop().create_task(self._extra_pass())
            self._extras.add(task)
            task.add_done_callback(self._extras.discard)

    async def _extra_pass(self) -> None:
        try:
            await self._deliverer.deliver_once()
        except Exception:
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
        minutes = await self.store.prune_rates(now - policy.COUNT_RETENTION, now - policy.STARTED_RETENTION)
        if minutes:
            logger.info("pruned %d minute(s) of rate counts older than %s", minutes, policy.COUNT_RETENTION)
        causes = await self.store.prune_causes(now - CAUSE_RETENTION)
        if causes:
            logger.info("forgot the causes of %d session(s) older than %s", causes, CAUSE_RETENTION)

    # -- watches ---------------------------------------------------------------------------------

    async def watch(
        self,
        channel_id: str,
        agent: str,
        statuses: frozenset[str] | None,
        group: str | None,
        user_id: str,
        page: bool = False,
        runbook: str | None = None,
    ) -> Watch:
        """Watch `agent` in the channel (or update the watch's statuses, group and paging).

        Raises bot.pipecat.errors.NotFound if the agent does not exist. Nothing is back-filled:
        only sessions that end from now on alert.
        """
        await self._pipecat.get_agent(agent)
        if await self.store.poll_state(agent) is None:
            await self.poller.seed(agent)
        watch, created = await self.store.upsert_watch(
            channel_id,
            agent,
            statuses or self._default_statuses,
            group,
            user_id,
            self._clock.now(),
            page=page,
            runbook=runbook,
        )
        logger.info(
            "%s %s in %s (%s)",
            "watching" if created else "updated watch of",
            agent,
            channel_id,
            ",".join(sorted(watch.statuses)),
        )
        if not page:
            await self.pager.run_once()  # a watch that stopped paging resolves its open alerts
        return watch

    async def unwatch(self, channel_id: str, agent: str) -> bool:
        """Remove the watch; its open PagerDuty alerts are resolved (queued now, sent next cycle)."""
        removed = await self.store.remove_watch(channel_id, agent, self._clock.now())
        if removed:
            await self.pager.run_once()
        return removed

    async def watches(self, channel_id: str) -> list[WatchView]:
        """The channel's watches, each with how many of its alerts were given up undelivered."""
        undelivered = await self.store.undelivered_counts(channel_id)
        return [
            WatchView(
                agent=watch.agent,
                statuses=watch.statuses,
                group=watch.group,
                muted_until=mute.until if mute else None,
                muted_by=mute.muted_by if mute else None,
                last_alert_at=watch.last_alert_at,
                broken_reason=watch.broken_reason,
                undelivered=undelivered.get(watch.id, 0),
                page=watch.page,
                page_error=watch.page_error,
            )
            for watch, mute in await self.store.watches_with_mutes(channel_id, self._clock.now())
        ]

    async def watched_agents(self, channel_id: str) -> list[str]:
        return await self.store.watched_agents(channel_id)

    # -- explanations ----------------------------------------------------------------------------

    async def causes(self, agent: str, since: datetime) -> list[CauseRow]:
        """The agent's failure causes since `since`, most frequent first (for /session causes)."""
        stats = await self.store.top_causes(check_agent(agent), since, MAX_CAUSES)
        return [
            CauseRow(
                label=s.label,
                occurrences=s.occurrences,
                count=s.count,
                first_seen_at=s.first_seen_at,
                last_seen_at=s.last_seen_at,
                example_session_id=s.example_session_id,
                last_incident=link(s.last_incident),
            )
            for s in stats
        ]

    # -- rates -----------------------------------------------------------------------------------

    async def rates_view(self, agent: str) -> RatesView:
        """What `/session rates` shows (the agent's counts; nothing is read from Pipecat)."""
        return await rates_view(self.store, check_agent(agent), self._clock.now(), self._rate_rules)

    async def rates_line(self, agent: str) -> str | None:
        """The agent card's rates line ("last 5 min: 180 started a minute, 2.0% failing · SLO 99.5%:
        63% of its error budget left"), or None before anything was counted."""
        return rates_line(await self.rates_view(agent))

    async def set_slo(self, agent: str, target: float | None, period: str, user_id: str) -> None:
        """Set the agent's SLO (`target` 0.995 for 99.5 %), or turn it off with None."""
        await self.store.set_slo(check_agent(agent), target, period, user_id, self._clock.now())

    async def acknowledge_rate(self, channel_id: str, message_ts: str, user_id: str) -> bool:
        """Note who acknowledged a rate alert on its post (re-rendered). False if `message_ts` is
        not an open rate alert of the channel."""
        found = await self.store.acknowledge_rate_alert(channel_id, message_ts, user_id, self._clock.now())
        if found:
            # The post shows who is on it, and PagerDuty stops escalating, now (not at the next tick).
            await self.run_delivery()
        return found

    # -- mute and incidents ----------------------------------------------------------------------

    async def mute(self, channel_id: str, agent: str, duration: timedelta, user_id: str) -> datetime:
        """Silence `agent` in the channel until the returned time; failures are still recorded."""
        now = self._clock.now()
        until = now + duration
        await self.store.set_mute(channel_id, agent, until, user_id, now)
        await self._refresh_open_incident(channel_id, agent)
        await self._refresh_health_posts(channel_id, agent)
        return until

    async def unmute(self, channel_id: str, agent: str) -> bool:
        was_muted = await self.store.clear_mute(channel_id, agent, self._clock.now())
        await self._refresh_open_incident(channel_id, agent)
        await self._refresh_health_posts(channel_id, agent)
        return was_muted

    async def _refresh_health_posts(self, channel_id: str, agent: str) -> None:
        """The agent's open health alerts in the channel show the mute (Unmute): re-render them."""
        if await self.store.rerender_open_health_posts(channel_id, agent, self._clock.now()):
            self.wake_delivery()

    async def acknowledge_condition(self, channel_id: str, posted_ts: str, user_id: str) -> ConditionAck | None:
        """Acknowledge the condition occurrence of the health (or webhook) alert posted at
        `posted_ts`: every channel's post of it says who and when (re-rendered by the delivery
        pass), and its PagerDuty alerts are acknowledged. First click wins (`first` False after);
        None when no open alert was posted there."""
        ack = await self.store.acknowledge_condition(channel_id, posted_ts, user_id, self._clock.now())
        if ack is not None and ack.first:
            self.wake_delivery()
            await self.pager.run_once()  # PagerDuty stops escalating as soon as someone is on it
        return ack

    async def unacknowledge_condition(self, channel_id: str, posted_ts: str) -> bool:
        """Nobody is on the condition after all: its posts show Acknowledge again. PagerDuty's alert
        stays acknowledged (its Events API has no way back). False when no open alert was there."""
        done = await self.store.unacknowledge_condition(channel_id, posted_ts, self._clock.now())
        if done:
            self.wake_delivery()
        return done

    async def acknowledge(self, channel_id: str, parent_ts: str, user_id: str) -> Acknowledgement | None:
        """Record the ack and edit the parent (who and when); None if no incident has that parent.
        The first ack wins: a later click keeps who acknowledged first, and when (`first` False)."""
        now = self._clock.now()
        incident = await self.store.acknowledge(channel_id, parent_ts, user_id, now)
        if incident is None or incident.ack_by is None or incident.ack_at is None:
            return None
        first = (incident.ack_by, incident.ack_at) == (user_id, now)
        if first:
            await self._incidents.refresh_now(incident)
            await self.pager.run_once()  # PagerDuty stops escalating as soon as someone is on it
        return Acknowledgement(by=incident.ack_by, at=incident.ack_at, first=first)

    async def unacknowledge(self, channel_id: str, parent_ts: str) -> Incident | None:
        """Nobody is on it after all: the parent shows Acknowledge again. PagerDuty's Events API has
        no way back from acknowledged, so its alert stays acknowledged (its own UI can re-trigger).
        None if no incident has that parent; the incident otherwise (closed ones are left as they are)."""
        incident = await self.store.unacknowledge(channel_id, parent_ts)
        if incident is not None:
            await self._incidents.refresh_now(incident)
        return incident

    async def resolve(
        self, channel_id: str, parent_ts: str, user_id: str, reason: str | None
    ) -> tuple[Incident, bool] | None:
        """Close the incident now, by hand: the parent says who and why, the next failure opens a
        new incident, and its PagerDuty alert is resolved. (incident, False) when it was closed
        already; None if no incident has that parent."""
        result = await self.store.resolve(channel_id, parent_ts, user_id, reason or None, self._clock.now())
        if result is not None and result[1]:
            await self._incidents.refresh_now(result[0])
            await self.pager.run_once()
        return result

    async def incident_session(self, channel_id: str, parent_ts: str) -> tuple[str, str] | None:
        """(agent, latest session id) of the incident whose parent is `parent_ts`."""
        incident = await self.store.incident_by_parent(channel_id, parent_ts)
        return (incident.agent, incident.latest_session_id) if incident else None

    async def _refresh_open_incident(self, channel_id: str, agent: str) -> None:
        incidents = await self.store.incidents_for(channel_id, agent)
        open_ones = [i for i in incidents if i.closed_at is None]
        await self._incidents.refresh_now(open_ones[-1] if open_ones else None)
