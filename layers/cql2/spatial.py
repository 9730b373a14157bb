"""Geometry literals of a filter and CQL2's spatial functions, as SQL.

A literal arrives as GeoJSON (``cql2`` turns WKT into it) or as a ``BBOX``, in the
``filter-crs`` and its authority's axis order (EPSG:4326 and EPSG:6372 give
northing first; CRS84 gives longitude first). It is turned into lon/lat, its Z
dropped, checked (finite, within lon/lat, valid) and sent to the database as WKT in
a bound parameter. A predicate against a literal asks the spatial index for
candidates first (``layers.dialects.bbox_candidates``), except ``S_DISJOINT``,
which is true of nearly every row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Table, and_, func
from sqlalchemy.engine import Dialect

from geo.crs import CRS84, Crs, to_lonlat
from geo.validation import describe_invalid
from layers import dialects
from layers.cql2.source import fail


@dataclass(frozen=True)
class SpatialOp:
    cql: str
    sql: str
    test: Callable[[BaseGeometry, BaseGeometry], bool]
    #: the same relation with the operands swapped
    converse: str
    indexed: bool = True


OPS: dict[str, SpatialOp] = {
    op.cql.lower(): op
    for op in (
        SpatialOp("S_INTERSECTS", "ST_Intersects", BaseGeometry.intersects, "S_INTERSECTS"),
        SpatialOp("S_WITHIN", "ST_Within", BaseGeometry.within, "S_CONTAINS"),
        SpatialOp("S_CONTAINS", "ST_Contains", BaseGeometry.contains, "S_WITHIN"),
        SpatialOp("S_DISJOINT", "ST_Disjoint", BaseGeometry.disjoint, "S_DISJOINT", False),
        SpatialOp("S_EQUALS", "ST_Equals", BaseGeometry.equals, "S_EQUALS"),
        SpatialOp("S_TOUCHES", "ST_Touches", BaseGeometry.touches, "S_TOUCHES"),
        SpatialOp("S_CROSSES", "ST_Crosses", BaseGeometry.crosses, "S_CROSSES"),
        SpatialOp("S_OVERLAPS", "ST_Overlaps", BaseGeometry.overlaps, "S_OVERLAPS"),
    )
}


def _to_lonlat(shape: BaseGeometry, crs: Crs) -> BaseGeometry:
    if not crs.x_first:
        shape = shapely.transform(shape, lambda xy: xy[:, ::-1])
    transformer = to_lonlat(crs)
    if transformer is not None:
        shape = shapely.transform(
            shape, lambda xy: _stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )
    return shape


def _stack(xy: tuple[Any, Any]) -> Any:
    return np.column_stack(xy)


def from_geojson(geo: dict[str, Any], crs: Crs, where: str) -> BaseGeometry:
    """A GeoJSON geometry of the filter, in lon/lat; fails saying ``where`` it is."""
    try:
        shape = shapely.geometry.shape(geo)
    except (
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        shapely.errors.ShapelyError,
    ):
        fail(
            f"{where} cannot be built: a polygon's rings need 4 or more positions and must "
            "close, a line 2 or more"
        )
    shape = shapely.force_2d(shape)
    check_finite(shape, where)
    return checked(_to_lonlat(shape, crs), crs, where)


def from_bbox(numbers: list[Any], crs: Crs, where: str) -> BaseGeometry:
    """``BBOX(x1, y1, x2, y2)`` (or with heights, six numbers) as a lon/lat polygon."""
    if len(numbers) not in (4, 6) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in numbers
    ):
        fail(f"{where} needs 4 numbers (or 6, with heights): minx, miny, maxx, maxy")
    values = [float(v) for v in numbers]
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    a, b, c, d = values
    if not all(math.isfinite(v) for v in values):
        fail(f"{where} has a number that is not finite")
    if a > c or b > d:
        fail(
            f"{where}: the lower corner ({a:g}, {b:g}) is not below and left of the "
            f"upper one ({c:g}, {d:g})"
        )
    box: BaseGeometry = shapely.box(a, b, c, d)
    if to_lonlat(crs) is not None:
        # a projected rectangle is curved in lon/lat: follow its edges
        box = shapely.segmentize(box, max(c - a, d - b, 1e-9) / 20)
    return checked(_to_lonlat(box, crs), crs, where)


def check_finite(shape: BaseGeometry, where: str) -> None:
    coords = shapely.get_coordinates(shape)
    if not shape.is_empty and not all(math.isfinite(float(v)) for v in coords.flat):
        fail(f"{where} has a coordinate that is not a finite number")


def checked(shape: BaseGeometry, crs: Crs, where: str) -> BaseGeometry:
    if shape.is_empty:
        fail(f"{where} is empty")
    check_finite(shape, f"{where} (in lon/lat)")
    coords = shapely.get_coordinates(shape)
    minx, miny, maxx, maxy = shape.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        bad = next((x, y) for x, y in coords if not (-180 <= x <= 180 and -90 <= y <= 90))
        hint = ""
        if crs is CRS84 and -90 <= bad[0] <= 90 and -180 <= bad[1] <= 180:
            hint = " (lon and lat look swapped: write longitude first, e.g. POINT(-96.72 17.06))"
        fail(
            f"{where} has the point ({bad[0]:g} {bad[1]:g}) outside lon -180..180, "
            f"lat -90..90{hint}"
        )
    if not shape.is_valid:
        fail(f"{where} is invalid: {describe_invalid(shape)}")
    return shape


def against_literal(
    dialect: Dialect, table: Table, op: SpatialOp, geom: ColumnElement[Any], shape: BaseGeometry
) -> ColumnElement[bool]:
    """``op(geom, shape)`` in SQL, through the spatial index where that helps."""
    wkt = shapely.to_wkt(shape, rounding_precision=-1)
    exact: ColumnElement[bool] = getattr(func, op.sql)(
        geom, dialects.geometry_from_wkt(dialect, wkt)
    )
    if not op.indexed:
        return exact
    column = getattr(geom, "name", "geom")
    minx, miny, maxx, maxy = (float(v) for v in shape.bounds)
    return and_(dialects.bbox_candidates(dialect, table, (minx, miny, maxx, maxy), column), exact)


def between_columns(op: SpatialOp, a: ColumnElement[Any], b: ColumnElement[Any]) -> Any:
    """``op(a, b)`` between two geometry values of the same row."""
    return getattr(func, op.sql)(a, b)
