"""The SQL that differs between PostGIS and SpatiaLite, chosen by dialect name.

Both engines keep an R-tree over every geometry column, but only PostgreSQL's
planner uses it by itself: SpatiaLite needs the candidate rows asked of the
``idx_<table>_<column>`` virtual table explicitly. ``bbox_candidates`` hides that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geoalchemy2.admin.dialects.sqlite import register_sqlite_mapping
from sqlalchemy import (
    JSON,
    ColumnElement,
    LargeBinary,
    ScalarSelect,
    Select,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from layers.schema import SRID

BBox = tuple[float, float, float, float]

# Functions whose SpatiaLite name is all that differs are written once, PostGIS-style,
# and GeoAlchemy2 compiles them under SpatiaLite's name (it already maps ST_AsBinary,
# ST_AsGeoJSON, ST_AsEWKB and ST_GeomFromEWKT); what differs in more than the name
# (arguments, SRID handling, the R-tree, JSON aggregates) stays a branch below.
register_sqlite_mapping({"ST_MakeEnvelope": "BuildMbr", "ST_FlipCoordinates": "SwapCoords"})


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


def envelope(dialect: Dialect, bbox: BBox) -> ColumnElement[bytes]:
    """A lon/lat rectangle as an EPSG:4326 polygon, from bound parameters."""
    minx, miny, maxx, maxy = bbox
    return func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)  # BuildMbr on SpatiaLite


def intersects_bbox(dialect: Dialect, tbl: Table, bbox: BBox) -> ColumnElement[bool]:
    """Rows of ``tbl`` whose geometry meets the rectangle, through the spatial index."""
    return and_(
        bbox_candidates(dialect, tbl, bbox),
        func.ST_Intersects(tbl.c.geom, envelope(dialect, bbox)),
    )


def _in_crs(
    dialect: Dialect, geom: ColumnElement[Any], epsg: int, x_first: bool, ccw: bool = True
) -> Any:
    """``geom`` in ``epsg``, exterior rings counter-clockwise and holes clockwise (RFC 7946
    7.1, which GeoJSON readers and shapefile writers expect) when ``ccw``, in the CRS's own
    axis order: the rings are oriented in easting/northing before any axis swap, so a
    client that swaps back gets counter-clockwise rings."""
    out: Any = geom
    if epsg != SRID:
        out = func.ST_Transform(out, epsg)
    if ccw:  # a no-op for points and lines; same name on PostGIS and SpatiaLite 5
        out = func.ST_ForcePolygonCCW(out)
    if not x_first:
        out = func.ST_FlipCoordinates(out)  # SwapCoords on SpatiaLite
    return out


def as_geojson(
    dialect: Dialect, geom: ColumnElement[Any], epsg: int, x_first: bool, precision: int
) -> ColumnElement[str]:
    """The geometry as GeoJSON text made by the database, in ``epsg`` and axis order.

    No CRS member is added (PostGIS would for a non-4326 SRID by default).
    """
    out = _in_crs(dialect, geom, epsg, x_first)
    return func.ST_AsGeoJSON(out, precision, 0, type_=String)  # AsGeoJSON on SpatiaLite


def _sql_text(value: str) -> ColumnElement[str]:
    """A constant string of Linde's own written into the SQL, not a bound parameter:
    rendering a page must not send dozens of parameters for its property names."""
    assert not set(value) & set("'\\%"), value
    return literal_column(f"'{value}'", Text)


def _json_text(value: ColumnElement[Any], kind: str) -> ColumnElement[str]:
    """A property's value as JSON text, reading the same as Linde's Python rendering
    (orjson): instants as ``"2026-11-20T16:30:00+00:00"``, with ``.ffffff`` only when
    there are microseconds; dates as ``"2026-11-20"``; NULL as ``null``."""
    if kind == "datetime":
        utc = func.timezone(_sql_text("UTC"), value)
        stamp = func.to_char(utc, _sql_text('YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), type_=Text)
        text_ = _sql_text('"') + func.replace(stamp, _sql_text(".000000+"), _sql_text("+"))
        out = text_ + _sql_text('"')
    elif kind == "date":
        out = _sql_text('"') + func.to_char(value, _sql_text("YYYY-MM-DD"), type_=Text)
        out = out + _sql_text('"')
    else:
        out = cast(func.to_json(value), Text)
    return func.coalesce(out, _sql_text("null"), type_=Text)


def feature_geojson(
    dialect: Dialect,
    id_: ColumnElement[Any],
    properties: Sequence[tuple[str, str, ColumnElement[Any]]],
    geometry: ColumnElement[str],
) -> ColumnElement[str] | None:
    """A GeoJSON Feature as text, made by the database from ``id_``, the (name, kind,
    column) properties, in order, and ``geometry`` (GeoJSON text or NULL).

    PostGIS only: it writes JSON in C several times faster than Python reads the row and
    writes it again. ``None`` on SpatiaLite, whose number formatting is not exact
    (``%!.15g``): render in Python there.
    """
    if dialect.name != "postgresql":
        return None
    parts: list[ColumnElement[str]] = [
        _sql_text('{"type":"Feature","id":'),
        cast(func.to_json(id_), Text),
        _sql_text(',"geometry":'),
        func.coalesce(geometry, _sql_text("null")),
        _sql_text(',"properties":{'),
    ]
    for i, (name, kind, value) in enumerate(properties):
        assert name.isidentifier(), name
        parts += [_sql_text(f'{"," if i else ""}"{name}":'), _json_text(value, kind)]
    parts.append(_sql_text("}}"))
    return _concat(parts)


def _concat(parts: Sequence[ColumnElement[str]]) -> ColumnElement[str]:
    """``concat()`` of any number of texts: each is copied once (a chain of ``||`` copies
    what is before it again at every step, and a polygon's GeoJSON is tens of kB);
    nested, as a function takes at most 100 arguments."""
    while len(parts) > 100:
        parts = [func.concat(*parts[i : i + 100], type_=Text) for i in range(0, len(parts), 100)]
    return func.concat(*parts, type_=Text)


def as_wkb(
    dialect: Dialect, geom: ColumnElement[Any], epsg: int, *, ccw: bool = False
) -> ColumnElement[bytes]:
    """The geometry as plain WKB in ``epsg``, easting/longitude first (as files store it);
    polygons' exterior rings counter-clockwise when ``ccw`` (what leaves Linde as a file)."""
    out = _in_crs(dialect, geom, epsg, True, ccw)
    return func.ST_AsBinary(out, type_=LargeBinary)  # AsBinary on SpatiaLite


def json_rows(dialect: Dialect, query: Select[Any]) -> ScalarSelect[Any]:
    """The rows of ``query`` as one JSON array of objects keyed by column label.

    A scalar subquery, so several row sets come back in one statement (one round
    trip). The value reads as a list of dicts on both engines (``[]`` when there
    are no rows); row order is not guaranteed, so callers sort. Timestamps come back
    as text: ISO 8601 with an offset on PostgreSQL, the stored UTC text on SQLite.
    """
    rows = query.subquery()
    pairs: list[Any] = []
    for col in rows.c:
        pairs += [literal_column(f"'{col.key}'"), col]
    if dialect.name == "postgresql":
        agg: Any = func.coalesce(
            func.json_agg(func.json_build_object(*pairs)), literal_column("'[]'::json")
        )
    else:
        agg = func.json_group_array(func.json_object(*pairs))
    return select(type_coerce(agg, JSON)).scalar_subquery()


class key_list(FunctionElement[str]):  # noqa: N801  (reads as the SQL function it is)
    """Comma-separated, ordered list of a column's values in a group (aggregate).

    ``string_agg(x, ',' ORDER BY x)`` on PostgreSQL, ``group_concat(x, ',')`` on
    SQLite (which follows the scan order; callers aggregate over an index in key order).
    """

    type = String()
    inherit_cache = True
    name = "key_list"


@compiles(key_list, "postgresql")
def _key_list_pg(element: key_list, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"string_agg({arg}, ',' ORDER BY {arg})"


@compiles(key_list, "sqlite")
def _key_list_sqlite(element: key_list, compiler: SQLCompiler, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


def geometry_from_wkt(dialect: Dialect, wkt: str) -> ColumnElement[Any]:
    """A lon/lat (EPSG:4326) geometry made by the database from WKT in a bound parameter."""
    text = literal(wkt, type_=Text())
    if dialect.name == "postgresql":
        return func.ST_GeomFromText(text, SRID)
    return func.GeomFromText(text, SRID)


def like(
    dialect: Dialect, expr: ColumnElement[Any], pattern: str, *, lower: bool = False
) -> ColumnElement[bool]:
    """A case-sensitive ``LIKE`` on both engines, the pattern in a bound parameter.

    Args:
        pattern: a SQL ``LIKE`` pattern (``%`` any run, ``_`` one character) in which
            a backslash makes the next character literal; it must not end in a lone
            backslash.
        lower: lower-case the pattern in SQL (for ``CASEI``), as ``lower()`` does the
            column, so both sides fold the same way on each engine.

    PostgreSQL's ``LIKE`` is case-sensitive already. SQLite's folds ASCII case, so
    there the pattern is translated to ``GLOB`` (``*``, ``?``, ``[x]`` for a literal).
    """
    if dialect.name == "postgresql":
        bound: ColumnElement[Any] = literal(pattern, type_=Text())
        return expr.like(func.lower(bound) if lower else bound, escape="\\")
    glob: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "\\")
            glob.append(f"[{ch}]" if ch in "*?[" else ch)
        elif ch == "%":
            glob.append("*")
        elif ch == "_":
            glob.append("?")
        else:
            glob.append(f"[{ch}]" if ch in "*?[" else ch)
    bound = literal("".join(glob), type_=Text())
    return expr.op("GLOB", is_comparison=True)(func.lower(bound) if lower else bound)


def geometry_from_wkb(dialect: Dialect, name: str) -> ColumnElement[Any]:
    """A lon/lat (EPSG:4326) geometry made by the database from WKB bytes bound as ``name``.

    For bulk writes: GeoAlchemy2 sends SpatiaLite geometries as WKT text (formatted in
    Python, parsed again by SpatiaLite, tens of bytes per vertex); bytes go as they are.
    Fill the parameter with ``layers.geometry_io.to_wkb``.
    """
    param = bindparam(name, type_=LargeBinary)
    if dialect.name == "postgresql":
        return func.ST_GeomFromWKB(param, SRID)
    return func.GeomFromWKB(param, SRID)


def one_of(dialect: Dialect, col: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
    """``col`` equals one of ``values``: one array parameter on PostgreSQL (``= ANY``),
    an ``IN`` list on SQLite (keep lists under its 32,766 parameters)."""
    if dialect.name == "postgresql" and all(isinstance(v, str) and "," not in v for v in values):
        # one text parameter split on the server: binding 100,000 strings as an array
        # costs the client more than the query costs the server
        joined = literal(",".join(values), type_=Text())
        return col == any_(func.string_to_array(joined, ",", type_=ARRAY(col.type)))
    if dialect.name == "postgresql":
        return col == any_(literal(values, type_=ARRAY(col.type)))
    return col.in_(values)


def one_of_chunk(dialect: Dialect) -> int:
    """How many values to give ``one_of`` at a time."""
    return 1_000_000 if dialect.name == "postgresql" else 5000
