"""Query parameters of ``/collections/{id}/items``, parsed into an ``ItemsQuery``.

Every problem is a 400 naming the parameter, what was wrong and where. Names
the standard defines are handled here; any other name must be a property of the
collection (``?cvegeo=20157``) and is compared for equality, typed by the
property's kind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.datastructures import QueryParams

from geo.bbox import BBox, parse_bbox_text
from geo.crs import Crs, parse_crs
from geo.errors import InvalidParameter, Problem
from geo.instants import EARLIEST, LATEST, utc_instant
from layers.collections import Collection, Property
from layers.cql2 import LANGS
from layers.queries.items import Interval, ItemsQuery

#: for a client that does not say: GDAL and QGIS always ask (GDAL 3.6 for 10 at a time),
#: a browser, curl or OWSLib get a page that holds a metro zone's municipalities
PAGE_LIMIT_DEFAULT = 100
PAGE_LIMIT_MAX = 10_000

STANDARD = (
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
    "sortby",
    "csv-geometry",
    "labels",
)


def bad(field: str, reason: str) -> InvalidParameter:
    return InvalidParameter(f"{field}: {reason}", problems=[Problem(field, reason)])


def single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise bad(name, f"given {len(values)} times; give it once")
    return values[0] if values else None


#: most keys ``sortby`` and names ``properties`` may list: more than any collection has,
#: far fewer than would make the SQL statement itself the cost
MAX_SORT_KEYS = 8
MAX_PROPERTY_NAMES = 64


def _listed(raw: str, field: str, cap: int) -> list[str]:
    """The comma-separated entries of ``raw``, refused beyond ``cap`` or when one repeats."""
    parts = [p.strip() for p in raw.split(",", cap + 1)]
    if len(parts) > cap:
        raise bad(field, f"lists more than {cap} entries; give at most {cap}, each once")
    seen: set[str] = set()
    for part in parts:
        name = part.lstrip("+-").strip()
        if name and name in seen:
            raise bad(field, f"{name!r} is listed twice; give each once")
        seen.add(name)
    return parts


#: beyond any table Linde holds; larger numbers would not fit the databases' integers
MAX_OFFSET = 1_000_000_000
INT64 = (-(2**63), 2**63 - 1)


def _int(raw: str | None, name: str, lo: int, hi: int | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, f"{raw!r} is not a whole number") from None
    if value < lo or (hi is not None and value > hi):
        upper = f" and at most {hi:,}" if hi is not None else ""
        raise bad(name, f"{value} is out of range: it must be at least {lo}{upper}")
    return value


def parse_bbox(raw: str | None, raw_crs: str | None) -> BBox | None:
    """``bbox`` (and ``bbox-crs``) as a lon/lat box, or ``None`` when absent.

    Raises:
        InvalidParameter: a malformed box or CRS, naming the parameter (400).
    """
    bbox_crs = parse_crs(raw_crs, "bbox-crs")
    if raw is None:
        if raw_crs is not None:
            raise bad("bbox-crs", "given without bbox")
        return None
    return parse_bbox_text(raw, bbox_crs)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(raw: str, field: str, *, end: bool = False) -> datetime:
    """An RFC 3339 date-time (with zone) or a date (its first or last moment, UTC)."""
    text = raw.strip()
    try:
        if _DATE.match(text):
            if text.startswith("0000-"):
                return EARLIEST
            day = date.fromisoformat(text)
            if end and day == date.max:
                return LATEST
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        return utc_instant(text.replace("z", "Z"))
    except ValueError as exc:
        if str(exc) == "no time zone":
            raise bad(
                field, f"{raw!r} has no time zone; add Z or an offset such as -06:00"
            ) from None
        raise bad(
            field,
            f"{raw!r} is not an RFC 3339 date-time (2024-05-01T12:00:00Z) or date (2024-05-01)",
        ) from None


def parse_interval(raw: str | None) -> Interval | None:
    """``datetime=``: an instant (a date is its whole day) or an interval ``a/b`` with
    ``..`` or nothing for an open end; None when absent (400 when malformed)."""
    if raw is None:
        return None
    if "/" not in raw:
        return parse_instant(raw, "datetime"), parse_instant(raw, "datetime", end=True)
    start_raw, _, end_raw = raw.partition("/")
    start = None if start_raw in ("..", "") else parse_instant(start_raw, "datetime")
    stop = None if end_raw in ("..", "") else parse_instant(end_raw, "datetime", end=True)
    if start is None and stop is None:
        raise bad("datetime", "an interval needs at least one end ('../..' is everything)")
    if start is not None and stop is not None and start > stop:
        raise bad("datetime", f"the interval {raw!r} ends before it starts")
    return start, stop


def _names(c: Collection) -> list[str]:
    names = list(c.names)
    if c.id_property.name not in names:
        names.insert(0, c.id_property.name)
    return names


def _property(c: Collection, name: str, field: str) -> Property:
    prop = c.queryable(name)
    if prop is None:
        raise bad(
            field, f"{name!r} is not a property of {c.id}; use one of: {', '.join(_names(c))}"
        )
    return prop


def typed_value(prop: Property, raw: str, field: str) -> Any:
    """A query-string value converted to the property's type (400 when it is not one)."""
    try:
        if prop.kind == "int":
            number = int(raw)
            if not INT64[0] <= number <= INT64[1]:
                raise ValueError(raw)
            return number
        if prop.kind == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if prop.kind == "bool":
            lowered = raw.lower()
            if lowered not in ("true", "false"):
                raise ValueError(raw)
            return lowered == "true"
    except ValueError:
        raise bad(field, f"{raw!r} is not a {prop.kind} value for {prop.name}") from None
    if prop.kind in ("datetime", "date"):
        return parse_instant(raw, field)
    return raw


