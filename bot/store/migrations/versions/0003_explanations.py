"""Explaining alerts (issue 12): session causes, fingerprints, deployments and deploy rates, reply edits.

Landed on main before Alembic did; generated with `alembic revision --autogenerate`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:43:03.534660
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deploy_rates",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("agent"),
    )
    op.create_table(
        "deployments",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("went_live_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("agent", "deployment_id", name="pk_deployments"),
    )
    op.create_table(
        "fingerprint_incidents",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("agent", "fingerprint", "incident_id", name="pk_fingerprint_incidents"),
    )
    op.create_table(
        "fingerprints",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("example_session_id", sa.String(length=64), nullable=False),
        sa.Column("last_incident_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("agent", "fingerprint", name="pk_fingerprints"),
    )
    with op.batch_alter_table("fingerprints", schema=None) as batch_op:
        batch_op.create_index("ix_fingerprints_last_seen", ["agent", "last_seen_at"], unique=False)

    op.create_table(
        "reply_edits",
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("dedup_key"),
    )
    with op.batch_alter_table("reply_edits", schema=None) as batch_op:
        batch_op.create_index("ix_reply_edits_channel", ["channel_id"], unique=False)

    op.create_table(
        "session_causes",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=True),
        sa.Column("quote", sa.Text(), nullable=True),
        sa.Column("deployment_id", sa.String(length=64), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("agent", "session_id", name="pk_session_causes"),
    )
    with op.batch_alter_table("session_causes", schema=None) as batch_op:
        batch_op.create_index("ix_session_causes_fingerprint", ["agent", "fingerprint"], unique=False)
        batch_op.create_index("ix_session_causes_state", ["agent", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("session_causes", schema=None) as batch_op:
        batch_op.drop_index("ix_session_causes_state")
        batch_op.drop_index("ix_session_causes_fingerprint")

    op.drop_table("session_causes")
    with op.batch_alter_table("reply_edits", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_edits_channel")

    op.drop_table("reply_edits")
    with op.batch_alter_table("fingerprints", schema=None) as batch_op:
        batch_op.drop_index("ix_fingerprints_last_seen")

    op.drop_table("fingerprints")
    op.drop_table("fingerprint_incidents")
    op.drop_table("deployments")
    op.drop_table("deploy_rates")
