"""Vector tiles (MVT) of a collection, on both engines, with the same content.

PostGIS makes the tile itself (``ST_AsMVT`` over ``ST_AsMVTGeom``); SpatiaLite has
no MVT encoder, so it returns the tile's rows and ``geo.tiles.encode_tile`` encodes
them in Python the way PostGIS does. Both snap every vertex to the same per-zoom
grids (see ``geo.tiles``), so neighbouring municipalities keep their shared edges
at every zoom, and a test decodes both engines' tiles and compares them. Tiles of
the municipalities start from copies simplified per band of zooms
(``layers.tile_bands``), the same stored copies on both engines.

Which properties a tile carries is chosen per collection (:data:`TILE_PROPERTIES`):
what a map styles or labels by, not every column. A client may ask for others with
``properties=``. A tile holds at most :data:`MAX_FEATURES_PER_TILE` features, the
first in the collection's own order. Filters are CQL2-text, compiled by
``layers.cql2.compile_filter`` exactly as for items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import shapely
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Float,
    FromClause,
    Integer,
    LargeBinary,
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.engine import Dialect

from geo.access import RowScope
from geo.errors import InvalidParameter, Problem
from geo.tile_bands import band_for_zoom
from geo.tiles import BUFFER, EXTENT, TileBounds, TileFeature, encode_tile, snap_size_deg
from layers.access import row_condition
from layers.collections import Collection, Kind, Property
from layers.cql2 import compile_filter
from layers.dialects import bbox_candidates
from layers.engine import AsyncReader, DriverStatement
from layers.tile_bands import (
    NO_BAND,
    band_mercator,
    band_source,
    band_wkb,
    banded,
    snapped_mercator,
)

#: a tile never holds more features than this (the first ones, in the collection's order)
MAX_FEATURES_PER_TILE = 10_000

#: the properties a tile of each collection carries unless ``properties=`` says otherwise
TILE_PROPERTIES: dict[str, tuple[str, ...]] = {
    "municipalities": ("cvegeo", "name", "state_code", "state_name", "population"),
    "metro_zones": ("code", "name", "delimitation_year", "kind"),
    "claims": ("cvegeo", "municipality", "version", "source", "valid_from", "valid_to"),
    "rivers": ("key", "name", "federal_zone_width_m"),
    "inspections": (
        "observed_at",
        "category",
        "severity",
        "review_status",
        "follow_up_status",
        "municipality_name",
        "river_name",
        "in_federal_zone",
    ),
    "disputed_zones": ("name", "kind", "status", "parties", "area_ha"),
}

#: TileJSON's field types, by property kind
FIELD_TYPES: dict[Kind, str] = {
    "str": "String",
    "int": "Number",
    "float": "Number",
    "bool": "Boolean",
    "datetime": "String",
    "date": "String",
    "json": "String",
}

#: the MVT feature id column, for collections whose id is an integer
_FID = "linde_fid"
_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'


@dataclass(frozen=True)
class TileQuery:
    """One tile of one collection, as a client asked for it (already checked)."""

    z: int
    bounds: TileBounds
    #: CQL2-text, or None
    filter: str | None = None
    #: property names; None = the collection's :data:`TILE_PROPERTIES`
    properties: tuple[str, ...] | None = None
    #: the rows the caller reaches (``geo.access``); None: every row
    rows: RowScope | None = None


def tile_properties(c: Collection, names: Sequence[str] | None = None) -> list[Property]:
    """The properties a tile of ``c`` carries: ``names`` (checked) or the collection's own.

    Raises:
        InvalidParameter: a name that is not a property of ``c`` (400 naming it).
    """
    known = {p.name: p for p in (c.id_property, *c.properties)}
    chosen = TILE_PROPERTIES.get(c.id, c.names) if names is None else names
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise InvalidParameter(
            f"properties: {unknown[0]!r} is not a property of {c.id}",
            problems=[
                Problem("properties", f"{unknown[0]!r} is unknown; use some of: {', '.join(known)}")
            ],
        )
    return [known[n] for n in dict.fromkeys(chosen)]


def _integer_id(c: Collection) -> bool:
    return c.id_property.kind == "int"


def _conditions(
    dialect: Dialect, c: Collection, q: TileQuery, lonlat: tuple[Any, Any, Any, Any]
) -> ColumnElement[bool]:
    out = [bbox_candidates(dialect, c.table, lonlat)]
    if c.where is not None:  # as for items: only the rows that are features of the layer
        out.append(c.where)
    reached = row_condition(c.table, q.rows)
    if reached is not None:  # as for items: only the rows this caller reaches
        out.append(reached)
    if q.filter:
        queryables = {p.name: p.column for p in c.properties}
        queryables.setdefault(c.id_property.name, c.id_property.column)
        out.append(compile_filter(q.filter, queryables, c.geometry, c.table, dialect))
    return and_(*out)


def _band(z: int) -> int:
    """The band copy a tile at zoom ``z`` reads (``NO_BAND``: the full geometry)."""
    top = band_for_zoom(z)
    return NO_BAND if top is None else top


def _drawn_wkb(c: Collection, band: Any) -> tuple[FromClause, Any]:
    """SpatiaLite: where a tile's rows come from and the geometry it draws of each, as
    WKB for the Python encoder: for a banded layer (``layers.tile_bands``) the copy
    simplified for ``band`` where there is one, else the row's own geometry."""
    b = banded(c)
    if b is not None:
        return band_source(c, b, band), band_wkb(c)
    return c.source, func.AsBinary(c.geometry)