def _sortby(c: Collection, raw: str | None) -> tuple[tuple[str, bool], ...]:
    if raw is None:
        return ()
    keys: list[tuple[str, bool]] = []
    for part in _listed(raw, "sortby", MAX_SORT_KEYS):
        descending = part.startswith("-")
        name = part.lstrip("+-").strip() if part[:1] in "+-" else part
        if not name:
            raise bad("sortby", f"empty sort key in {raw!r}; write e.g. sortby=-population,name")
        _property(c, name, "sortby")
        keys.append((name, descending))
    return tuple(keys)


def _properties(c: Collection, raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    names = tuple(n for n in _listed(raw, "properties", MAX_PROPERTY_NAMES) if n)
    for name in names:
        if c.prop(name) is None:
            raise bad(
                "properties",
                f"{name!r} is not a property of {c.id}; use some of: {', '.join(c.names)}",
            )
    return names


def _filter(
    text: str | None, lang: str | None, filter_crs: str | None
) -> tuple[str | None, str, Crs]:
    """``filter``, ``filter-lang`` (cql2-text, the default, or cql2-json), ``filter-crs``."""
    lang = lang or "cql2-text"
    if lang not in LANGS:
        raise bad("filter-lang", f"{lang!r} is not supported; use {' or '.join(LANGS)}")
    crs = parse_crs(filter_crs, "filter-crs")
    if text is not None and not text.strip():
        raise bad("filter", "empty; write a CQL2 expression such as name LIKE 'San%'")
    return text, lang, crs


@dataclass(frozen=True)
class StandardParams:
    """The standard parameters of an items request as given (text, or None when absent).

    The API declares each of them (``api.ogc.deps``) so that OpenAPI lists them; the
    checks that give each its 400 are the functions of this module.
    """

    limit: str | None = None
    offset: str | None = None
    bbox: str | None = None
    bbox_crs: str | None = None
    datetime: str | None = None
    crs: str | None = None
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None
    properties: str | None = None
    sortby: str | None = None

    @classmethod
    def of(cls, params: QueryParams) -> StandardParams:
        """The standard parameters of a query string, each given at most once (400)."""
        return cls(**{f.name: single(params, f.name.replace("_", "-")) for f in fields(cls)})


def property_equals(c: Collection, params: QueryParams) -> tuple[tuple[str, Any], ...]:
    """``?cvegeo=20157``: every non-standard parameter is a property compared for
    equality, typed by the property's kind; any other name is a 400."""
    equals: list[tuple[str, Any]] = []
    for name in params:
        if name in STANDARD:
            continue
        prop = c.queryable(name)
        if prop is None:
            raise bad(
                name,
                f"unknown parameter for {c.id}; the standard ones are {', '.join(STANDARD)} "
                f"and the properties {', '.join(_names(c))}",
            )
        raw = single(params, name)
        assert raw is not None
        equals.append((name, typed_value(prop, raw, name)))
    return tuple(equals)


def items_query(
    c: Collection,
    given: StandardParams,
    equals: tuple[tuple[str, Any], ...] = (),
    *,
    download: bool,
) -> ItemsQuery:
    """Parse the items request. A download has no page limit unless one is given."""
    limit = _int(given.limit, "limit", 1, None if download else PAGE_LIMIT_MAX)
    filter_text, filter_lang, filter_crs = _filter(
        given.filter, given.filter_lang, given.filter_crs
    )
    return ItemsQuery(
        bbox=parse_bbox(given.bbox, given.bbox_crs),
        interval=parse_interval(given.datetime),
        equals=equals,
        filter=filter_text,
        filter_lang=filter_lang,
        filter_crs=filter_crs,
        properties=_properties(c, given.properties),
        sortby=_sortby(c, given.sortby),
        limit=limit if limit is not None or download else PAGE_LIMIT_DEFAULT,
        offset=_int(given.offset, "offset", 0, MAX_OFFSET) or 0,
        crs=parse_crs(given.crs, "crs"),
    )
