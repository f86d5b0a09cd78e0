"""Prometheus metrics (served at GET /metrics, bot/app.py): one registry per runtime, names prefixed `pipecat_ops_`.

Label values come only from code-controlled sets (verbs, action ids, route templates, Slack
method names and error codes, watched agent names): never a session id or free text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "pipecat_ops"
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Slack wants an ack within 3 s; the buckets resolve the part of that budget that matters.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
PIPECAT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every series the app exports. A fresh registry per runtime keeps tests independent."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.interactions = Counter(
            f"{PREFIX}_interactions",
            "Commands, shortcuts and button clicks by kind, verb or action, and outcome",
            ["kind", "name", "outcome"],
            registry=r,
        )
        self.ack_latency = Histogram(
            f"{PREFIX}_ack_latency_seconds",
            "Time from a Slack request's arrival to its ack",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.pipecat_requests = Counter(
            f"{PREFIX}_pipecat_requests",
            "Pipecat Cloud API requests by endpoint (route template) and status",
            ["endpoint", "status"],
            registry=r,
        )
        self.pipecat_latency = Histogram(
            f"{PREFIX}_pipecat_request_seconds",
            "Pipecat Cloud API request latency by endpoint",
            ["endpoint"],
            buckets=PIPECAT_BUCKETS,
            registry=r,
        )
        self.polls = Counter(f"{PREFIX}_polls", "Agent polls by outcome (ok, failed)", ["outcome"], registry=r)
        self.last_poll_age = Gauge(
            f"{PREFIX}_last_successful_poll_age_seconds",
            "Seconds since each watched agent's last successful poll (any replica)",
            ["agent"],
            registry=r,
        )
        self.alerts = Counter(
            f"{PREFIX}_alerts",
            "Alert posts by event: enqueued, sent, given_up (dead)",
            ["event"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            f"{PREFIX}_outbox_depth", "Outbox rows waiting to be posted (pending, sending, uncertain)", registry=r
        )
        self.outbox_oldest_age = Gauge(
            f"{PREFIX}_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row still waiting to be posted (0 when none)",
            registry=r,
        )
        self.slack_calls = Counter(
            f"{PREFIX}_slack_api_calls",
            "Slack Web API calls by method and result (ok, an error code, ratelimited, http_5xx, timeout)",
            ["method", "result"],
            registry=r,
        )
        self.open_incidents = Gauge(f"{PREFIX}_open_incidents", "Incidents not closed yet", registry=r)
        self.open_health_conditions = Gauge(
            f"{PREFIX}_open_health_conditions", "Agent health conditions alerted and not recovered yet", registry=r
        )
        self.webhooks = Counter(
            f"{PREFIX}_webhooks",
            "Pipecat Cloud webhook deliveries by event type (a known one, other, or unverified) and outcome "
            "(accepted, duplicate, unsigned, bad_signature, stale, oversized, malformed, store_failed)",
            ["event_type", "outcome"],
            registry=r,
        )
        self.agent_failure_rate = Gauge(
            f"{PREFIX}_agent_failure_rate",
            "Share of each watched agent's sessions that failed, last 5 minutes (its watches' statuses)",
            ["agent"],
            registry=r,
        )
        self.agent_start_rate = Gauge(
            f"{PREFIX}_agent_sessions_started_per_minute",
            "Sessions each watched agent started per minute, last 5 minutes",
            ["agent"],
            registry=r,
        )
        self.agent_slo_budget = Gauge(
            f"{PREFIX}_agent_slo_budget_remaining",
            "Share of the SLO error budget left over its period so far (agents with an SLO)",
            ["agent"],
            registry=r,
        )
        self.store_scrape_ok = Gauge(
            f"{PREFIX}_store_gauges_fresh",
            "1 when the database-derived gauges were refreshed by the last scrape, 0 when it timed out",
            registry=r,
        )
        self.heap_frozen_objects = Gauge(
            f"{PREFIX}_heap_frozen_objects",
            "Objects built at start-up that the garbage collector's full passes skip (gc.freeze; 0 in tests)",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
