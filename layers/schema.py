"""The tables of Linde, as SQLAlchemy Core with GeoAlchemy2 geometry columns.

Geometry is stored in EPSG:4326 (lon/lat). Every geometry column has a spatial
index (GiST on PostGIS, an R*Tree virtual table on SpatiaLite). The schema is
created and changed only by the migrations in ``layers/migrations``; this module
mirrors the current head so queries can be written against it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

SRID = 4326

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, always UTC and timezone-aware in Python, on both engines.

    PostGIS stores ``timestamptz``; SQLite has no time zone type and would keep the
    wall-clock time and drop the offset, so values are converted to UTC before they
    are stored or compared, and read back as UTC. A naive value is refused: it would
    mean a different moment depending on the server's time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a time zone (UTC)")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def geometry(kind: str) -> Geometry:
    return Geometry(kind, srid=SRID, spatial_index=True)


municipalities = Table(
    "municipalities",
    metadata,
    Column("cvegeo", String(5), primary_key=True),
    Column("name", Text, nullable=False),
    Column("state_code", String(2), nullable=False),
    Column("state_name", Text, nullable=False),
    Column("population", Integer),
    Column("dwellings", Integer),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("geom", geometry("MULTIPOLYGON"), nullable=False),
)

# Every official geometry a municipality has had, the current one included.
municipality_versions = Table(
    "municipality_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cvegeo", String(5), ForeignKey("municipalities.cvegeo"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("population", Integer),
    Column("dwellings", Integer),
    Column("source", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_to", UTCDateTime()),
    Column("import_run_id", Integer, ForeignKey("import_runs.id")),
    Column("geom", geometry("MULTIPOLYGON"), nullable=False),
    UniqueConstraint("cvegeo", "version", name="uq_municipality_versions_cvegeo_version"),
)

metro_zones = Table(
    "metro_zones",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("name", Text, nullable=False),
    Column("delimitation_year", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Union of the member municipalities present; NULL until one of them is imported.
    Column("geom", geometry("MULTIPOLYGON")),
)

metro_zone_members = Table(
    "metro_zone_members",
    metadata,
    Column(
        "zone_code",
        String(16),
        ForeignKey("metro_zones.code", ondelete="CASCADE"),
        primary_key=True,
    ),
    # No foreign key: a delimitation may be imported before its municipalities.
    Column("cvegeo", String(5), primary_key=True),
    Column("member_name", Text, nullable=False),
)

claims = Table(
    "claims",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cvegeo", String(5), ForeignKey("municipalities.cvegeo"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", String(32), nullable=False),
    Column("source_reference", Text),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_to", UTCDateTime()),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("notes", Text),
    Column("geom", geometry("MULTIPOLYGON"), nullable=False),
    UniqueConstraint("cvegeo", "version", name="uq_claims_cvegeo_version"),
)

rivers = Table(
    "rivers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("federal_zone_width_m", Float, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("geom", geometry("MULTILINESTRING"), nullable=False),
)

inspections = Table(
    "inspections",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("observed_at", UTCDateTime(), nullable=False),
    Column("category", String(32), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("description", Text),
    Column("gps_accuracy_m", Float),
    Column("inspector", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("geom", geometry("POINT"), nullable=False),
    # migration 0004: capture, review and the annotations made on arrival
    Column("recorded_by", Text),
    # hash of the submitted content: a retry with the same id must carry the same one
    Column("content_sha256", String(64)),
    Column("import_run_id", Integer),
    Column("review_status", String(16), nullable=False, server_default="pending"),
    Column("follow_up_status", String(16), nullable=False, server_default="open"),
    Column("referred_to", String(5)),
    Column("municipality_cvegeo", String(5)),
    Column("municipality_name", Text),
    # comma-separated, ordered keys of the municipalities whose claim in force at
    # observed_at contains the point
    Column("claim_cvegeos", Text),
    Column("metro_zone_codes", Text),
    Column("disputed_zone_id", Integer),
    Column("dispute", Text),
    Column("river_id", Integer),
    Column("river_name", Text),
    Column("river_distance_m", Float),
    Column("chainage_m", Float),
    Column("bank_side", String(8)),
    Column("in_federal_zone", Boolean),
    Column("annotated_at", UTCDateTime()),
    # migration 0007: the device's UTC offset (minutes) in observed_at; NULL when not kept
    Column("observed_offset_min", SmallInteger),
    # migration 0008: grows with every review or follow-up move (If-Match on review)
    Column("version", Integer, nullable=False, server_default="1"),
)

# The categories inspectors choose from; the admin adds to them.
inspection_categories = Table(
    "inspection_categories",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("label", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Photos live in a folder outside the database, named by their SHA-256.
inspection_photos = Table(
    "inspection_photos",
    metadata,
    Column(
        "inspection_id",
        String(36),
        ForeignKey("inspections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(32), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("file_name", Text),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Every review or follow-up change: who, when, from what to what.
inspection_events = Table(
    "inspection_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "inspection_id",
        String(36),
        ForeignKey("inspections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("referred_to", String(5)),
    Column("note", Text),
    Column("actor", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime()),
    # migration 0006: an argon2 hash (pwdlib); NULL: no password, tokens only
    Column("password_hash", Text),
    Column("password_changed_at", UTCDateTime()),
    # the municipality the user acts for (INEGI cvegeo); NULL: the state (no party)
    Column("cvegeo", String(5)),
)

# Browser sessions (migration 0006). Kept in the database, never in a worker's memory,
# so every worker agrees at once when one ends. The cookie holds a random id; only its
# SHA-256 is stored.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("sid_sha256", String(64), nullable=False, unique=True),
    # the per-session token a state-changing request must echo (X-CSRF-Token / csrf field)
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("address", Text),
    Column("user_agent", Text),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    # migration 0005: NULL never expires (tokens made before it)
    Column("expires_at", UTCDateTime()),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("actor", Text, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("created", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("entity_id", Text),
    Column("details", Text),
)

# Change counters of the published layers, bumped by triggers (migration 0002). The
# rows are made by the migration and never deleted: a layer's ETags depend on them.
layer_versions = Table(
    "layer_versions",
    metadata,
    Column("layer", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
    #: the log in ``layer_changes`` is complete after this counter value (migration 0007)
    Column("changes_from", BigInteger, nullable=False, server_default="0"),
)

# Where each change of a layer happened (migration 0007): the lon/lat box of the old
# and new geometry, logged by the same trigger that bumps the counter, under the value
# it bumped to; NULL box: the whole layer. Vector tiles keep their ETag unless a change
# meets them (``layers.tile_changes``). Indexed on (layer, version) by the migration.
layer_changes = Table(
    "layer_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("layer", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("west", Float),
    Column("south", Float),
    Column("east", Float),
    Column("north", Float),
)

# A layer's geometry simplified per band of zooms, for vector tiles (migration 0010;
# ``layers.tile_bands``): one row per (layer, band, feature key), the band named by its
# top zoom, the copy as plain WKB in lon/lat (read whole, never searched). Triggers
# delete a feature's copies when its geometry or key changes or it is deleted, and a
# tile without a copy draws the row's own geometry: never a stale outline.
# ``mercator`` (migration 0011, PostgreSQL only; NULL on SpatiaLite, whose Python
# encoder reads ``wkb``): the copy already snapped to its top zoom's grid and projected
# to EPSG:3857, what a tile at that zoom hands ST_AsMVTGeom. Read by key like ``wkb``,
# never searched by place, so it has no spatial index.
tile_geometries = Table(
    "tile_geometries",
    metadata,
    Column("layer", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("band", SmallInteger, primary_key=True),
    Column("wkb", LargeBinary, nullable=False),
    Column("mercator", Geometry("GEOMETRY", srid=3857, spatial_index=False), nullable=True),
)

# --- the limits commission (migration 0003) ---

detection_runs = Table(
    "detection_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(64), nullable=False),
    Column("scope_label", Text, nullable=False),
    Column("as_of", UTCDateTime(), nullable=False),
    Column("min_area_m2", Float, nullable=False),
    Column("actor", Text, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("municipalities", Integer, nullable=False, default=0),
    Column("official_fallbacks", Integer, nullable=False, default=0),
    Column("overlaps", Integer, nullable=False, default=0),
    Column("gaps", Integer, nullable=False, default=0),
    Column("slivers_ignored", Integer, nullable=False, default=0),
    Column("zones_created", Integer, nullable=False, default=0),
    Column("zones_changed", Integer, nullable=False, default=0),
    Column("zones_unchanged", Integer, nullable=False, default=0),
    Column("zones_vanished", Integer, nullable=False, default=0),
    Column("compute_s", Float),
)

disputed_zones = Table(
    "disputed_zones",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text),
    Column("kind", String(16), nullable=False),  # overlap | gap | manual
    # detected | open | under_review | agreement | resolved | dismissed
    Column("status", String(16), nullable=False),
    Column("parties_key", Text, nullable=False),  # sorted cvegeos, comma-separated
    Column("scope", String(64)),
    Column("area_m2", Float, nullable=False),
    Column("area_ha", Float, nullable=False),
    Column("perimeter_m", Float, nullable=False),
    Column("contested_length_m", Float, nullable=False),
    Column("version", Integer, nullable=False),  # ETag / If-Match
    Column("geom_revision", Integer, nullable=False),
    Column("detection_run_id", Integer, ForeignKey("detection_runs.id")),
    Column("created_by", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("notes", Text),
    Column("geom", geometry("MULTIPOLYGON"), nullable=False),
)

disputed_zone_parties = Table(
    "disputed_zone_parties",
    metadata,
    Column(
        "zone_id",
        Integer,
        ForeignKey("disputed_zones.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("cvegeo", String(5), ForeignKey("municipalities.cvegeo"), primary_key=True),
    Column("claim_id", Integer, ForeignKey("claims.id")),
)

# Append-only (trigger): every geometry a zone has had, with what it gained and lost.
disputed_zone_geometries = Table(
    "disputed_zone_geometries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("zone_id", Integer, ForeignKey("disputed_zones.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("change", String(16), nullable=False),
    Column("detection_run_id", Integer, ForeignKey("detection_runs.id")),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("gained_m2", Float, nullable=False),
    Column("lost_m2", Float, nullable=False),
    Column("geom", geometry("MULTIPOLYGON")),
    UniqueConstraint("zone_id", "revision", name="uq_disputed_zone_geometries_revision"),
)

# Append-only (trigger): the case file of each zone.
case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("zone_id", Integer, ForeignKey("disputed_zones.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("summary", Text),
    Column("details", Text),
    Column("zone_version", Integer, nullable=False),
    Column("geom", geometry("GEOMETRY")),
)

localities = Table(
    "localities",
    metadata,
    Column("cvegeo", String(9), primary_key=True),
    Column("name", Text, nullable=False),
    Column("municipality_cvegeo", String(5), nullable=False),
    Column("ambit", String(16)),
    Column("population", Integer),
    Column("source", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("geom", geometry("MULTIPOLYGON"), nullable=False),
)
