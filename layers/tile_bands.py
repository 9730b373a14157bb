"""Stored per-band copies of a layer's geometry, and how a tile reads them.

``tile_geometries`` (migration 0010) holds, for each banded layer, band of zooms and
feature, the copy ``geo.tile_bands`` simplified for that band. A tile reads the copy
with an outer join on the feature's key and the band, and draws the row's own
geometry where there is none.

Never a stale outline: the migration's triggers delete a feature's copies in the very
statement that changes its geometry or key or deletes it, whoever writes it (the
importer, plain SQL, a restore), so a tile drawn after that commit sees the row at
full detail until the copies are remade. Whoever writes the layer remakes them in
its own transaction (:func:`refresh`; the municipal importer does), the transaction
whose commit moves the layer's change counter and so the tiles' ETags. Writing the
copies touches no tracked table: it bumps no counter and logs no change.

Only the municipalities are banded: they form a coverage, simplified together so
neighbours keep their shared edges (``geo.tile_bands.coverage_bands``), and they are
the polygon layer a state or national map draws. Both engines read the same stored
copies through the same tile pipeline, so their tiles stay equal.

On PostgreSQL each copy is also kept as a tile at its band's top zoom hands it to
``ST_AsMVTGeom``: snapped to that zoom's grid and projected (``mercator``, migration
0011), made by the very expression a tile would run (:func:`snapped_mercator`), so
the tile's bytes are the same and a cold tile skips that work. Other zooms of the band
(below zoom 6, zoom 11) snap and project the lon/lat copy as before.
"""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2 import Geometry
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    FromClause,
    LargeBinary,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from geo.tile_bands import BAND_TOPS, coverage_bands
from geo.tiles import snap_size_deg
from layers.collections import Collection
from layers.schema import SRID, municipalities, tile_geometries

#: collection id -> the column its features' copies are keyed by (only coverages for
#: now; see the module). The migration's triggers must cover each one.
BANDED: dict[str, Column[Any]] = {"municipalities": municipalities.c.cvegeo}
#: the band value that matches no copy (zooms beyond the last band)
NO_BAND = -1


def banded(c: Collection) -> Column[Any] | None:
    """The key column of ``c``'s band copies; None when its tiles draw the full geometry."""
    return BANDED.get(c.id)


def band_source(c: Collection, key: Column[Any], band: Any) -> FromClause:
    """``c``'s rows, each with its copy for ``band`` (a value or a bound parameter)
    where there is one."""
    t = tile_geometries.c
    return c.source.outerjoin(
        tile_geometries, and_(t.layer == literal(c.id), t.key == key, t.band == band)
    )


def band_wkb(c: Collection) -> ColumnElement[Any]:
    """SpatiaLite: the geometry a tile draws, as WKB for the Python encoder: the band's
    copy, else the row's own. (PostGIS draws :func:`band_mercator`.)"""
    return func.coalesce(tile_geometries.c.wkb, func.AsBinary(c.geometry), type_=LargeBinary)


def _lonlat_copy() -> ColumnElement[Any]:
    """PostGIS: the stored copy as a geometry (EPSG:4326)."""
    # not ST_GeomFromWKB: GeoAlchemy2 compiles that for literal WKB only
    return func.ST_SetSRID(func.ST_WKBToSQL(tile_geometries.c.wkb), SRID, type_=Geometry)


def snapped_mercator(geometry: Any, snap: Any) -> ColumnElement[Any]:
    """PostGIS: ``geometry`` (lon/lat) snapped to a zoom's grid of ``snap`` degrees
    (``geo.tiles.snap_size_deg``) and projected to EPSG:3857, what a tile hands
    ``ST_AsMVTGeom``. The one definition, for tiles and for the stored copies."""
    snapped = func.ST_SnapToGrid(geometry, snap, type_=Geometry)
    return func.ST_Transform(snapped, 3857, type_=Geometry)


def band_mercator(c: Collection, snap: Any, zoom: Any) -> ColumnElement[Any]:
    """PostGIS, a banded layer: what a tile at ``zoom`` hands ``ST_AsMVTGeom``. The
    stored ``mercator`` copy when ``zoom`` is its band's top zoom (made by
    :func:`snapped_mercator` with that zoom's grid: the same geometry); else the band's
    copy, or the row's own geometry, snapped and projected now."""
    t = tile_geometries.c
    ready = case((t.band == zoom, t.mercator), else_=None)
    lonlat = func.coalesce(_lonlat_copy(), c.geometry, type_=Geometry)
    drawn = snapped_mercator(lonlat, snap)
    return func.coalesce(ready, drawn, type_=Geometry)


def lock_for_refresh(conn: Connection, layer: str = "municipalities") -> None:
    """Keep other writers of ``layer``'s table out until the caller's transaction ends.

    Take it before writing the table, in a transaction that ends with :func:`refresh`.
    Without it, on PostgreSQL, a plain ``UPDATE`` of another row while the copies are
    remade could have its trigger miss the copy just made from that row's old
    geometry (the trigger's ``DELETE`` does not see rows committed after it started)
    and leave it stale. ``SHARE ROW EXCLUSIVE`` conflicts with every writer and with
    itself (two imports run one after the other), never with readers. SQLite's write
    transactions hold the whole file already: nothing to do.
    """
    key = BANDED.get(layer)
    if key is not None and conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {key.table.name} IN SHARE ROW EXCLUSIVE MODE"))


def refresh(conn: Connection, layer: str = "municipalities") -> int:
    """Remake every band copy of ``layer`` from its rows as they are now, in the caller's
    transaction; the number of features. A layer that is not banded: 0, nothing done.

    The whole layer at once: a coverage's shared edges are simplified together, so
    one changed polygon can move its neighbours' copies too (Oaxaca state's 570
    municipalities: about a second). Takes :func:`lock_for_refresh` if the caller
    has not (better before its own writes: two writers that both wrote first would
    wait for each other, and PostgreSQL would abort one).
    """
    key = BANDED.get(layer)
    if key is None:
        return 0
    lock_for_refresh(conn, layer)
    geom = key.table.c.geom
    as_wkb = func.ST_AsBinary if conn.dialect.name == "postgresql" else func.AsBinary
    rows = conn.execute(
        select(key, as_wkb(geom, type_=LargeBinary)).where(geom.is_not(None)).order_by(key)
    ).all()
    conn.execute(delete(tile_geometries).where(tile_geometries.c.layer == layer))
    if not rows:
        return 0
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    conn.execute(
        insert(tile_geometries),
        [
            {"layer": layer, "key": r[0], "band": top, "wkb": wkb}
            for top, copies in coverage_bands(list(geoms)).items()
            for r, wkb in zip(rows, shapely.to_wkb(copies), strict=True)
        ],
    )
    if conn.dialect.name == "postgresql":
        _fill_mercator(conn, layer)
    return len(rows)


def _fill_mercator(conn: Connection, layer: str) -> None:
    """Make the ``mercator`` copy of each of ``layer``'s copies (PostgreSQL), in SQL with
    :func:`snapped_mercator`, so it is exactly what a tile at the band's top zoom made."""
    t = tile_geometries.c
    conn.execute(
        update(tile_geometries)
        .where(t.layer == layer, t.band == bindparam("top"))
        .values(mercator=snapped_mercator(_lonlat_copy(), bindparam("snap"))),
        [{"top": top, "snap": snap_size_deg(top)} for top in BAND_TOPS],
    )
