"""What a deployment replaced (issue 19): the agent status's `previousRevision`, kept whatever its
phase, so a bad deploy is compared with the deployment before it even when the app never saw a
session of that one, and an agent's first deployment is never called a change.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_deployment_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("replaced_deployment_id")
