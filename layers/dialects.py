"""The SQL that differs between PostGIS and SpatiaLite, chosen by dialect name.

Both engines keep an R-tree over every geometry column, but only PostgreSQL's
planner uses it by itself: SpatiaLite needs the candidate rows asked of the
``idx_<table>_<column>`` virtual table explicitly. ``bbox_candidates`` hides that.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, and_, column, func, literal_column, select, table
from sqlalchemy.engine import Dialect

from layers.schema import SRID

BBox = tuple[float, float, float, float]


def bbox_candidates(
    dialect: Dialect, tbl: Table, bbox: BBox, geom_column: str = "geom"
) -> ColumnElement[bool]:
    """A condition true for rows whose geometry's bounding box meets ``bbox`` (lon/lat).

    Uses the spatial index on both engines. It is a coarse filter: combine it with an
    exact predicate such as ``ST_Intersects``.
    """
    minx, miny, maxx, maxy = bbox
    geom = tbl.c[geom_column]
    if dialect.name == "postgresql":
        envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
        return geom.op("&&")(envelope)
    rtree = table(
        f"idx_{tbl.name}_{geom_column}",
        column("pkid"),
        column("xmin"),
        column("xmax"),
        column("ymin"),
        column("ymax"),
    )
    candidates = select(rtree.c.pkid).where(
        rtree.c.xmin <= maxx, rtree.c.xmax >= minx, rtree.c.ymin <= maxy, rtree.c.ymax >= miny
    )
    return literal_column(f'"{tbl.name}".rowid').in_(candidates)


def point(dialect: Dialect, lon: float, lat: float) -> ColumnElement[bytes]:
    """A lon/lat point in EPSG:4326 as a SQL expression with bound parameters."""
    if dialect.name == "postgresql":
        return func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)
    return func.MakePoint(lon, lat, SRID)


def intersects_point(dialect: Dialect, tbl: Table, lon: float, lat: float) -> ColumnElement[bool]:
    """Rows of ``tbl`` whose geometry contains or touches the point, through the index."""
    return and_(
        bbox_candidates(dialect, tbl, (lon, lat, lon, lat)),
        func.ST_Intersects(tbl.c.geom, point(dialect, lon, lat)),
    )
