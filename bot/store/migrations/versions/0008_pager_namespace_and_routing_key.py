"""Paging without Slack, and alerts that keep their integration (issue 19): the installation's
PagerDuty dedup-key namespace, stored once (it was the Slack team id, asked of auth.test by every
process), and the routing key each alert was opened with.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pager_namespace",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pager_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing_key", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pager_alerts", schema=None) as batch_op:
        batch_op.drop_column("routing_key")
    op.drop_table("pager_namespace")
