"""The alert pipeline's tables, as SQLAlchemy Core metadata.

Portable on purpose: plain types, JSON, naive-UTC timestamps (`UTCDateTime`), unique keys as the
guarantee against double work. A change here needs an Alembic revision that makes the same change
(bot/store/migrations/__init__.py says how); a contract test fails until they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from bot.store.types import UTCDateTime

metadata = MetaData()

#: The version table of the schema before Alembic (one row, version 1). Kept: it tells migrate that
#: a database without Alembic's own table is that schema (revision 0001), not an empty one.
schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("migrated_at", UTCDateTime, nullable=False),
)

#: A watch: this channel hears about these statuses of this agent.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", String(32), nullable=False),
    Column("agent", String(64), nullable=False),
    Column("statuses", JSON, nullable=False),
    Column("group_mention", String(255)),
    Column("created_by", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # A Slack error code (channel_not_found, not_in_channel, ...) once delivery became impossible.
    Column("broken_reason", String(64)),
    Column("broken_at", UTCDateTime),
    Column("last_alert_at", UTCDateTime),
    # `/session watch … page`: incidents also page PagerDuty; page_error is PagerDuty's last 400.
    Column("page", Boolean, nullable=False, default=False, server_default=false()),
    Column("page_error", Text),
    Column("page_error_at", UTCDateTime),
    # `/session watch … runbook <url>`: an https link shown as a button on every alert of the watch.
    Column("runbook", String(500)),
    UniqueConstraint("channel_id", "agent", name="uq_subscriptions_channel_agent"),
)

#: Per watched agent: how far polling got, what was running, who polls, and outage tracking.
poll_state = Table(
    "poll_state",
    metadata,
    Column("agent", String(64), primary_key=True),
    Column("watermark", UTCDateTime, nullable=False),
    Column("active_set", JSON, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),
    Column("outage_since", UTCDateTime),
    Column("outage_notified", Boolean, nullable=False, default=False),
    Column("last_error", Text),
    Column("polled_at", UTCDateTime),
    # "reachability" (Pipecat did not answer) or "data" (it answered something we could not use):
    # which notice the current failure streak gets, and which recovery note ends it.
    Column("failure_kind", String(16)),
    # A list walk cut at MAX_PAGES left sessions created up to here unread: the next poll reads
    # them (newest first, below this time) before the watermark may move on.
    Column("backfill_until", UTCDateTime),
    # ...and while it does, when the newest sessions were last read: the walk from the top starts
    # there (minus the overlap), so it reads only what is new and the rest drains below.
    Column("backfill_from", UTCDateTime),
    # When a cycle last claimed it: with several replicas, each claims its share of the agents
    # claimed longest ago, so every agent is polled once per interval across them.
    Column("claimed_at", UTCDateTime),
)

#: The replicas that poll, by their last cycle: how many share the agents.
poll_replicas = Table(
    "poll_replicas",
    metadata,
    Column("replica_id", String(64), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
)

#: An ended session whose processing raised: retried on the next polls (the watermark waits for
#: it), then recorded as seen with its error (`gave_up_at`) so nothing else of the agent waits.
poll_item_failures = Table(
    "poll_item_failures",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("session_created_at", UTCDateTime, nullable=False),
    Column("first_failed_at", UTCDateTime, nullable=False),
    Column("last_failed_at", UTCDateTime, nullable=False),
    Column("gave_up_at", UTCDateTime),
    PrimaryKeyConstraint("agent", "session_id", name="pk_poll_item_failures"),
)

#: Every ended session the poller has processed; the unique key makes enqueueing happen once.
seen_sessions = Table(
    "seen_sessions",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("agent", "session_id", name="pk_seen_sessions"),
    Index("ix_seen_sessions_seen_at", "seen_at"),
)

#: One Slack post to make. kind: alert (a session reply, dedup "<subscription>:<session>"),
#: parent (an incident's parent), rollup (several alerts in one reply), notice (outage/recovery).
#: state: pending → sending → sent | dead, uncertain (may have reached Slack), muted, rolled_up.
alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedup_key", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("agent", String(64), nullable=False),
    Column("subscription_id", Integer),
    Column("session_id", String(64)),
    Column("incident_id", Integer),
    Column("rollup_id", Integer),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claim_token", String(64)),
    Column("claimed_at", UTCDateTime),
    Column("claimed_until", UTCDateTime),
    Column("payload", JSON, nullable=False),
    Column("posted_ts", String(32)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Delivery state machine (bot/alerts/delivery/transitions.py): Slack-trouble failures and since when,
    # the first claim (bounds the reconcile scan), top-level fallback, the undelivered summary.
    Column("failures", Integer, nullable=False, default=0, server_default="0"),
    Column("failing_since", UTCDateTime),
    Column("first_claimed_at", UTCDateTime),
    Column("top_level", Boolean, nullable=False, default=False, server_default=false()),
    Column("given_up_at", UTCDateTime),
    Column("summary_id", Integer),
    UniqueConstraint("dedup_key", name="uq_alert_outbox_dedup_key"),
    Index("ix_alert_outbox_channel_state", "channel_id", "state", "next_attempt_at"),
    Index("ix_alert_outbox_given_up", "channel_id", "given_up_at"),
)

#: Failures of one agent in one channel within the quiet window: a parent message and its thread.
incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", String(32), nullable=False),
    Column("agent", String(64), nullable=False),
    Column("parent_ts", String(32)),
    # The parent post's dedup key (minted by the routing plan, bot/contracts/keys.py).
    Column("parent_key", String(200)),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("first_failure_at", UTCDateTime, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
    # When the incident last took a failure in: the quiet window counts from here.
    Column("last_activity_at", UTCDateTime, nullable=False),
    Column("session_count", Integer, nullable=False),
    Column("statuses", JSON, nullable=False),
    Column("latest_session_id", String(64), nullable=False),
    # Storm control: the current burst minute and how many individual replies it already had.
    Column("burst_started_at", UTCDateTime, nullable=False),
    Column("burst_replies", Integer, nullable=False),
    Column("ack_by", String(32)),
    Column("ack_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    # Resolved by hand (the Resolve button): who, and the optional reason they gave.
    Column("resolved_by", String(32)),
    Column("resolve_reason", String(500)),
    # The parent is re-rendered (chat.update) while version > rendered_version.
    Column("version", Integer, nullable=False, default=1),
    Column("rendered_version", Integer, nullable=False, default=0),
    Index("ix_incidents_channel_agent", "channel_id", "agent", "closed_at"),
    Index("ix_incidents_parent", "channel_id", "parent_ts"),
)

#: A time-limited silence of one agent in one channel.
mutes = Table(
    "mutes",
    metadata,
    Column("channel_id", String(32), nullable=False),
    Column("agent", String(64), nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Column("muted_by", String(32), nullable=False),
    Column("muted_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("channel_id", "agent", name="pk_mutes"),
)

#: Per destination (a Slack channel, or PagerDuty as "pagerduty"): the shared back-off (a 429, post
#: spacing, trouble), the lease that keeps one post in flight, and its failed attempts in a row.
channel_state = Table(
    "channel_state",
    metadata,
    Column("channel_id", String(32), primary_key=True),
    Column("backoff_until", UTCDateTime),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime),
    # Failed attempts in a row (trouble or refusals): sets the shared back-off; 0 once one succeeds.
    Column("failures", Integer, nullable=False, default=0, server_default="0"),
)

#: Who ran which command or button where, and what came of it (kept AUDIT_RETENTION_DAYS).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("result", String(32), nullable=False),
    Index("ix_audit_log_at", "at"),
)

#: Per watched agent: when its status (GET /agents/{agent}) is next due, who is reading it now,
#: and what the last read left for the next one (restart counts, rollout start, capacity level).
#: Replicas share the due time, so each agent is read once per AGENT_STATUS_INTERVAL_SECONDS.
agent_status = Table(
    "agent_status",
    metadata,
    Column("agent", String(64), primary_key=True),
    Column("next_read_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UTCDateTime),
    Column("memory", JSON, nullable=False),
    Column("read_at", UTCDateTime),
    Column("last_error", Text),
)

#: An agent's open health conditions, one row each (bot/alerts/health/assess.py keys); the row is
#: deleted when the condition clears. Inserting it is what makes its alert post happen once.
#: A condition that comes back soon after clearing is inserted again with its first opened_at
#: (its alert reopens) and reopened_at set (bot/alerts/health/states.py).
agent_conditions = Table(
    "agent_conditions",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("condition_key", String(100), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("finding", JSON, nullable=False),
    # False for a condition opened without a post of its own (nothing to recover in a thread).
    Column("posted", Boolean, nullable=False),
    Column("reopened_at", UTCDateTime),
    # Who acknowledged this occurrence and when (the Acknowledge button); a reopen starts unset.
    Column("ack_by", String(32)),
    Column("ack_at", UTCDateTime),
    PrimaryKeyConstraint("agent", "condition_key", name="pk_agent_conditions"),
)

# -- explanations (bot/explain) ---------------------------------------------------------------------

#: What a failed session's own log says: read once per session (the cache), never shared between
#: sessions. state: found (fingerprint set), none (no error in the log), pending (not read yet:
#: over the per-cycle budget, or the read was slow or failed), skipped (a roll-up member beyond
#: the first few: never read one by one).
session_causes = Table(
    "session_causes",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("fingerprint", String(32)),
    # The masked lines to quote, newline-joined (escaped only when rendered).
    Column("quote", Text),
    Column("deployment_id", String(64)),
    Column("failed_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("read_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("agent", "session_id", name="pk_session_causes"),
    Index("ix_session_causes_state", "agent", "state"),
    Index("ix_session_causes_fingerprint", "agent", "fingerprint"),
)

#: One row per distinct cause of an agent: how often and when it was seen, and an example.
fingerprints = Table(
    "fingerprints",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("label", Text, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    Column("example_session_id", String(64), nullable=False),
    Column("last_incident_id", Integer),
    PrimaryKeyConstraint("agent", "fingerprint", name="pk_fingerprints"),
    Index("ix_fingerprints_last_seen", "agent", "last_seen_at"),
)

#: Which incidents a cause appeared in (so a parent can say "seen before on …" and link it).
fingerprint_incidents = Table(
    "fingerprint_incidents",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("incident_id", Integer, nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("agent", "fingerprint", "incident_id", name="pk_fingerprint_incidents"),
)

#: Deployments of an agent the app has seen: when one first carried a session, and when it went
#: live by the agent's status (`deployment.createdAt` / the revision's `phaseStartedAt`) if known.
deployments = Table(
    "deployments",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("deployment_id", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("went_live_at", UTCDateTime),
    #: The deployment this one replaced, as the agent's status named it (`previousRevision`,
    #: whatever its phase): set even when the app never saw a session of that one.
    Column("replaced_deployment_id", String(64)),
    PrimaryKeyConstraint("agent", "deployment_id", name="pk_deployments"),
)

#: Per agent, the latest side-by-side failure rates of its current and previous deployment
#: (computed only while it fails, at most every DEPLOY_RATES_REFRESH), for the incident parent.
deploy_rates = Table(
    "deploy_rates",
    metadata,
    Column("agent", String(64), primary_key=True),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("window_seconds", Integer, nullable=False),
    # [{deployment_id, sessions, failures, went_live_at}], current deployment first.
    Column("rates", JSON, nullable=False),
)

#: Thread replies to edit because their session's cause arrived after they were posted (the log
#: was slow): the delivery worker re-renders each one under the channel lease.
reply_edits = Table(
    "reply_edits",
    metadata,
    Column("dedup_key", String(200), primary_key=True),
    Column("channel_id", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_reply_edits_channel", "channel_id"),
)

#: A channel's daily digest (opt-in): posted at hour:minute UTC through the outbox, whose dedup key
#: (`digest:<channel>:<day>`) makes it one post per channel per day across replicas and restarts.
digest_settings = Table(
    "digest_settings",
    metadata,
    Column("channel_id", String(32), primary_key=True),
    Column("hour", Integer, nullable=False),
    Column("minute", Integer, nullable=False),
    Column("enabled_by", String(32), nullable=False),
    Column("enabled_at", UTCDateTime, nullable=False),
)

#: One PagerDuty alert we opened: an incident's (incident_id) or a health condition's (condition).
#: `dedup_key` is minted once, when the row is inserted, and read back ever after (a restart or
#: another replica never derives a new one). state: triggered → acknowledged → resolved, as
#: enqueued (`muted`: a condition occurrence that opened while its channel muted the agent, never
#: sent); `sent_count` is the incident's session count in the last trigger enqueued.
#: `routing_key` is the integration key the alert was opened with (a secret, never logged or
#: shown): its every later event goes there, whatever PAGERDUTY_ROUTING_KEY says now.
pager_alerts = Table(
    "pager_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedup_key", String(255), nullable=False),
    Column("subscription_id", Integer),
    Column("channel_id", String(32), nullable=False),
    Column("agent", String(64), nullable=False),
    Column("incident_id", Integer),
    Column("condition", String(32)),
    Column("state", String(16), nullable=False),
    Column("sent_count", Integer, nullable=False, default=0),
    Column("triggers", Integer, nullable=False, default=0),
    Column("last_trigger_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("routing_key", String(128)),
    UniqueConstraint("dedup_key", name="uq_pager_alerts_dedup_key"),
    UniqueConstraint("incident_id", name="uq_pager_alerts_incident"),
    Index("ix_pager_alerts_state", "state"),
)

#: The installation's namespace in PagerDuty dedup keys (one row, id 1), learned once and kept:
#: it keeps two installations paging one PagerDuty service apart without asking Slack for anything.
pager_namespace = Table(
    "pager_namespace",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("namespace", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# -- webhooks (bot/webhooks) ------------------------------------------------------------------------

#: Every Pipecat Cloud webhook delivery that verified, once per `webhook_id` (delivery is at least
#: once; a retry reuses the id). Written before the 2xx; `processed_at` is set once its effects
#: (alerts, deployment dates, a status read) ran, so a crash between the answer and the effects
#: leaves the row for the sweep. Kept WEBHOOK_RETENTION: it is the organization's change timeline.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("org", String(200)),
    # The envelope's created_at (when it happened), or when it arrived if it had none.
    Column("created_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # The agent a deployment, service or session event names; None for organization-wide events.
    Column("agent", String(64)),
    # The build a build or deployment event names (a deployment's line shows its build's commit).
    Column("build_id", String(64)),
    Column("data", JSON, nullable=False),
    Column("processed_at", UTCDateTime),
    UniqueConstraint("webhook_id", name="uq_webhook_events_webhook_id"),
    Index("ix_webhook_events_created_at", "created_at"),
    Index("ix_webhook_events_pending", "processed_at", "received_at"),
    Index("ix_webhook_events_build_id", "build_id"),
)

# -- rates (bot/rates) ------------------------------------------------------------------------------

#: Per agent, minute and deployment: sessions started (by creation minute) and ended (by end
#: minute), failed, cold starts, a bot-start histogram (bot/rates/policy.py BOT_START_EDGES) and
#: the summed duration. Written by the poll's recording transaction; after COUNT_RETENTION folded
#: into rate_hours and deleted.
rate_counts = Table(
    "rate_counts",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("minute", UTCDateTime, nullable=False),
    Column("deployment", String(64), nullable=False),
    Column("started", Integer, nullable=False),
    Column("ended", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("start_known", Integer, nullable=False),
    Column("cold_starts", Integer, nullable=False),
    Column("bot_starts", JSON, nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("failed_by_status", JSON, nullable=False),
    PrimaryKeyConstraint("agent", "minute", "deployment", name="pk_rate_counts"),
    Index("ix_rate_counts_minute", "minute"),
)

#: Per agent and hour (all deployments): what the SLO budget needs of minutes older than
#: COUNT_RETENTION. Minutes are folded in when they are pruned, in the same transaction that
#: deletes them (bot/store/rates.py `prune_rates`): a minute is in rate_counts or here, never both.
#: Pruned after HOUR_RETENTION.
rate_hours = Table(
    "rate_hours",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("hour", UTCDateTime, nullable=False),
    Column("started", Integer, nullable=False),
    Column("ended", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    PrimaryKeyConstraint("agent", "hour", name="pk_rate_hours"),
    Index("ix_rate_hours_hour", "hour"),
)

#: Sessions counted as started (inserting the row is what counts it: once, across replicas).
rate_started = Table(
    "rate_started",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("agent", "session_id", name="pk_rate_started"),
    Index("ix_rate_started_seen_at", "seen_at"),
)

#: Per agent: the rate detectors' open episodes (memory, compare-and-set on version: one
#: evaluation's posts are enqueued once across replicas) and the agent's SLO, if one is set.
rate_state = Table(
    "rate_state",
    metadata,
    Column("agent", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("memory", JSON, nullable=False),
    Column("evaluated_at", UTCDateTime),
    # When a poll last counted something: an agent with nothing new, nothing open and too little
    # traffic to fall silent is not evaluated again (bot/alerts/rates/watch.py).
    Column("counted_at", UTCDateTime),
    Column("observed_since", UTCDateTime, nullable=False),
    Column("slo_target", Float),
    Column("slo_period", String(8)),
    Column("slo_set_by", String(32)),
)

#: Who acknowledged a rate episode (one detector's alert of an agent, from when it opened) and
#: when: the first Acknowledge on any channel's post inserts it (first click wins across replicas
#: and channels), Unacknowledge deletes it; the PagerDuty mirror reads it. Pruned after
#: COUNT_RETENTION (an episode long cleared needs it no more).
rate_acks = Table(
    "rate_acks",
    metadata,
    Column("agent", String(64), nullable=False),
    Column("episode_key", String(64), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("ack_by", String(32), nullable=False),
    Column("ack_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("agent", "episode_key", "opened_at", name="pk_rate_acks"),
)
