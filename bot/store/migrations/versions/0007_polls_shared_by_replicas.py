"""Polls shared by replicas (issue 15): when each agent was last claimed, and who polls.

Generated with `alembic revision --autogenerate`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:44:28.229821
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_replicas",
        sa.Column("replica_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("replica_id"),
    )
    with op.batch_alter_table("poll_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=False), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll_state", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    op.drop_table("poll_replicas")
