"""Items of a collection: the one query builder behind the OGC API and the exports.

Every condition is built from the collection's own column objects and bound
parameters; a property name, sort key or filter text from a request never
reaches SQL as text. Geometry leaves the database already as GeoJSON text (for
pages) or WKB (for file exports) in the requested CRS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    Text,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.visitors import InternalTraversal

from geo.access import RowScope
from geo.crs import CRS84, Crs
from geo.errors import InvalidParameter, Problem
from layers import dialects
from layers.access import row_condition
from layers.collections import Collection, Property
from layers.cql2 import compile_filter

BBox = tuple[float, float, float, float]
Interval = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class ItemsQuery:
    """What a client asked of a collection, already parsed and typed."""

    bbox: BBox | None = None  # lon/lat, EPSG:4326
    #: (start, end), either open (None); an instant has start == end
    interval: Interval | None = None
    #: property = value conditions (values already of the property's type)
    equals: tuple[tuple[str, Any], ...] = ()
    filter: str | None = None
    #: ``cql2-text`` or ``cql2-json``
    filter_lang: str = "cql2-text"
    #: the CRS (and axis order) of the filter's geometry literals
    filter_crs: Crs = field(default=CRS84)
    #: which properties to return; None = all
    properties: tuple[str, ...] | None = None
    #: (property, descending)
    sortby: tuple[tuple[str, bool], ...] = ()
    #: None = every match (exports)
    limit: int | None = 10
    offset: int = 0
    crs: Crs = field(default=CRS84)
    #: the rows the caller reaches (``geo.access``); None: every row
    rows: RowScope | None = None


@dataclass(frozen=True)
class Item:
    id: Any
    properties: dict[str, Any]
    geometry: Any  # GeoJSON text (pages) or WKB bytes (exports); None when empty


def _conditions(dialect: Dialect, c: Collection, q: ItemsQuery) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [] if c.where is None else [c.where]
    reached = row_condition(c.table, q.rows)
    if reached is not None:
        out.append(reached)
    if q.bbox is not None:
        out.append(dialects.intersects_bbox(dialect, c.table, q.bbox))
    if q.interval is not None:
        if c.time is None:
            raise InvalidParameter(
                "this collection has no time",
                problems=[
                    Problem("datetime", f"{c.id} has no time property; drop datetime= for it")
                ],
            )
        start, end = c.time
        lo, hi = q.interval
        if end is None:  # an instant per feature
            if lo is not None:
                out.append(start >= lo)
            if hi is not None:
                out.append(start <= hi)
        else:  # a validity [start, end); end NULL = still in force
            if hi is not None:
                out.append(start <= hi)
            if lo is not None:
                out.append(or_(end.is_(None), end > lo))
    for name, value in q.equals:
        prop = c.queryable(name)  # the id too: ?id=... is a property filter
        assert prop is not None, name  # the API checked the name
        out.append(prop.column.is_(None) if value is None else prop.column == _bound(prop, value))
    if q.filter:
        queryables = {p.name: p.column for p in c.properties}
        queryables.setdefault(c.id_property.name, c.id_property.column)
        out.append(
            compile_filter(
                q.filter,
                queryables,
                c.geometry,
                c.table,
                dialect,
                lang="cql2-json" if q.filter_lang == "cql2-json" else "cql2-text",
                crs=q.filter_crs,
                arrays=frozenset(p.name for p in c.properties if p.key_list),
            )
        )
    return out


def wanted_properties(c: Collection, names: tuple[str, ...] | None) -> list[Property]:
    """The properties a client chose with ``properties=`` (None: all), in that order."""
    chosen = c.properties if names is None else [c.prop(n) for n in names]
    return [p for p in chosen if p is not None]


def _select_props(c: Collection, q: ItemsQuery) -> list[Any]:
    return [p.column.label(f"p_{p.name}") for p in wanted_properties(c, q.properties)]


def _sort_keys(c: Collection, q: ItemsQuery) -> list[tuple[ColumnElement[Any], bool]]:
    """(column, descending): the client's ``sortby``, then the collection's order, then id."""
    keys: list[tuple[ColumnElement[Any], bool]] = []
    for name, descending in q.sortby:
        prop = c.queryable(name)
        assert prop is not None, name
        keys.append((prop.column, descending))
    return [*keys, *((column, False) for column in c.order), (c.id_property.column, False)]


def _order(c: Collection, q: ItemsQuery) -> list[Any]:
    return [column.desc() if down else column.asc() for column, down in _sort_keys(c, q)]


def _query(conn: Connection, c: Collection, q: ItemsQuery, geometry: Any) -> Select[Any]:
    query = (
        select(c.id_property.column.label("id"), *_select_props(c, q), geometry.label("geometry"))
        .select_from(c.source)
        .order_by(*_order(c, q))
    )
    conditions = _conditions(conn.dialect, c, q)
    if conditions:
        query = query.where(and_(*conditions))
    if q.limit is not None:
        query = query.limit(q.limit)
    if q.offset:
        query = query.offset(q.offset)
    return query


def _items(result: Any) -> Iterator[Item]:
    """The rows of a result of (id, p_<name>..., geometry) as Items.

    The property names are read once per result, not per row: looking values up by
    name in each row cost half of a 100-feature page.
    """
    names = [key[2:] for key in list(result.keys())[1:-1]]
    for row in result:
        yield Item(row[0], dict(zip(names, row[1:-1], strict=True)), row[-1])


def page(conn: Connection, c: Collection, q: ItemsQuery) -> list[Item]:
    """One page of features, geometry as GeoJSON text in ``q.crs``."""
    geometry = dialects.as_geojson(
        conn.dialect, c.geometry, q.crs.epsg, q.crs.x_first, q.crs.precision
    )
    return list(_items(conn.execute(_query(conn, c, q, geometry))))


class _Prebuilt(ColumnElement[str]):
    """An expression built once and reused, whose key in SQLAlchemy's statement cache
    is a short name instead of a walk over its few hundred nodes.

    It compiles inside the statement that uses it, so correlated subqueries (a zone's
    parties) still correlate. Everything in it is fixed by the name.
    """

    type = Text()
    inherit_cache = False
    _traverse_internals = [("name", InternalTraversal.dp_string)]  # noqa: RUF012  (as SQLAlchemy declares it)

    def __init__(self, built: ColumnElement[str], name: str) -> None:
        self.built = built
        self.name = name


@compiles(_Prebuilt)
def _compile_prebuilt(element: _Prebuilt, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.built, **kw))


@lru_cache(maxsize=256)
def feature_sql(
    dialect: Dialect, c: Collection, properties: tuple[str, ...] | None, crs: Crs
) -> ColumnElement[str] | None:
    """The SQL of a rendered feature, built once per collection, choice of properties
    and CRS: building it and hashing it for SQLAlchemy's statement cache on every
    request cost more Python than rendering the features."""
    geometry = dialects.as_geojson(dialect, c.geometry, crs.epsg, crs.x_first, crs.precision)
    feature = dialects.feature_geojson(
        dialect,
        c.id_property.column,
        [(p.name, p.kind, p.column) for p in wanted_properties(c, properties)],
        geometry,
    )
    if feature is None:
        return None
    return _Prebuilt(feature, f"{c.id}|{properties}|{crs.uri}")


def matched(conn: Connection, c: Collection, q: ItemsQuery, returned: int, cap: int) -> int | None:
    """``numberMatched`` for a page of ``returned`` features: known without counting
    unless the page is full, or empty past the start; None when more than ``cap``."""
    if q.limit is not None and returned < q.limit and (returned or q.offset == 0):
        return q.offset + returned
    return count(conn, c, q, cap)


def stream(conn: Connection, c: Collection, q: ItemsQuery, chunk: int = 500) -> Iterator[Item]:
    """Every match, read from a server-side cursor ``chunk`` rows at a time.

    Geometry is WKB in ``q.crs`` with easting/longitude first, as files store it.
    """
    geometry = dialects.as_wkb(conn.dialect, c.geometry, q.crs.epsg, ccw=True)
    result = conn.execution_options(yield_per=chunk).execute(_query(conn, c, q, geometry))
    try:
        for item in _items(result):
            data = item.geometry
            yield Item(item.id, item.properties, bytes(data) if data is not None else None)
    finally:
        result.close()


def count(conn: Connection, c: Collection, q: ItemsQuery, cap: int) -> int | None:
    """How many features match, or None when more than ``cap`` (counting stops there).

    A capped count keeps ``numberMatched`` cheap on large tables: the standard
    allows leaving it out, and the ``next`` links page through any size.
    """
    conditions = _conditions(conn.dialect, c, q)
    where = and_(*conditions) if conditions else true()
    n = conn.execute(_capped_count(c, where, cap)).scalar_one()
    return None if n > cap else int(n)


def _capped_count(c: Collection, where: ColumnElement[bool], cap: int) -> Select[Any]:
    """Matching rows counted up to ``cap + 1``: more than ``cap`` means "more"."""
    matching = select(c.id_property.column).select_from(c.source).where(where).limit(cap + 1)
    return select(func.count()).select_from(matching.subquery())


def get(
    conn: Connection, c: Collection, feature_id: Any, crs: Crs, rows: RowScope | None = None
) -> Item | None:
    """One feature by id, geometry as GeoJSON text in ``crs``; None when there is none
    or it is outside the caller's ``rows``."""
    geometry = dialects.as_geojson(conn.dialect, c.geometry, crs.epsg, crs.x_first, crs.precision)
    query = (
        select(
            c.id_property.column.label("id"),
            *_select_props(c, ItemsQuery()),
            geometry.label("geometry"),
        )
        .select_from(c.source)
        .where(c.id_property.column == feature_id)
    )
    if c.where is not None:
        query = query.where(c.where)
    reached = row_condition(c.table, rows)
    if reached is not None:
        query = query.where(reached)
    return next(_items(conn.execute(query)), None)


