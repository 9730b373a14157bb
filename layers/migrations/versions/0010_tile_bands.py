"""Geometry prepared per band of zooms for vector tiles (``tile_geometries``).

A cold low-zoom tile of municipalities spent most of its time clipping, projecting
and quantising full-detail polygons. ``tile_geometries`` keeps, per layer, band of
zooms and feature, a copy simplified for that band (``geo.tile_bands``); a tile
reads the copy where there is one, else the row's own geometry
(``layers.tile_bands``).

Copies are never stale: triggers delete a municipality's copies in the statement
that changes its geometry or key or deletes it (a row trigger on both engines, and
on PostgreSQL a TRUNCATE trigger too), whoever writes it (the importer, plain SQL,
a restore). The importer then remakes the whole layer's copies in its transaction.

The copies of the municipalities already stored are made here, so an upgraded
database serves the cheaper tiles at once.

Revision ID: 0010_tile_bands
Revises: 0009_tile_changes
Create Date: 2026-12-07
"""

import shapely
import sqlalchemy as sa
from alembic import op

from geo.tile_bands import coverage_bands

revision = "0010_tile_bands"
down_revision = "0009_tile_changes"
branch_labels = None
depends_on = None

_PG_FUNCTIONS = """
CREATE FUNCTION linde_drop_municipality_bands() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM tile_geometries WHERE layer = 'municipalities' AND key = OLD.cvegeo;
  RETURN NULL;
END $$;
CREATE FUNCTION linde_drop_all_municipality_bands() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM tile_geometries WHERE layer = 'municipalities';
  RETURN NULL;
END $$;
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER municipalities_tile_bands AFTER UPDATE OF geom, cvegeo OR DELETE "
    "ON municipalities FOR EACH ROW EXECUTE FUNCTION linde_drop_municipality_bands()",
    "CREATE TRIGGER municipalities_tile_bands_truncate AFTER TRUNCATE ON municipalities "
    "FOR EACH STATEMENT EXECUTE FUNCTION linde_drop_all_municipality_bands()",
)
_SQLITE_DROP = "DELETE FROM tile_geometries WHERE layer = 'municipalities' AND key = OLD.cvegeo;"
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER municipalities_tile_bands_update AFTER UPDATE OF geom, cvegeo "
    f"ON municipalities BEGIN {_SQLITE_DROP} END",
    f"CREATE TRIGGER municipalities_tile_bands_delete AFTER DELETE ON municipalities "
    f"BEGIN {_SQLITE_DROP} END",
)


def upgrade() -> None:
    op.create_table(
        "tile_geometries",
        sa.Column("layer", sa.String(64), primary_key=True),
        # key before band: the triggers delete a feature's copies by (layer, key)
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("band", sa.SmallInteger(), primary_key=True),
        sa.Column("wkb", sa.LargeBinary(), nullable=False),
    )
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_FUNCTIONS)
    for trigger in _PG_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(trigger)
    as_binary = "ST_AsBinary" if postgres else "AsBinary"
    rows = conn.execute(
        sa.text(
            f"SELECT cvegeo, {as_binary}(geom) FROM municipalities "
            "WHERE geom IS NOT NULL ORDER BY cvegeo"
        )
    ).all()
    if not rows:
        return
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    values = [
        {"layer": "municipalities", "band": top, "key": r[0], "wkb": wkb}
        for top, copies in coverage_bands(list(geoms)).items()
        for r, wkb in zip(rows, shapely.to_wkb(copies), strict=True)
    ]
    conn.execute(
        sa.text(
            "INSERT INTO tile_geometries (layer, band, key, wkb) VALUES (:layer, :band, :key, :wkb)"
        ).bindparams(sa.bindparam("wkb", type_=sa.LargeBinary())),
        values,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS municipalities_tile_bands ON municipalities")
        op.execute("DROP TRIGGER IF EXISTS municipalities_tile_bands_truncate ON municipalities")
        op.execute("DROP FUNCTION IF EXISTS linde_drop_municipality_bands()")
        op.execute("DROP FUNCTION IF EXISTS linde_drop_all_municipality_bands()")
    else:
        op.execute("DROP TRIGGER IF EXISTS municipalities_tile_bands_update")
        op.execute("DROP TRIGGER IF EXISTS municipalities_tile_bands_delete")
    op.drop_table("tile_geometries")
