"""Who acknowledged a rate alert's episode, and when (issue 23): first click wins across channels.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_acks",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("episode_key", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("ack_by", sa.String(length=32), nullable=False),
        sa.Column("ack_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("agent", "episode_key", "opened_at", name="pk_rate_acks"),
    )


def downgrade() -> None:
    op.drop_table("rate_acks")