def _rows(
    dialect: Dialect,
    c: Collection,
    q: TileQuery,
    columns: list[Any],
    geometry: Any,
    lonlat: tuple[Any, Any, Any, Any],
    source: FromClause,
) -> Select[Any]:
    fid = [c.id_property.column.label(_FID)] if _integer_id(c) else []
    key = c.id_property.column
    order = [*c.order, *([] if any(o is key for o in c.order) else [key])]
    return (
        select(*fid, *columns, geometry.label("geom"))
        .select_from(source)
        .where(_conditions(dialect, c, q, lonlat))
        .order_by(*order)
        .limit(MAX_FEATURES_PER_TILE)
    )


def _mvt_select(
    dialect: Dialect,
    c: Collection,
    q: TileQuery,
    envelope: tuple[Any, Any, Any, Any],
    lonlat: tuple[Any, Any, Any, Any],
    snap: Any,
    band: Any,
    zoom: Any,
) -> Select[Any]:
    """The PostGIS tile statement, with the tile's numbers as given (literals or bound
    parameters): rows through the spatial index, each geometry (its zoom band's copy
    where the layer has them) snapped and projected (or read so, at a band's top zoom:
    ``layers.tile_bands.band_mercator``), clipped and quantised by ``ST_AsMVTGeom``,
    encoded by ``ST_AsMVT``."""
    box = func.ST_MakeEnvelope(*envelope, 3857)
    key = banded(c)
    source = c.source if key is None else band_source(c, key, band)
    projected = snapped_mercator(c.geometry, snap) if key is None else band_mercator(c, snap, zoom)
    geometry = func.ST_AsMVTGeom(projected, box, EXTENT, BUFFER, True)
    columns = [
        (
            func.to_char(func.timezone("UTC", p.column), _ISO_UTC)
            if p.kind == "datetime"
            else p.column
        ).label(p.name)
        for p in tile_properties(c, q.properties)
    ]
    rows = _rows(dialect, c, q, columns, geometry, lonlat, source).subquery("t")
    arguments: list[Any] = [literal_column("t"), c.id, EXTENT, "geom"]
    if _integer_id(c):
        arguments.append(_FID)
    tile = select(func.ST_AsMVT(*arguments, type_=LargeBinary)).where(rows.c.geom.is_not(None))
    return tile.select_from(rows)


def postgis_statement(conn: Connection, c: Collection, q: TileQuery) -> Select[Any]:
    """The one statement PostGIS makes tile ``q`` of ``c`` with, its numbers as values
    (also run as-is by the benchmark through pgbench)."""
    b = q.bounds
    envelope = (b.minx, b.miny, b.maxx, b.maxy)
    return _mvt_select(
        conn.dialect, c, q, envelope, b.lonlat_buffered, snap_size_deg(q.z), _band(q.z), q.z
    )


#: the tile's numbers, bound per call of a prepared tile statement
_ENVELOPE = (
    bindparam("tile_minx", type_=Float),
    bindparam("tile_miny", type_=Float),
    bindparam("tile_maxx", type_=Float),
    bindparam("tile_maxy", type_=Float),
)
_LONLAT = (
    bindparam("tile_west_deg", type_=Float),
    bindparam("tile_south_deg", type_=Float),
    bindparam("tile_east_deg", type_=Float),
    bindparam("tile_north_deg", type_=Float),
)
_SNAP = bindparam("tile_snap_deg", type_=Float)
_BAND = bindparam("tile_band", type_=Integer)
_ZOOM = bindparam("tile_zoom", type_=Integer)


