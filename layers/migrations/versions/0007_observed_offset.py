"""The device's UTC offset at the moment of an inspection.

* ``inspections.observed_offset_min``: the offset from UTC, in minutes, that the
  phone's clock carried in ``observed_at`` (``-360`` for UTC-06:00). ``observed_at``
  stays the instant in UTC; with this the local time the inspector saw is shown.
  Rows stored before this revision, and rows from imported files, keep NULL: their
  offset was not kept, and is not guessed.

Revision ID: 0007_observed_offset
Revises: 0006_signin
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_observed_offset"
down_revision = "0006_signin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.add_column(sa.Column("observed_offset_min", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("observed_offset_min")
