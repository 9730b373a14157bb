"""Counting points per polygon (inspections per municipality, for choropleth maps)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


def points_per_polygon(
    polygons: Sequence[BaseGeometry] | np.ndarray, points: Sequence[BaseGeometry] | np.ndarray
) -> np.ndarray:
    """How many of ``points`` fall in each of ``polygons`` (same CRS, any).

    A point on a limit shared by two polygons is counted once, for the first of them
    in the given order, so the counts add up to the points inside the union. Missing
    or empty geometries count nothing and hold nothing.
    """
    polys = np.asarray(polygons, dtype=object)
    pts = np.asarray(points, dtype=object)
    counts = np.zeros(len(polys), dtype=np.int64)
    if len(polys) == 0 or len(pts) == 0:
        return counts
    tree = shapely.STRtree(polys)
    point_index, polygon_index = tree.query(pts, predicate="intersects")
    if len(point_index) == 0:
        return counts
    # the lowest polygon index per point: sort by (point, polygon), keep first of each point
    order = np.lexsort((polygon_index, point_index))
    point_index, polygon_index = point_index[order], polygon_index[order]
    first = np.ones(len(point_index), dtype=bool)
    first[1:] = point_index[1:] != point_index[:-1]
    np.add.at(counts, polygon_index[first], 1)
    return counts
