"""Dissolving municipalities into the outline of the zone they form."""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry


def dissolve(geoms: Sequence[BaseGeometry]) -> MultiPolygon | None:
    """Union of polygons as one MultiPolygon (``None`` for no input).

    Municipal layers are near-coverages (INEGI's national layer has ~10 m² of overlap
    in all), so a full union is used rather than a coverage union, which would accept
    but mis-handle those overlaps. Non-polygonal parts of the result are dropped.
    """
    parts = [g for g in geoms if g is not None and not g.is_empty]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    polygons = [g for g in shapely.get_parts(merged) if isinstance(g, Polygon)]
    return MultiPolygon(polygons)