#: (collection, properties) -> its compiled tile statement; bounded by the collections
#: and the property lists asked for (a client's own lists beyond the cap are compiled
#: per tile, not kept)
_PREPARED: dict[tuple[str, tuple[str, ...] | None], DriverStatement] = {}
_PREPARED_CAP = 256


def _prepared(
    dialect: Dialect, c: Collection, properties: tuple[str, ...] | None
) -> DriverStatement:
    """The tile statement of ``c`` compiled once per property list, the tile's numbers
    bound per call (for :func:`render_tile_async`)."""
    key = (c.id, properties)
    statement = _PREPARED.get(key)
    if statement is None:
        q = TileQuery(0, TileBounds(0, 0, 0, 0, (0, 0, 0, 0)), None, properties)
        select_ = _mvt_select(dialect, c, q, _ENVELOPE, _LONLAT, _SNAP, _BAND, _ZOOM)
        statement = DriverStatement(select_, dialect)
        if len(_PREPARED) < _PREPARED_CAP:
            _PREPARED[key] = statement
    return statement


def _values(c: Collection, q: TileQuery) -> dict[str, float]:
    b = q.bounds
    west, south, east, north = b.lonlat_buffered
    band = {"tile_band": _band(q.z), "tile_zoom": q.z} if banded(c) is not None else {}
    return {
        **band,
        "tile_minx": b.minx,
        "tile_miny": b.miny,
        "tile_maxx": b.maxx,
        "tile_maxy": b.maxy,
        "tile_west_deg": west,
        "tile_south_deg": south,
        "tile_east_deg": east,
        "tile_north_deg": north,
        "tile_snap_deg": snap_size_deg(q.z),
    }


def can_render_async(reader: AsyncReader | None, q: TileQuery) -> bool:
    """Whether :func:`render_tile_async` can make ``q``: on PostgreSQL, without a filter
    and for a caller who reaches every row (a CQL2 filter's statement, or a scope's,
    differs per caller; it goes the synchronous way)."""
    return reader is not None and q.filter is None and (q.rows is None or q.rows.everything)


async def render_tile_async(
    reader: AsyncReader, engine: Engine, c: Collection, q: TileQuery
) -> bytes:
    """:func:`render_tile` on PostgreSQL without blocking the event loop: the statement
    compiled once per collection and property list, prepared by the driver, and
    ``ST_AsMVT``'s bytes returned as they come (no thread hop, no SQLAlchemy per
    tile). ``q`` must have no filter (:func:`can_render_async`).

    Raises:
        InvalidParameter: an unknown name in ``q.properties``.
    """
    if q.filter is not None:
        raise ValueError("render_tile_async takes no filter; use render_tile")
    statement = _prepared(engine.dialect, c, q.properties)
    (data,) = await reader.one(statement, _values(c, q))
    return bytes(data) if data else b""


def _render_postgis(conn: Connection, c: Collection, q: TileQuery) -> bytes:
    data = conn.execute(postgis_statement(conn, c, q)).scalar_one_or_none()
    return bytes(data) if data else b""


def _plain(value: Any) -> Any:
    """A property value as PostGIS writes it into a tile."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _render_python(conn: Connection, c: Collection, q: TileQuery) -> bytes:
    props = tile_properties(c, q.properties)
    columns = [p.column.label(p.name) for p in props]
    source, drawn = _drawn_wkb(c, _band(q.z))
    query = _rows(conn.dialect, c, q, columns, drawn, q.bounds.lonlat_buffered, source)
    first = 1 if _integer_id(c) else 0
    features = []
    for row in conn.execute(query):
        if row[-1] is None:
            continue
        features.append(
            TileFeature(
                id=row[0] if first else None,
                properties={p.name: _plain(v) for p, v in zip(props, row[first:-1], strict=True)},
                geometry=shapely.from_wkb(bytes(row[-1])),
            )
        )
    return encode_tile(c.id, features, q.bounds, q.z)


_RENDERERS: dict[str, Callable[[Connection, Collection, TileQuery], bytes]] = {
    "postgresql": _render_postgis,
    "sqlite": _render_python,
}


def render_tile(conn: Connection, c: Collection, q: TileQuery) -> bytes:
    """The MVT tile ``q`` of collection ``c`` (one layer named after the collection);
    ``b""`` when no feature is in it.

    Raises:
        InvalidParameter: a bad ``filter`` or ``properties`` (400, naming it).
    """
    return _RENDERERS[conn.dialect.name](conn, c, q)
