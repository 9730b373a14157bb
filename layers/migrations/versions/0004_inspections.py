"""Field inspections: exactly-once capture, annotation on arrival, photos, review.

Extends the spine's ``inspections`` table in place (existing rows keep every value;
they get ``review_status`` pending and ``follow_up_status`` open, and their
annotations are filled by ``layers.migrate.upgrade`` right after this revision),
and adds the category list, the photos and the review history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

CATEGORIES = [
    ("water_contamination", "Contaminación del agua"),
    ("solid_waste", "Residuos sólidos"),
    ("debris_fill", "Relleno con escombro"),
    ("informal_parking", "Estacionamiento informal"),
    ("discharge", "Descarga"),
    ("other", "Otro"),
]

ANNOTATION_COLUMNS: list[sa.Column] = [
    sa.Column("municipality_cvegeo", sa.String(5)),
    sa.Column("municipality_name", sa.Text),
    sa.Column("claim_cvegeos", sa.Text),
    sa.Column("metro_zone_codes", sa.Text),
    sa.Column("disputed_zone_id", sa.Integer),
    sa.Column("dispute", sa.Text),
    sa.Column("river_id", sa.Integer),
    sa.Column("river_name", sa.Text),
    sa.Column("river_distance_m", sa.Float),
    sa.Column("chainage_m", sa.Float),
    sa.Column("bank_side", sa.String(8)),
    sa.Column("in_federal_zone", sa.Boolean),
    sa.Column("annotated_at", TZ),
]


def upgrade() -> None:
    op.create_table(
        "inspection_categories",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        sa.table(
            "inspection_categories",
            sa.column("code"),
            sa.column("label"),
            sa.column("created_by"),
            sa.column("created_at", TZ),
        ),
        [
            {"code": c, "label": label, "created_by": "migration 0004", "created_at": now}
            for c, label in CATEGORIES
        ],
    )
    # Rows of the demo (or anything earlier) may carry a category not in the list: keep it.
    op.execute(
        "INSERT INTO inspection_categories (code, label, created_by, created_at) "
        "SELECT DISTINCT category, category, 'migration 0004', "
        f"{'now()' if op.get_bind().dialect.name == 'postgresql' else 'CURRENT_TIMESTAMP'} "
        "FROM inspections WHERE category NOT IN (SELECT code FROM inspection_categories)"
    )

    if op.get_bind().dialect.name == "postgresql":
        # ids are compared as bytes: a UUID needs no linguistic collation, and the primary
        # key of a table filled 100,000 rows at a time is maintained ~1.5x faster with "C"
        op.execute('ALTER TABLE inspections ALTER COLUMN id TYPE varchar(36) COLLATE "C"')
    new_columns: list[sa.Column] = [
        sa.Column("recorded_by", sa.Text),
        sa.Column("content_sha256", sa.String(64)),
        sa.Column("import_run_id", sa.Integer),
        sa.Column("review_status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("follow_up_status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("referred_to", sa.String(5)),
        *ANNOTATION_COLUMNS,
    ]
    for column in new_columns:
        op.add_column("inspections", column)
    # Every index costs on a 100,000-row import: only those the refreshes and the usual
    # filters need; the rare states are partial indexes (kept tiny).
    for name, columns in {
        "ix_inspections_municipality": ["municipality_cvegeo"],
        "ix_inspections_river_chainage": ["river_id", "chainage_m"],
        "ix_inspections_observed_at": ["observed_at"],
    }.items():
        op.create_index(name, "inspections", columns)
    for name, indexed, where in (
        ("ix_inspections_disputed_zone", "disputed_zone_id", "disputed_zone_id IS NOT NULL"),
        ("ix_inspections_unannotated", "annotated_at", "annotated_at IS NULL"),
    ):
        op.create_index(
            name,
            "inspections",
            [indexed],
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )

    op.create_table(
        "inspection_photos",
        sa.Column(
            "inspection_id",
            sa.String(36),
            sa.ForeignKey("inspections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("file_name", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "inspection_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "inspection_id",
            sa.String(36),
            sa.ForeignKey("inspections.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("referred_to", sa.String(5)),
        sa.Column("note", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_inspection_events_inspection", "inspection_events", ["inspection_id"])


def downgrade() -> None:
    op.drop_table("inspection_events")
    op.drop_table("inspection_photos")
    for name in (
        "ix_inspections_municipality",
        "ix_inspections_river_chainage",
        "ix_inspections_observed_at",
        "ix_inspections_disputed_zone",
        "ix_inspections_unannotated",
    ):
        op.drop_index(name, "inspections")
    with op.batch_alter_table("inspections") as batch:
        for column in [
            "recorded_by",
            "content_sha256",
            "import_run_id",
            "review_status",
            "follow_up_status",
            "referred_to",
            *(c.name for c in ANNOTATION_COLUMNS),
        ]:
            batch.drop_column(column)
    op.drop_table("inspection_categories")
