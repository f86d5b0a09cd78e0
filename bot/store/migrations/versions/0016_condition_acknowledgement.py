"""Who acknowledged an agent health (or webhook) condition occurrence, and when (issue 23).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_conditions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("ack_at", sa.DateTime(timezone=False), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_conditions", schema=None) as batch_op:
        batch_op.drop_column("ack_at")
        batch_op.drop_column("ack_by")
