"""Supervisors' review: each inspection carries a version, so a stale review is refused.

* ``inspections.version``: starts at 1 (old rows too) and grows by one with every review or
  follow-up move; a move names the version it read (``If-Match``), as disputed zones do.

Revision ID: 0008_review
Revises: 0006_signin
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_review"
down_revision = "0007_observed_offset"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("version")
