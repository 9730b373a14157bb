"""Geometry for a map's scale: topology-aware simplification and coordinate quantization.

A map shows a layer at some scale; vertices closer together than a screen pixel
only make the file bigger. Municipalities form a *coverage* (they tile the land
without overlaps), so they are simplified with GEOS's coverage simplification
(``shapely.coverage_simplify``, GEOS ≥ 3.12), which simplifies every shared edge
once: neighbours keep one common line, and no sliver or gap opens between them.
Simplification happens in EPSG:6372 so the tolerance is in metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

#: a map is drawn at most this many pixels across (a full-HD screen or an A4 page)
MAP_WIDTH_PX = 1600
#: the finest tolerance worth keeping (the storage's precision is far below a pixel anyway)
MIN_TOLERANCE_M = 2.0
#: metres per degree of latitude, for turning a ground distance into decimal places
_M_PER_DEGREE = 111_320.0

_TO_METRIC = Transformer.from_crs(4326, 6372, always_xy=True)
_TO_LONLAT = Transformer.from_crs(6372, 4326, always_xy=True)


def _reproject(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return np.asarray(shapely.transform(geoms, move))


def tolerance_for_extent(
    bounds: tuple[float, float, float, float], width_px: int = MAP_WIDTH_PX
) -> float:
    """The simplification tolerance (m) for a map fitted to ``bounds`` (lon/lat).

    One pixel of a map ``width_px`` wide showing the whole extent: what is finer
    cannot be seen until the reader zooms in.
    """
    minx, miny, maxx, maxy = bounds
    xs, ys = _TO_METRIC.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    span_m = max(max(xs) - min(xs), max(ys) - min(ys))
    return max(MIN_TOLERANCE_M, span_m / width_px)


def decimals_for_tolerance(tolerance_m: float) -> int:
    """Decimal places of a lon/lat coordinate that keep its error under half the tolerance."""
    return max(1, min(7, math.ceil(math.log10(_M_PER_DEGREE / (tolerance_m / 2)))))


def simplify_coverage(geoms: np.ndarray | Sequence[BaseGeometry], tolerance_m: float) -> np.ndarray:
    """Simplify polygons that tile the land (lon/lat in, lon/lat out), keeping shared edges.

    Args:
        geoms: polygons or multipolygons in EPSG:4326 that do not overlap (a coverage,
            such as the municipalities of a state). Empty or missing values are kept.
        tolerance_m: the largest distance (m, in EPSG:6372) a simplified edge may move.

    Returns:
        The simplified geometries in EPSG:4326, in the same order. A polygon never
        collapses: GEOS keeps at least a triangle of each ring.
    """
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return arr
    metric = _reproject(arr, _TO_METRIC)
    simplified = shapely.coverage_simplify(metric, tolerance_m)
    return _reproject(np.asarray(simplified), _TO_LONLAT)


def simplify_lines(geoms: np.ndarray | Sequence[BaseGeometry], tolerance_m: float) -> np.ndarray:
    """Simplify lines or lone polygons (lon/lat) by ``tolerance_m`` metres, one by one."""
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return arr
    metric = _reproject(arr, _TO_METRIC)
    return _reproject(shapely.simplify(metric, tolerance_m, preserve_topology=True), _TO_LONLAT)


def quantize(geoms: np.ndarray | Sequence[BaseGeometry], decimals: int) -> np.ndarray:
    """Round every coordinate to ``decimals`` places (lon/lat), so it prints shorter.

    Equal coordinates round to equal coordinates, so an edge two polygons share stays
    shared. Consecutive repeated vertices that rounding creates are removed.
    """
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return arr
    rounded = np.asarray(shapely.transform(arr, lambda xy: np.round(xy, decimals)))
    try:  # drop the vertices that rounding made equal
        return np.asarray(shapely.remove_repeated_points(rounded, 0.0))
    except shapely.errors.GEOSException:
        # a ring smaller than the grid collapsed; keep such geometries as rounded
        return np.asarray([_without_repeats(g) for g in rounded], dtype=object)


def _without_repeats(geom: BaseGeometry | None) -> BaseGeometry | None:
    try:
        return shapely.remove_repeated_points(geom, 0.0)
    except shapely.errors.GEOSException:
        return geom


def buffer_metres(geoms: np.ndarray | Sequence[BaseGeometry], distance_m: float) -> np.ndarray:
    """Buffer lon/lat geometries by ``distance_m`` metres, computed in EPSG:6372."""
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return arr
    metric = _reproject(arr, _TO_METRIC)
    return _reproject(shapely.buffer(metric, distance_m), _TO_LONLAT)


def within_distance(
    points: np.ndarray | Sequence[BaseGeometry], target: BaseGeometry, distance_m: float
) -> np.ndarray:
    """A boolean per point: is it within ``distance_m`` metres of ``target`` (EPSG:6372)?"""
    arr = np.asarray(points, dtype=object)
    if arr.size == 0:
        return np.zeros(0, dtype=bool)
    metric_points = _reproject(arr, _TO_METRIC)
    metric_target = _reproject(np.asarray([target], dtype=object), _TO_METRIC)[0]
    return np.asarray(shapely.dwithin(metric_points, metric_target, distance_m))


def area_ha(geoms: np.ndarray | Sequence[BaseGeometry]) -> float:
    """The area (ha) of the union of lon/lat polygons, measured in EPSG:6372."""
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return 0.0
    return float(shapely.area(shapely.union_all(_reproject(arr, _TO_METRIC)))) / 10_000
