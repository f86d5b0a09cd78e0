"""The first landed schema (stage one): watches, polling, the outbox, incidents, mutes, audit.

A database created before Alembic (it has `schema_version` at version 1) is exactly this
revision: the app stamps it 0001 instead of running this (bot/store/migrate.py).

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the types of that schema (bot/store/types.UTCDateTime stores naive UTC).
_TIME = sa.DateTime(timezone=False)


def upgrade() -> None:
    op.create_table(
        "schema_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("migrated_at", _TIME, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("statuses", sa.JSON, nullable=False),
        sa.Column("group_mention", sa.String(255)),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("broken_reason", sa.String(64)),
        sa.Column("broken_at", _TIME),
        sa.Column("last_alert_at", _TIME),
        sa.UniqueConstraint("channel_id", "agent", name="uq_subscriptions_channel_agent"),
    )
    op.create_table(
        "poll_state",
        sa.Column("agent", sa.String(64), primary_key=True),
        sa.Column("watermark", _TIME, nullable=False),
        sa.Column("active_set", sa.JSON, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", _TIME),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("outage_since", _TIME),
        sa.Column("outage_notified", sa.Boolean, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("polled_at", _TIME),
    )
    op.create_table(
        "seen_sessions",
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("seen_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("agent", "session_id", name="pk_seen_sessions"),
    )
    op.create_index("ix_seen_sessions_seen_at", "seen_sessions", ["seen_at"])
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.Integer),
        sa.Column("session_id", sa.String(64)),
        sa.Column("incident_id", sa.Integer),
        sa.Column("rollup_id", sa.Integer),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("claim_token", sa.String(64)),
        sa.Column("claimed_at", _TIME),
        sa.Column("claimed_until", _TIME),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("posted_ts", sa.String(32)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("dedup_key", name="uq_alert_outbox_dedup_key"),
    )
    op.create_index("ix_alert_outbox_channel_state", "alert_outbox", ["channel_id", "state", "next_attempt_at"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("parent_ts", sa.String(32)),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("first_failure_at", _TIME, nullable=False),
        sa.Column("last_failure_at", _TIME, nullable=False),
        sa.Column("last_activity_at", _TIME, nullable=False),
        sa.Column("session_count", sa.Integer, nullable=False),
        sa.Column("statuses", sa.JSON, nullable=False),
        sa.Column("latest_session_id", sa.String(64), nullable=False),
        sa.Column("burst_started_at", _TIME, nullable=False),
        sa.Column("burst_replies", sa.Integer, nullable=False),
        sa.Column("ack_by", sa.String(32)),
        sa.Column("ack_at", _TIME),
        sa.Column("closed_at", _TIME),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rendered_version", sa.Integer, nullable=False),
    )
    op.create_index("ix_incidents_channel_agent", "incidents", ["channel_id", "agent", "closed_at"])
    op.create_index("ix_incidents_parent", "incidents", ["channel_id", "parent_ts"])
    op.create_table(
        "mutes",
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("until", _TIME, nullable=False),
        sa.Column("muted_by", sa.String(32), nullable=False),
        sa.Column("muted_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "agent", name="pk_mutes"),
    )
    op.create_table(
        "channel_state",
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("backoff_until", _TIME),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", _TIME),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("result", sa.String(32), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    for table in ("audit_log", "channel_state", "mutes", "incidents", "alert_outbox", "seen_sessions", "poll_state"):
        op.drop_table(table)
    op.drop_table("subscriptions")
    op.drop_table("schema_version")
