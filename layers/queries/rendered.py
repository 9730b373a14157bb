"""Pages and single features written by PostgreSQL as GeoJSON, ready for the socket.

A page is one statement that returns one row: its features already joined into the
text of a JSON array's members, how many it holds, ``numberMatched`` when a capped
count is needed, and (on the event loop) the layers' change counters read in the
same snapshot. Python adds only the collection around the features.

Two ways to run it:

* :func:`page_geojson_async` / :func:`feature_geojson_async`, on the event loop
  through an :class:`~layers.engine.AsyncReader`: the statement compiled once per
  shape of query (collection, properties, CRS, sort keys, which conditions are
  present) with the numbers bound per call, prepared by psycopg, its text loaded as
  the bytes PostgreSQL sent. No thread hop, no SQLAlchemy per request, no decoding
  and re-encoding of the body, and one round trip instead of two (counters, page).
  For a query without a CQL2 filter by a caller who reaches every row
  (:func:`renders_async`);
* :func:`page_geojson` on a request's connection, for everything else on PostGIS
  (filters, a caller's row scope), the same statement with the values in it.

SpatiaLite renders in Python (``layers.queries.items.page``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Float,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect

from geo.crs import Crs
from layers.collections import Collection
from layers.engine import AsyncReader, DriverStatement
from layers.queries.items import (
    ItemsQuery,
    _conditions,
    _order,
    feature_sql,
)
from layers.schema import layer_versions

Counters = list[tuple[str, int]]


@dataclass(frozen=True)
class RenderedPage:
    """A page whose features the database rendered as GeoJSON."""

    #: the features' GeoJSON, comma-separated (the inside of a JSON array), UTF-8
    features: bytes
    returned: int
    #: ``numberMatched``: None when more than the count's cap
    matched: int | None


def _comma() -> Any:
    return literal_column("','", Text)


def _counters_text() -> Any:
    """Every layer's change counter as ``layer=counter,…``: read in the statement of the
    body, so the ETag and the body come from one snapshot of one database."""
    pair = func.concat(layer_versions.c.layer, literal_column("'='"), layer_versions.c.version)
    return select(func.string_agg(pair, _comma())).scalar_subquery()


def parse_counters(text: bytes | str | None) -> Counters:
    """``layer=counter,…`` (see ``_counters_text``) as (layer, counter) rows."""
    if not text:
        return []
    raw = text.decode() if isinstance(text, bytes) else text
    return [(layer, int(n)) for layer, _, n in (p.partition("=") for p in raw.split(","))]


def _page_select(
    dialect: Dialect,
    c: Collection,
    q: ItemsQuery,
    limit: Any,
    offset: Any,
    count_limit: Any,
    *,
    with_counters: bool,
) -> Select[Any] | None:
    """One row: (features, returned, capped count or NULL[, counters]).

    The page is chosen first by key and sort keys alone, then joined back to its rows
    to be rendered: no feature is written for the rows an ``offset`` skips. The capped
    count is a scalar subquery behind a ``CASE`` that needs it only when the page is
    full or empty past the start; PostgreSQL evaluates it only then. ``limit``,
    ``offset`` and ``count_limit`` are numbers or bound parameters; so may be the
    values in ``q`` (see :func:`_shaped`).
    """
    feature = feature_sql(dialect, c, q.properties, q.crs)
    if feature is None:
        return None
    conditions = _conditions(dialect, c, q)
    where = and_(*conditions) if conditions else true()
    key = c.id_property.column
    page = (
        select(key.label("key"), func.row_number().over(order_by=_order(c, q)).label("n"))
        .select_from(c.source)
        .where(where)
        .order_by(*_order(c, q))
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    matching = select(key).select_from(c.source).where(where).limit(count_limit).subquery()
    counted = select(func.count()).select_from(matching).scalar_subquery()
    returned = func.count()
    past_start = (true() if offset > 0 else false()) if isinstance(offset, int) else offset > 0
    needs_count = or_(returned == limit, and_(returned == 0, past_start))
    columns: list[Any] = [
        # the features in the page's order, comma-separated
        func.string_agg(feature, aggregate_order_by(_comma(), page.c.n)),
        returned,
        case((needs_count, counted), else_=None),
    ]
    if with_counters:
        columns.append(_counters_text())
    return select(*columns).select_from(page.join(c.source, key == page.c.key))


def _page(row: tuple[Any, ...], q: ItemsQuery, cap: int) -> RenderedPage:
    features, returned, counted = row[0], int(row[1]), row[2]
    if isinstance(features, str):
        features = features.encode()
    if counted is None:
        matched: int | None = q.offset + returned
    else:
        matched = None if counted > cap else int(counted)
    return RenderedPage(features or b"", returned, matched)


def page_geojson(conn: Connection, c: Collection, q: ItemsQuery, cap: int) -> RenderedPage | None:
    """One page of features rendered by the database as GeoJSON in ``q.crs``, with
    ``numberMatched``, in one statement on ``conn``; None where the engine cannot
    render (SpatiaLite: use ``items.page`` and ``items.matched``).

    Raises:
        InvalidParameter: a bad filter (a 400 naming it).
    """
    assert q.limit is not None, "pages have a limit"
    statement = _page_select(conn.dialect, c, q, q.limit, q.offset, cap + 1, with_counters=False)
    if statement is None:
        return None
    return _page(tuple(conn.execute(statement).one()), q, cap)


def renders_async(reader: AsyncReader | None, c: Collection, q: ItemsQuery) -> bool:
    """Whether :func:`page_geojson_async` can answer ``q``: on PostgreSQL, without a
    CQL2 filter (its statement differs per filter) and for a caller who reaches every
    row (a scope's values would be compiled into the statement); property filters on
    plain values only (their values go to psycopg as they are, not through SQLAlchemy's
    types)."""
    if reader is None or q.filter is not None or q.rows is not None:
        return False
    return all(_plain_kind(c, name) for name, _ in q.equals)


def _plain_kind(c: Collection, name: str) -> bool:
    prop = c.queryable(name)
    return prop is not None and prop.kind != "json"


# The numbers bound per call of a page statement.
_LIMIT = bindparam("page_limit", type_=BigInteger)
_OFFSET = bindparam("page_offset", type_=BigInteger)
_COUNT_LIMIT = bindparam("page_count_limit", type_=BigInteger)
_BBOX = tuple(bindparam(f"page_bbox_{i}", type_=Float) for i in range(4))
_FROM = bindparam("page_from", type_=DateTime(timezone=True))
_TO = bindparam("page_to", type_=DateTime(timezone=True))

Shape = tuple[Any, ...]


def _shape(c: Collection, q: ItemsQuery) -> Shape:
    """What fixes the SQL of ``q``'s page; its numbers and values are bound per call."""
    interval = None if q.interval is None else tuple(v is not None for v in q.interval)
    equals = tuple((name, value is None) for name, value in q.equals)
    return (
        c.id,
        q.properties,
        q.crs.uri,
        q.bbox is not None,
        interval,
        equals,
        q.sortby,
    )


def _shaped(c: Collection, q: ItemsQuery) -> ItemsQuery:
    """``q`` with bound parameters in place of its values (see :func:`_values`)."""
    interval: Any = None
    if q.interval is not None:
        lo, hi = q.interval
        interval = (None if lo is None else _FROM, None if hi is None else _TO)
    equals = tuple(
        (name, None if value is None else _equals_param(c, name, i))
        for i, (name, value) in enumerate(q.equals)
    )
    bbox: Any = None if q.bbox is None else _BBOX
    return replace(q, bbox=bbox, interval=interval, equals=equals)


def _equals_param(c: Collection, name: str, i: int) -> Any:
    prop = c.queryable(name)
    assert prop is not None, name
    # integers as BIGINT: any 64-bit value compares with any integer column (see
    # layers.queries.items._bound)
    if prop.kind == "int":
        return cast(bindparam(f"page_eq_{i}", type_=BigInteger), BigInteger)
    return bindparam(f"page_eq_{i}", type_=prop.column.type)


# open: bound values named by the statement's shape (page_bbox_0…, page_eq_<i>), some absent
def _values(q: ItemsQuery, cap: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "page_limit": q.limit,
        "page_offset": q.offset,
        "page_count_limit": cap + 1,
    }
    if q.bbox is not None:
        values.update({f"page_bbox_{i}": v for i, v in enumerate(q.bbox)})
    if q.interval is not None:
        lo, hi = q.interval
        if lo is not None:
            values["page_from"] = lo
        if hi is not None:
            values["page_to"] = hi
    for i, (_, value) in enumerate(q.equals):
        if value is not None:
            values[f"page_eq_{i}"] = value
    return values


class _ByShape:
    """``_page_statement`` keyed by shape only: the query rides along uncompared."""

    __slots__ = ("q", "shape")

    def __init__(self, shape: Shape, q: ItemsQuery) -> None:
        self.shape, self.q = shape, q

    def __hash__(self) -> int:
        return hash(self.shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByShape) and other.shape == self.shape


@lru_cache(maxsize=512)
def _statement_for(dialect: Dialect, c: Collection, key: _ByShape) -> DriverStatement:
    statement = _page_select(dialect, c, key.q, _LIMIT, _OFFSET, _COUNT_LIMIT, with_counters=True)
    assert statement is not None
    return DriverStatement(statement, dialect)


async def page_geojson_async(
    reader: AsyncReader, dialect: Dialect, c: Collection, q: ItemsQuery, cap: int
) -> tuple[RenderedPage, Counters]:
    """:func:`page_geojson` on the event loop (see :func:`renders_async`), with the
    layers' change counters read in the same statement.

    Raises:
        InvalidParameter: a bad value of ``q`` found while building the statement.
    """
    assert q.limit is not None, "pages have a limit"
    statement = _statement_for(dialect, c, _ByShape(_shape(c, q), _shaped(c, q)))
    row = await reader.one(statement, _values(q, cap), text_as_bytes=True)
    return _page(row, q, cap), parse_counters(row[3])


# -- one feature ----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _feature_statement(dialect: Dialect, c: Collection, crs: Crs) -> DriverStatement:
    feature = feature_sql(dialect, c, None, crs)
    assert feature is not None
    key = bindparam("feature_key", type_=c.id_property.column.type)
    found = select(feature).select_from(c.source).where(c.id_property.column == key)
    if c.where is not None:
        found = found.where(c.where)
    statement = select(found.scalar_subquery(), _counters_text())
    return DriverStatement(statement, dialect)


async def feature_geojson_async(
    reader: AsyncReader, dialect: Dialect, c: Collection, key: Any, crs: Crs
) -> tuple[bytes | None, Counters]:
    """One feature by id rendered by the database as GeoJSON in ``crs`` (as in pages),
    None when there is none, and the layers' change counters, in one statement on the
    event loop. For callers who reach every row (a scope goes through
    ``items.get_geojson``)."""
    statement = _feature_statement(dialect, c, crs)
    row = await reader.one(statement, {"feature_key": key}, text_as_bytes=True)
    return row[0], parse_counters(row[1])
