"""Band copies simplified at half a pixel, and kept snapped and projected for the zoom
they are drawn at (PostgreSQL).

Two changes to ``tile_geometries`` (``layers.tile_bands``), both for cold tiles at
zooms 6 to 9, where a tile holds hundreds of municipalities (``bench/tiles.py``):

* the copies are simplified at ``geo.tile_bands.SIMPLIFY_UNITS`` (4) tile units
  instead of 2: still under a pixel, a quarter fewer vertices and bytes; the copies
  already stored are remade here, from the stored rows;
* ``mercator``: each copy snapped to its band's top zoom's grid and projected to
  EPSG:3857, made by the same PostGIS functions a tile runs, so a tile at that zoom
  hands it to ``ST_AsMVTGeom`` as it is (the same bytes, without projecting hundreds
  of polygons each time). On PostgreSQL a ``geometry(Geometry, 3857)``, filled here;
  on SpatiaLite a nullable BLOB that stays NULL (no ``ST_AsMVTGeom`` there: its Python
  encoder reads the lon/lat ``wkb``). The triggers of 0010 delete it with its row.

Revision ID: 0011_tile_bands_mercator
Revises: 0010_tile_bands
Create Date: 2026-12-07
"""

import shapely
import sqlalchemy as sa
from alembic import op

from geo.tile_bands import coverage_bands
from geo.tiles import snap_size_deg

revision = "0011_tile_bands_mercator"
down_revision = "0010_tile_bands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE tile_geometries ADD COLUMN mercator geometry(Geometry, 3857)")
    else:
        op.add_column("tile_geometries", sa.Column("mercator", sa.LargeBinary(), nullable=True))
    as_binary = "ST_AsBinary" if postgres else "AsBinary"
    rows = conn.execute(
        sa.text(
            f"SELECT cvegeo, {as_binary}(geom) FROM municipalities "
            "WHERE geom IS NOT NULL ORDER BY cvegeo"
        )
    ).all()
    op.execute("DELETE FROM tile_geometries WHERE layer = 'municipalities'")
    if not rows:
        return
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    bands = coverage_bands(list(geoms))
    conn.execute(
        sa.text(
            "INSERT INTO tile_geometries (layer, band, key, wkb) VALUES (:layer, :band, :key, :wkb)"
        ).bindparams(sa.bindparam("wkb", type_=sa.LargeBinary())),
        [
            {"layer": "municipalities", "band": top, "key": r[0], "wkb": wkb}
            for top, copies in bands.items()
            for r, wkb in zip(rows, shapely.to_wkb(copies), strict=True)
        ],
    )
    if postgres:  # as layers.tile_bands.refresh: the band's top zoom's grid, then EPSG:3857
        conn.execute(
            sa.text(
                "UPDATE tile_geometries SET mercator = ST_Transform(ST_SnapToGrid("
                "ST_SetSRID(ST_WKBToSQL(wkb), 4326), :snap), 3857) WHERE band = :band"
            ),
            [{"snap": snap_size_deg(top), "band": top} for top in bands],
        )


def downgrade() -> None:
    op.drop_column("tile_geometries", "mercator")
