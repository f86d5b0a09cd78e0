"""Delivery (issue 11/10): the outbox's state-machine columns and incidents.parent_key.

Landed on main before Alembic did; generated with `alembic revision --autogenerate`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:46:56.122663
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=False), nullable=True))
        batch_op.add_column(sa.Column("first_claimed_at", sa.DateTime(timezone=False), nullable=True))
        batch_op.add_column(sa.Column("top_level", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("given_up_at", sa.DateTime(timezone=False), nullable=True))
        batch_op.add_column(sa.Column("summary_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_alert_outbox_given_up", ["channel_id", "given_up_at"], unique=False)

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("parent_key")

    with op.batch_alter_table("alert_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_outbox_given_up")
        batch_op.drop_column("summary_id")
        batch_op.drop_column("given_up_at")
        batch_op.drop_column("top_level")
        batch_op.drop_column("first_claimed_at")
        batch_op.drop_column("failing_since")
        batch_op.drop_column("failures")
