"""The limits commission: disputed zones, their parties, geometry history and case
files, detection runs, and the INEGI locality polygons the commission reads zones
against.

``disputed_zones`` and ``disputed_zone_parties`` bump the ``disputed_zones`` layer
counter (OGC API collection). ``case_events`` and ``disputed_zone_geometries`` are
append-only: an UPDATE is refused by a trigger on both engines.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import (
    Geometry,
    alembic_helpers,  # noqa: F401  (registers the geospatial operations)
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

# table -> the layer whose counter it bumps
TRACKED = {
    "disputed_zones": "disputed_zones",
    "disputed_zone_parties": "disputed_zones",
}
APPEND_ONLY = ("case_events", "disputed_zone_geometries")


def geom(kind):
    return Geometry(kind, srid=4326, spatial_index=False)


def spatial_index(table, column="geom"):
    op.create_geospatial_index(f"idx_{table}_{column}", table, [column], postgresql_using="gist")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"

    op.create_table(
        "detection_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("scope_label", sa.Text, nullable=False),
        sa.Column("as_of", TZ, nullable=False),
        sa.Column("min_area_m2", sa.Float, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("municipalities", sa.Integer, nullable=False, server_default="0"),
        sa.Column("official_fallbacks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("overlaps", sa.Integer, nullable=False, server_default="0"),
        sa.Column("gaps", sa.Integer, nullable=False, server_default="0"),
        sa.Column("slivers_ignored", sa.Integer, nullable=False, server_default="0"),
        sa.Column("zones_created", sa.Integer, nullable=False, server_default="0"),
        sa.Column("zones_changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("zones_unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("zones_vanished", sa.Integer, nullable=False, server_default="0"),
        sa.Column("compute_s", sa.Float),
    )

    op.create_geospatial_table(
        "disputed_zones",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text),
        # overlap | gap | manual
        sa.Column("kind", sa.String(16), nullable=False),
        # detected | open | under_review | agreement | resolved | dismissed
        sa.Column("status", sa.String(16), nullable=False),
        # sorted party keys, comma-separated: how re-runs find the same zone again
        sa.Column("parties_key", sa.Text, nullable=False),
        sa.Column("scope", sa.String(64)),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("area_ha", sa.Float, nullable=False),
        sa.Column("perimeter_m", sa.Float, nullable=False),
        sa.Column("contested_length_m", sa.Float, nullable=False),
        # optimistic concurrency: bumped by every change of the zone or its case file
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("geom_revision", sa.Integer, nullable=False),
        sa.Column("detection_run_id", sa.Integer, sa.ForeignKey("detection_runs.id")),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("closed_at", TZ),
        sa.Column("notes", sa.Text),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
    )
    spatial_index("disputed_zones")
    op.create_index("ix_disputed_zones_status", "disputed_zones", ["status"])
    op.create_index("ix_disputed_zones_parties_key", "disputed_zones", ["parties_key"])

    op.create_table(
        "disputed_zone_parties",
        sa.Column(
            "zone_id",
            sa.Integer,
            sa.ForeignKey("disputed_zones.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("cvegeo", sa.String(5), sa.ForeignKey("municipalities.cvegeo"), primary_key=True),
        # the claim of this party in force when the zone was last detected (NULL: its
        # official line stood in, or a zone registered by hand)
        sa.Column("claim_id", sa.Integer, sa.ForeignKey("claims.id")),
    )
    op.create_index("ix_disputed_zone_parties_cvegeo", "disputed_zone_parties", ["cvegeo"])

    op.create_geospatial_table(
        "disputed_zone_geometries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "zone_id",
            sa.Integer,
            sa.ForeignKey("disputed_zones.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer, nullable=False),
        # detected | changed | vanished | registered | decided
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("detection_run_id", sa.Integer, sa.ForeignKey("detection_runs.id")),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("gained_m2", sa.Float, nullable=False),
        sa.Column("lost_m2", sa.Float, nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON")),
        sa.UniqueConstraint("zone_id", "revision", name="uq_disputed_zone_geometries_revision"),
    )
    spatial_index("disputed_zone_geometries")

    op.create_geospatial_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "zone_id",
            sa.Integer,
            sa.ForeignKey("disputed_zones.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # meeting | evidence | proposal | agreement | decision | note | status | detection
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("summary", sa.Text),
        # JSON: place and attendees, document references, parts of a proposal…
        sa.Column("details", sa.Text),
        # the zone's version once this event was appended
        sa.Column("zone_version", sa.Integer, nullable=False),
        # a proposed dividing line or the parts of a decision
        sa.Column("geom", geom("GEOMETRY")),
    )
    spatial_index("case_events")
    op.create_index("ix_case_events_zone_id", "case_events", ["zone_id", "id"])

    op.create_geospatial_table(
        "localities",
        sa.Column("cvegeo", sa.String(9), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        # no foreign key: localities may be imported before their municipalities
        sa.Column("municipality_cvegeo", sa.String(5), nullable=False),
        sa.Column("ambit", sa.String(16)),
        sa.Column("population", sa.Integer),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
    )
    spatial_index("localities")
    op.create_index("ix_localities_municipality", "localities", ["municipality_cvegeo"])

    op.bulk_insert(
        sa.table("layer_versions", sa.column("layer"), sa.column("version")),
        [{"layer": name, "version": 0} for name in sorted(set(TRACKED.values()))],
    )
    for table, layer in TRACKED.items():
        if postgres:
            op.execute(
                f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION linde_bump_layer('{layer}')"
            )
            continue
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_layer_version_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN UPDATE layer_versions SET version = version + 1 "
                f"WHERE layer = '{layer}'; END"
            )

    if postgres:
        op.execute(
            """
            CREATE FUNCTION linde_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END $$
            """
        )
    for table in APPEND_ONLY:
        if postgres:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION linde_append_only()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        op.execute(
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
            if postgres
            else f"DROP TRIGGER IF EXISTS {table}_append_only"
        )
    for table in TRACKED:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_layer_version_{event}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS linde_append_only()")
    op.execute("DELETE FROM layer_versions WHERE layer = 'disputed_zones'")
    op.drop_geospatial_table("localities")
    op.drop_geospatial_table("case_events")
    op.drop_geospatial_table("disputed_zone_geometries")
    op.drop_table("disputed_zone_parties")
    op.drop_geospatial_table("disputed_zones")
    op.drop_table("detection_runs")
