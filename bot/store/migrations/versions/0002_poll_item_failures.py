"""Polling hardening (issue 10): poll_state.failure_kind and backfill_until, poll_item_failures.

Landed on main after stage one without a migration; a stage-one database gets them here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=False)


def upgrade() -> None:
    with op.batch_alter_table("poll_state") as batch:
        batch.add_column(sa.Column("failure_kind", sa.String(16)))
        batch.add_column(sa.Column("backfill_until", _TIME))
    op.create_table(
        "poll_item_failures",
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("session_created_at", _TIME, nullable=False),
        sa.Column("first_failed_at", _TIME, nullable=False),
        sa.Column("last_failed_at", _TIME, nullable=False),
        sa.Column("gave_up_at", _TIME),
        sa.PrimaryKeyConstraint("agent", "session_id", name="pk_poll_item_failures"),
    )


def downgrade() -> None:
    op.drop_table("poll_item_failures")
    with op.batch_alter_table("poll_state") as batch:
        batch.drop_column("backfill_until")
        batch.drop_column("failure_kind")
