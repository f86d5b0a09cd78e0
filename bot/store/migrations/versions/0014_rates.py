"""Rates (issue 21): per-minute counts, sessions counted as started, detector state and SLOs.

Revision ID: 0014
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counts",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=False), nullable=False),
        sa.Column("deployment", sa.String(length=64), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("start_known", sa.Integer(), nullable=False),
        sa.Column("cold_starts", sa.Integer(), nullable=False),
        sa.Column("bot_starts", sa.JSON(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("failed_by_status", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "minute", "deployment", name="pk_rate_counts"),
    )
    op.create_index("ix_rate_counts_minute", "rate_counts", ["minute"], unique=False)
    op.create_table(
        "rate_started",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("agent", "session_id", name="pk_rate_started"),
    )
    op.create_index("ix_rate_started_seen_at", "rate_started", ["seen_at"], unique=False)
    op.create_table(
        "rate_state",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("memory", sa.JSON(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("observed_since", sa.DateTime(timezone=False), nullable=False),
        sa.Column("slo_target", sa.Float(), nullable=True),
        sa.Column("slo_period", sa.String(length=8), nullable=True),
        sa.Column("slo_set_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("agent"),
    )


def downgrade() -> None:
    op.drop_table("rate_state")
    op.drop_index("ix_rate_started_seen_at", table_name="rate_started")
    op.drop_table("rate_started")
    op.drop_index("ix_rate_counts_minute", table_name="rate_counts")
    op.drop_table("rate_counts")
