"""One back-off per destination (issue 19, items 14-15): channel_state counts failed attempts in a row.

A Slack channel in trouble (or refusing posts) and PagerDuty share one back-off per destination,
set from this streak; the first success resets it and pulls every held row forward.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.drop_column("failures")
