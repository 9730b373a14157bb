"""CQL2 filters (OGC API - Features ``filter=``) compiled to SQLAlchemy Core.

The ``cql2`` package (Rust) reads cql2-text and cql2-json into CQL2-JSON
(``layers.cql2.source``); Linde's own compiler walks that tree and builds a
condition from the layer's column objects and bound parameters
(``layers.cql2.compiler``), the same on PostgreSQL and SQLite
(``layers.cql2.backend``). ``cql2``'s own ``to_sql`` is never used: it writes
literals into the SQL text and speaks PostgreSQL only.

Conformance classes this implements (CQL2 1.0): cql2-text, cql2-json, basic-cql2,
advanced comparison operators, case- and accent-insensitive comparison, basic
spatial functions (plus), spatial functions, temporal functions, array functions
(on key-list properties), property-property comparisons and arithmetic. Not: custom
functions (``functions``), whose list Linde does not publish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.engine import Dialect

from geo.crs import CRS84, Crs
from layers.cql2.compiler import GEOMETRY_NAMES, MAX_DEPTH, MAX_TERMS, TOO_DEEP, Compiler
from layers.cql2.source import FIELD, LANGS, MAX_FILTER_CHARS, Lang, Source, fail

CONFORMANCE_CLASSES = (
    "cql2-text",
    "cql2-json",
    "basic-cql2",
    "advanced-comparison-operators",
    "case-insensitive-comparison",
    "accent-insensitive-comparison",
    "basic-spatial-functions",
    "basic-spatial-functions-plus",
    "spatial-functions",
    "temporal-functions",
    "array-functions",
    "property-property",
    "arithmetic",
)


def compile_filter(
    text: str,
    properties: Mapping[str, ColumnElement[Any]],
    geometry: ColumnElement[Any],
    table: Table,
    dialect: Dialect,
    *,
    lang: Lang = "cql2-text",
    crs: Crs = CRS84,
    arrays: frozenset[str] = frozenset(),
) -> ColumnElement[bool]:
    """Compile a CQL2 filter into a SQLAlchemy condition for ``select().where()``.

    Args:
        text: the filter, as the client sent it (cql2-text, or cql2-json as text).
        properties: queryable name -> column or SQL expression. Names are case-
            sensitive; the kind of each (text, number, timestamp, boolean) is read
            from its SQL type and decides which literals it may be compared with.
        geometry: the layer's geometry column (EPSG:4326, lon/lat), named
            ``geometry`` or ``geom`` in the filter.
        table: the table holding ``geometry``; spatial functions ask its spatial
            index for candidates (``layers.dialects.bbox_candidates``).
        dialect: the engine's dialect (``postgresql`` or ``sqlite``).
        lang: ``cql2-text`` or ``cql2-json``.
        crs: the ``filter-crs`` of geometry literals, in its authority's axis order
            (EPSG:4326 and EPSG:6372 northing first, CRS84 longitude first).
        arrays: names of properties holding comma-separated keys, which the array
            functions (A_CONTAINS …) read as arrays.

    Returns:
        A boolean SQL expression with every value in a bound parameter.

    Raises:
        InvalidParameter: (an ``InvalidInput``, HTTP 400) with one ``Problem`` on the
            ``filter`` field saying what is wrong and where: a syntax error (line,
            column, caret), an unknown property (listing the queryable ones) or
            function, a type mismatch, an invalid, empty or out-of-range geometry,
            a filter too long or nested too deeply.
    """
    if lang not in LANGS:
        fail(f"unknown filter-lang {lang!r}; use cql2-text or cql2-json")
    try:
        source = Source.read(text, lang)
        return Compiler(source, properties, geometry, table, dialect, crs, arrays).compile()
    except RecursionError:
        fail(TOO_DEEP)


__all__ = [
    "CONFORMANCE_CLASSES",
    "FIELD",
    "GEOMETRY_NAMES",
    "LANGS",
    "MAX_DEPTH",
    "MAX_FILTER_CHARS",
    "MAX_TERMS",
    "Lang",
    "compile_filter",
]