def renders_geojson(conn: Connection, c: Collection) -> bool:
    """Whether the database writes this collection's features as GeoJSON itself."""
    return feature_sql(conn.dialect, c, None, CRS84) is not None


def get_geojson(
    conn: Connection, c: Collection, feature_id: Any, crs: Crs, rows: RowScope | None = None
) -> str | None:
    """One feature by id rendered by the database as GeoJSON text in ``crs``, as pages
    are (``layers.queries.rendered``); None when there is none or it is outside the caller's
    ``rows``. Only where ``renders_geojson``: elsewhere (SpatiaLite) use ``get``."""
    feature = feature_sql(conn.dialect, c, None, crs)
    assert feature is not None, "the engine does not render GeoJSON: use get()"
    query = select(feature).select_from(c.source).where(c.id_property.column == feature_id)
    if c.where is not None:
        query = query.where(c.where)
    reached = row_condition(c.table, rows)
    if reached is not None:
        query = query.where(reached)
    found: str | None = conn.execute(query).scalar()
    return found


def _bound(prop: Property, value: Any) -> Any:
    """A property filter's value, bound so any 64-bit integer compares with any integer
    column: bound with the column's own type, a value past a small column's range
    (``observed_offset_min=40291``, a SMALLINT) failed in the driver instead of matching
    no row."""
    if prop.kind != "int" or isinstance(value, ClauseElement):  # already bound (rendered.py)
        return value
    return cast(literal(value, BigInteger()), BigInteger)
