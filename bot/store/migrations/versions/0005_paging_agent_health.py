"""Paging (issue 14): subscriptions.page/page_error/page_error_at and pager_alerts; agent health
(issue 12): agent_status and agent_conditions.

Landed on main before Alembic did; generated with `alembic revision --autogenerate`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:27:35.623565
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_conditions",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("condition_key", sa.String(length=100), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("finding", sa.JSON(), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "condition_key", name="pk_agent_conditions"),
    )
    op.create_table(
        "agent_status",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("next_read_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("memory", sa.JSON(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("agent"),
    )
    op.create_table(
        "pager_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("condition", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("triggers", sa.Integer(), nullable=False),
        sa.Column("last_trigger_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key", name="uq_pager_alerts_dedup_key"),
        sa.UniqueConstraint("incident_id", name="uq_pager_alerts_incident"),
    )
    with op.batch_alter_table("pager_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_pager_alerts_state", ["state"], unique=False)

    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("page", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("page_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("page_error_at", sa.DateTime(timezone=False), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("page_error_at")
        batch_op.drop_column("page_error")
        batch_op.drop_column("page")

    with op.batch_alter_table("pager_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_pager_alerts_state")

    op.drop_table("pager_alerts")
    op.drop_table("agent_status")
    op.drop_table("agent_conditions")
