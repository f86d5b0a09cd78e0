"""Rates (issue 21): hourly roll-ups of the per-minute counts, so a 28- or 30-day SLO budget reads
its whole period (minutes are kept 8 days; hours 35).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_hours",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=False), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "hour", name="pk_rate_hours"),
    )
    op.create_index("ix_rate_hours_hour", "rate_hours", ["hour"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_hours_hour", table_name="rate_hours")
    op.drop_table("rate_hours")
