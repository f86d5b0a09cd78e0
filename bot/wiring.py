"""How the alert pipeline is put together: every stage is built here, once, from the settings.

The stages take every policy value as a required argument: what a stage is given is read here, and
a missing wire is a type error. bot/app.py calls `build_alerts` with the app's clients; the tests,
the demo and the benchmarks call it too, so they run the pipeline the app runs.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.alerts.commands import AlertCommands
from bot.alerts.delivery.deliverer import Deliverer, Sleep
from bot.alerts.delivery.messages import MessageFactory, no_health
from bot.alerts.delivery.wake import Wake
from bot.alerts.health.watcher import AgentStatusWatcher
from bot.alerts.incidents.keeper import IncidentKeeper
from bot.alerts.jobs import AlertJobs
from bot.alerts.paging.pager import Pager
from bot.alerts.poll.poller import Poller
from bot.alerts.rates.watch import RateWatcher
from bot.clock import Clock
from bot.config import Settings
from bot.explain.explainer import CAUSE_WAIT_SECONDS, LOG_READS_PER_AGENT_PER_CYCLE, Explainer
from bot.ops.events import PipelineEvents
from bot.pagerduty.client import PagerDutyClient
from bot.pipecat.client import PipecatClient
from bot.store import Store

__all__ = ["MAX_REPLICA_ID_LENGTH", "AlertSettings", "Alerts", "build_alerts", "new_replica_id"]

#: Leases and claims store their owner in a String(64) column.
MAX_REPLICA_ID_LENGTH = 64


def new_replica_id(hostname: str | None = None, pid: int | None = None) -> str:
    """`<hostname>-<pid>-<random>`: unique per process (the random part covers pid reuse and
    containers that all run as pid 1), and readable in logs and in the leases' owner columns."""
    host = (hostname if hostname is not None else socket.gethostname()) or "host"
    suffix = f"-{pid if pid is not None else os.getpid()}-{secrets.token_hex(4)}"
    return host[: MAX_REPLICA_ID_LENGTH - len(suffix)] + suffix


@dataclass(frozen=True)
class AlertSettings:
    """The pipeline's tunables that come from the settings (bot/config.py); the rest are the named
    constants of bot/alerts/policy.py and bot/rates/policy.py, passed below."""

    #: ALERT_STATUSES: what a watch alerts on when it names no status.
    default_statuses: frozenset[str]
    #: INCIDENT_WINDOW_MINUTES: failures this close together share an incident.
    incident_window: timedelta
    #: POLL_INTERVAL_SECONDS.
    poll_interval: float
    #: SLACK_POST_SPACING_SECONDS: the least time between two posts to one channel, across replicas.
    post_spacing: timedelta
    #: OUTBOX_GIVE_UP_HOURS: how long a Slack post or a PagerDuty event is retried through trouble.
    give_up_after: timedelta
    #: AGENT_STATUS_INTERVAL_SECONDS (0: no health alerts).
    status_interval: float
    #: CAPACITY_WARN_PERCENT.
    capacity_warn_percent: float
    #: Read failed sessions' logs for their causes (bot/explain).
    explain: bool
    #: How long a poll waits for the causes it reads.
    cause_wait_seconds: float
    #: PIPECAT_DASHBOARD_URL: the alerts' links to the Pipecat Cloud dashboard (None: no links).
    dashboard_url: str | None
    #: Count sessions per minute in each poll's transaction and run the rate detectors after each
    #: cycle (the app always does; bench/busy.py turns it off to measure what it costs).
    count_rates: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertSettings:
        return cls(
            default_statuses=settings.alert_status_set,
            incident_window=timedelta(minutes=settings.incident_window_minutes),
            poll_interval=settings.poll_interval_seconds,
            post_spacing=timedelta(seconds=settings.slack_post_spacing_seconds),
            give_up_after=timedelta(hours=settings.outbox_give_up_hours),
            status_interval=settings.agent_status_interval_seconds,
            capacity_warn_percent=settings.capacity_warn_percent,
            explain=True,
            cause_wait_seconds=CAUSE_WAIT_SECONDS,
            dashboard_url=settings.pipecat_dashboard_url,
            count_rates=True,
        )


