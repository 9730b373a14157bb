"""The spine: municipalities and their versions, metro zones, claims, rivers,
inspection points, users and tokens, import runs and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import (
    Geometry,
    alembic_helpers,  # noqa: F401  (registers the geospatial operations)
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def geom(kind):
    return Geometry(kind, srid=4326, spatial_index=False)


def spatial_index(table, column="geom"):
    op.create_geospatial_index(f"idx_{table}_{column}", table, [column], postgresql_using="gist")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
    )
    op.create_geospatial_table(
        "municipalities",
        sa.Column("cvegeo", sa.String(5), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("state_code", sa.String(2), nullable=False),
        sa.Column("state_name", sa.Text, nullable=False),
        sa.Column("population", sa.Integer),
        sa.Column("dwellings", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("valid_from", TZ, nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
    )
    spatial_index("municipalities")
    op.create_index("ix_municipalities_state_code", "municipalities", ["state_code"])

    op.create_geospatial_table(
        "municipality_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("cvegeo", sa.String(5), sa.ForeignKey("municipalities.cvegeo"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("population", sa.Integer),
        sa.Column("dwellings", sa.Integer),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("valid_from", TZ, nullable=False),
        sa.Column("valid_to", TZ),
        sa.Column("import_run_id", sa.Integer, sa.ForeignKey("import_runs.id")),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
        sa.UniqueConstraint("cvegeo", "version", name="uq_municipality_versions_cvegeo_version"),
    )
    spatial_index("municipality_versions")

    op.create_geospatial_table(
        "metro_zones",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("delimitation_year", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON")),
    )
    spatial_index("metro_zones")
    op.create_table(
        "metro_zone_members",
        sa.Column(
            "zone_code",
            sa.String(16),
            sa.ForeignKey("metro_zones.code", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("cvegeo", sa.String(5), primary_key=True),
        sa.Column("member_name", sa.Text, nullable=False),
    )
    op.create_index("ix_metro_zone_members_cvegeo", "metro_zone_members", ["cvegeo"])

    op.create_geospatial_table(
        "claims",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("cvegeo", sa.String(5), sa.ForeignKey("municipalities.cvegeo"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_reference", sa.Text),
        sa.Column("valid_from", TZ, nullable=False),
        sa.Column("valid_to", TZ),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
        sa.UniqueConstraint("cvegeo", "version", name="uq_claims_cvegeo_version"),
    )
    spatial_index("claims")

    op.create_geospatial_table(
        "rivers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("federal_zone_width_m", sa.Float, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("geom", geom("MULTILINESTRING"), nullable=False),
    )
    spatial_index("rivers")

    op.create_geospatial_table(
        "inspections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("observed_at", TZ, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("gps_accuracy_m", sa.Float),
        sa.Column("inspector", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("geom", geom("POINT"), nullable=False),
    )
    spatial_index("inspections")

    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.Text),
        sa.Column("details", sa.Text),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])


def downgrade() -> None:
    for table in ("audit_log", "api_tokens", "users"):
        op.drop_table(table)
    for table in (
        "inspections",
        "rivers",
        "claims",
        "metro_zone_members",
        "metro_zones",
        "municipality_versions",
        "municipalities",
    ):
        if table == "metro_zone_members":
            op.drop_table(table)
        else:
            op.drop_geospatial_table(table)
    op.drop_table("import_runs")
