"""AlertCommands: what the Slack surfaces call (watch, mute, acknowledge, resolve, rates, SLOs).
Built by the composition root (bot/wiring.py) from the stages it needs; the scheduler's side is
AlertJobs (bot/alerts/jobs.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts import policy
from bot.alerts.health.watcher import AgentStatusWatcher
from bot.alerts.incidents.keeper import IncidentKeeper
from bot.alerts.jobs import AlertJobs
from bot.alerts.paging.pager import Pager
from bot.alerts.poll.poller import Poller
from bot.alerts.ports import CommandStore
from bot.alerts.rates.view import rates_line, rates_view
from bot.blocks.alert_watches import WatchView
from bot.blocks.causes import MAX_CAUSES, CauseRow
from bot.blocks.rates import RatesView
from bot.clock import Clock
from bot.explain.views import link
from bot.pipecat.client import PipecatClient
from bot.pipecat.validation import check_agent
from bot.store.agent_health import ConditionAck
from bot.store.records import Incident, Watch

__all__ = ["Acknowledgement", "AlertCommands", "Watch", "WatchView"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an incident and when; `first`: this click was the one that did."""

    by: str
    at: datetime
    first: bool


class AlertCommands:
    def __init__(
        self,
        *,
        store: CommandStore,
        pipecat: PipecatClient,
        clock: Clock,
        default_statuses: frozenset[str],
        poller: Poller,
        incidents: IncidentKeeper,
        pager: Pager,
        health: AgentStatusWatcher,
        jobs: AlertJobs,
        rate_rules: policy.RateRules,
    ) -> None:
        """`default_statuses`: what a watch alerts on when it names none (ALERT_STATUSES);
        `rate_rules`: the rate detectors' windows, which `/session rates` reads the usual with."""
        if not default_statuses:
            raise ValueError("default_statuses must name at least one status")
        self._store = store
        self._pipecat = pipecat
        self._clock = clock
        self._default_statuses = frozenset(s.upper() for s in default_statuses)
        self._poller = poller
        self._incidents = incidents
        self._pager = pager
        self._jobs = jobs
        self._rate_rules = rate_rules
        #: The agent card reads its open health conditions.
        self.health = health

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
        if await self._store.poll_state(agent) is None:
            await self._poller.seed(agent)
        watch, created = await self._store.upsert_watch(
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
            await self._pager.run_once()  # a watch that stopped paging resolves its open alerts
        return watch

    async def unwatch(self, channel_id: str, agent: str) -> bool:
        """Remove the watch; its open PagerDuty alerts are resolved (queued now, sent next cycle)."""
        removed = await self._store.remove_watch(channel_id, agent, self._clock.now())
        if removed:
            await self._pager.run_once()
        return removed

    async def watches(self, channel_id: str) -> list[WatchView]:
        """The channel's watches, each with how many of its alerts were given up undelivered."""
        undelivered = await self._store.undelivered_counts(channel_id)
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
            for watch, mute in await self._store.watches_with_mutes(channel_id, self._clock.now())
        ]

    async def watched_agents(self, channel_id: str) -> list[str]:
        return await self._store.watched_agents(channel_id)

    # -- explanations ----------------------------------------------------------------------------

    async def causes(self, agent: str, since: datetime) -> list[CauseRow]:
        """The agent's failure causes since `since`, most frequent first (for /session causes)."""
        stats = await self._store.top_causes(check_agent(agent), since, MAX_CAUSES)
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
        return await rates_view(self._store, check_agent(agent), self._clock.now(), self._rate_rules)

    async def rates_line(self, agent: str) -> str | None:
        """The agent card's rates line ("last 5 min: 180 started a minute, 2.0% failing · SLO 99.5%:
        63% of its error budget left"), or None before anything was counted."""
        return rates_line(await self.rates_view(agent))

    async def set_slo(self, agent: str, target: float | None, period: str, user_id: str) -> None:
        """Set the agent's SLO (`target` 0.995 for 99.5 %), or turn it off with None."""
        await self._store.set_slo(check_agent(agent), target, period, user_id, self._clock.now())

    async def acknowledge_rate(self, channel_id: str, message_ts: str, user_id: str) -> ConditionAck | None:
        """Acknowledge the episode of the rate alert posted at `message_ts`: every channel's post
        of it says who and when, and its PagerDuty alerts are acknowledged. First click wins
        (`first` False after, nothing changed); None if `message_ts` is not an open rate alert of
        the channel."""
        ack = await self._store.acknowledge_rate_alert(channel_id, message_ts, user_id, self._clock.now())
        if ack is not None and ack.first:
            # The posts show who is on it, and PagerDuty stops escalating, now (not at the next tick).
            await self._jobs.run_delivery()
        return ack

    async def unacknowledge_rate(self, channel_id: str, message_ts: str) -> bool:
        """Nobody is on the rate episode after all: its posts show Acknowledge again. PagerDuty's
        alert stays acknowledged (its Events API has no way back). False when no open rate alert
        was posted there."""
        done = await self._store.unacknowledge_rate_alert(channel_id, message_ts, self._clock.now())
        if done:
            self._jobs.wake_delivery()
        return done

    # -- mute and incidents ----------------------------------------------------------------------

    async def mute(self, channel_id: str, agent: str, duration: timedelta, user_id: str) -> datetime:
        """Silence `agent` in the channel until the returned time; failures are still recorded."""
        now = self._clock.now()
        until = now + duration
        await self._store.set_mute(channel_id, agent, until, user_id, now)
        await self._refresh_open_incident(channel_id, agent)
        await self._refresh_alert_posts(channel_id, agent)
        return until

    async def unmute(self, channel_id: str, agent: str) -> bool:
        was_muted = await self._store.clear_mute(channel_id, agent, self._clock.now())
        await self._refresh_open_incident(channel_id, agent)
        await self._refresh_alert_posts(channel_id, agent)
        return was_muted

    async def _refresh_alert_posts(self, channel_id: str, agent: str) -> None:
        """The agent's open health and rate alerts in the channel show the mute (Unmute instead of
        the Mute menu): re-render them."""
        if await self._store.rerender_open_alert_posts(channel_id, agent, self._clock.now()):
            self._jobs.wake_delivery()

    async def acknowledge_condition(self, channel_id: str, posted_ts: str, user_id: str) -> ConditionAck | None:
        """Acknowledge the condition occurrence of the health (or webhook) alert posted at
        `posted_ts`: every channel's post of it says who and when (re-rendered by the delivery
        pass), and its PagerDuty alerts are acknowledged. First click wins (`first` False after);
        None when no open alert was posted there."""
        ack = await self._store.acknowledge_condition(channel_id, posted_ts, user_id, self._clock.now())
        if ack is not None and ack.first:
            self._jobs.wake_delivery()
            await self._pager.run_once()  # PagerDuty stops escalating as soon as someone is on it
        return ack

    async def unacknowledge_condition(self, channel_id: str, posted_ts: str) -> bool:
        """Nobody is on the condition after all: its posts show Acknowledge again. PagerDuty's alert
        stays acknowledged (its Events API has no way back). False when no open alert was there."""
        done = await self._store.unacknowledge_condition(channel_id, posted_ts, self._clock.now())
        if done:
            self._jobs.wake_delivery()
        return done

    async def acknowledge(self, channel_id: str, parent_ts: str, user_id: str) -> Acknowledgement | None:
        """Record the ack and edit the parent (who and when); None if no incident has that parent.
        The first ack wins: a later click keeps who acknowledged first, and when (`first` False)."""
        now = self._clock.now()
        incident = await self._store.acknowledge(channel_id, parent_ts, user_id, now)
        if incident is None or incident.ack_by is None or incident.ack_at is None:
            return None
        first = (incident.ack_by, incident.ack_at) == (user_id, now)
        if first:
            await self._incidents.refresh_now(incident)
            await self._pager.run_once()  # PagerDuty stops escalating as soon as someone is on it
        return Acknowledgement(by=incident.ack_by, at=incident.ack_at, first=first)

    async def unacknowledge(self, channel_id: str, parent_ts: str) -> Incident | None:
        """Nobody is on it after all: the parent shows Acknowledge again. PagerDuty's Events API has
        no way back from acknowledged, so its alert stays acknowledged (its own UI can re-trigger).
        None if no incident has that parent; the incident otherwise (closed ones are left as they are)."""
        incident = await self._store.unacknowledge(channel_id, parent_ts)
        if incident is not None:
            await self._incidents.refresh_now(incident)
        return incident

    async def resolve(
        self, channel_id: str, parent_ts: str, user_id: str, reason: str | None
    ) -> tuple[Incident, bool] | None:
        """Close the incident now, by hand: the parent says who and why, the next failure opens a
        new incident, and its PagerDuty alert is resolved. (incident, False) when it was closed
        already; None if no incident has that parent."""
        result = await self._store.resolve(channel_id, parent_ts, user_id, reason or None, self._clock.now())
        if result is not None and result[1]:
            await self._incidents.refresh_now(result[0])
            await self._pager.run_once()
        return result

    async def incident_session(self, channel_id: str, parent_ts: str) -> tuple[str, str] | None:
        """(agent, latest session id) of the incident whose parent is `parent_ts`."""
        incident = await self._store.incident_by_parent(channel_id, parent_ts)
        return (incident.agent, incident.latest_session_id) if incident else None

    async def _refresh_open_incident(self, channel_id: str, agent: str) -> None:
        incidents = await self._store.incidents_for(channel_id, agent)
        open_ones = [i for i in incidents if i.closed_at is None]
        await self._incidents.refresh_now(open_ones[-1] if open_ones else None)