@dataclass(frozen=True)
class Alerts:
    """The pipeline's two faces: what the Slack surfaces call, and what the scheduler runs."""

    commands: AlertCommands
    jobs: AlertJobs
    explainer: Explainer | None


def build_alerts(
    config: AlertSettings,
    *,
    store: Store,
    pipecat: PipecatClient,
    slack: AsyncWebClient,
    clock: Clock,
    pagerduty: PagerDutyClient | None,
    events: PipelineEvents,
    replica_id: str | None = None,
    sleep: Sleep = asyncio.sleep,
    rate_rules: policy.RateRules = policy.RATE_RULES,
) -> Alerts:
    """Every stage of the alert pipeline, wired. `replica_id`: this process's name in leases and
    claims (default: a new one); `sleep`: how delivery waits out a short channel back-off (tests
    on the simulator's clock advance it instead); `rate_rules`: when rate alerts fire and clear
    (bot/rates/policy.py's; the demo judges shorter windows, sandbox/demo/rates.py)."""
    owner = replica_id or new_replica_id()
    if not 0 < len(owner) <= MAX_REPLICA_ID_LENGTH:
        raise ValueError(f"replica_id must be 1 to {MAX_REPLICA_ID_LENGTH} characters")
    wake = Wake()
    health = AgentStatusWatcher(
        store=store,
        pipecat=pipecat,
        clock=clock,
        owner=owner,
        interval_seconds=config.status_interval,
        hold=policy.HEALTH_HOLD,
        capacity_hysteresis=policy.CAPACITY_HYSTERESIS_SESSIONS,
        warn_percent=config.capacity_warn_percent,
    )
    # The incident parent's agent-health slot shows the agent's open conditions.
    messages = MessageFactory(
        store, clock, health.health_summary if health.enabled else no_health, config.dashboard_url, rate_rules
    )
    incidents = IncidentKeeper(
        store=store,
        slack=slack,
        clock=clock,
        messages=messages,
        window=config.incident_window,
        owner=owner,
        give_up_after=config.give_up_after,
        wake_delivery=wake,
        events=events,
        rules=rate_rules,
    )
    explainer = None
    if config.explain:
        explainer = Explainer(
            store=store,
            pipecat=pipecat,
            clock=clock,
            reads_per_cycle=LOG_READS_PER_AGENT_PER_CYCLE,
            wait_seconds=config.cause_wait_seconds,
            read_status=not health.enabled,  # the status job reads it anyway, and tells
        )
        if health.enabled:
            health.add_status_listener(explainer.note_status)
    poller = Poller(
        store=store,
        pipecat=pipecat,
        clock=clock,
        owner=owner,
        poll_interval=config.poll_interval,
        explainer=explainer,
        events=events,
        count_rates=config.count_rates,
    )
    deliverer = Deliverer(
        store=store,
        slack=slack,
        clock=clock,
        messages=messages,
        incidents=incidents,
        owner=owner,
        post_spacing=config.post_spacing,
        give_up_after=config.give_up_after,
        sleep=sleep,
        events=events,
    )
    # Without PAGERDUTY_ROUTING_KEY there is no client: paging watches cannot be made.
    pager = Pager(
        store=store,
        slack=slack,
        clock=clock,
        client=pagerduty,
        update_every=policy.PAGE_UPDATE_EVERY,
        give_up_after=config.give_up_after,
        events=events,
    )
    jobs = AlertJobs(
        store=store,
        clock=clock,
        replica_id=owner,
        poller=poller,
        rates=RateWatcher(store=store, clock=clock, rules=rate_rules) if config.count_rates else None,
        deliverer=deliverer,
        pager=pager,
        health=health,
    )
    wake.connect(jobs.wake_delivery)
    # Rows enqueued anywhere in this process (a poll, a notice) wake delivery at once.
    store.on_enqueue(wake)
    commands = AlertCommands(
        store=store,
        pipecat=pipecat,
        clock=clock,
        default_statuses=config.default_statuses,
        poller=poller,
        incidents=incidents,
        pager=pager,
        health=health,
        jobs=jobs,
        rate_rules=rate_rules,
    )
    return Alerts(commands=commands, jobs=jobs, explainer=explainer)
