"""Daily digests (issue 13): digest_settings; polling (issue 15): poll_state.backfill_from.

Landed on main before Alembic did; generated with `alembic revision --autogenerate`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:56:57.386174
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_settings",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("enabled_by", sa.String(length=32), nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    with op.batch_alter_table("poll_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backfill_from", sa.DateTime(timezone=False), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll_state", schema=None) as batch_op:
        batch_op.drop_column("backfill_from")

    op.drop_table("digest_settings")
