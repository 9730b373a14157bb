"""Geometry prepared per band of zooms, so a low-zoom tile does not work on full detail.

A vector tile at zoom 6 or 7 of Oaxaca holds hundreds of municipalities; clipping,
projecting and quantising each at full detail was most of a cold tile's cost, and
most of those vertices end up closer together than a pixel. So the tile reads,
for each feature, a copy simplified for the band of zooms it is drawn at:

* the bands are named by their top zoom (:data:`BAND_TOPS`); zoom ``z`` reads the
  band of the smallest top at or above it (:func:`band_for_zoom`), beyond the last
  one the full geometry;
* a band's copy is simplified with a tolerance of :data:`SIMPLIFY_UNITS` tile units
  at its top zoom (:func:`band_tolerance_deg`): half a pixel of a 512-pixel tile
  (a quarter of one of the 256-pixel tiles Leaflet draws), so the tile looks the
  same; lower zooms of the band see it even smaller. Two units, the snapping grid
  (``geo.tiles.SNAP_UNITS``), kept 25 % more vertices and bytes at zooms 6 to 9 for
  nothing anyone can see, and cost a cold tile a fifth more time (bench/tiles.py);
  geojson-vt, which Leaflet.VectorGrid slices GeoJSON with, simplifies at three;
* a coverage (municipalities tile the land) is simplified with GEOS's coverage
  simplification (``shapely.coverage_simplify``): every shared edge is simplified
  once, so neighbours keep one common line at every band and no sliver or gap
  opens between them (simplifying each polygon alone would move a shared edge
  differently on each side).

Pure: no database. ``layers.tile_bands`` stores the copies and keeps them fresh.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.tiles import EXTENT

#: the top zoom of each band, ascending; zooms above the last read the full geometry.
#: Zooms 6 to 9 each get their own band: they hold the most features per tile and
#: were the dearest cold tiles (bench/tiles.py).
BAND_TOPS: tuple[int, ...] = (6, 7, 8, 9, 10, 12)
#: a band's simplification tolerance, in tile units at its top zoom (the module says why)
SIMPLIFY_UNITS = 4


def band_for_zoom(z: int) -> int | None:
    """The band (its top zoom) a tile at zoom ``z`` reads; None: the full geometry."""
    for top in BAND_TOPS:
        if z <= top:
            return top
    return None


def band_tolerance_deg(top: int) -> float:
    """The simplification tolerance of band ``top``, in degrees: :data:`SIMPLIFY_UNITS`
    tile units at zoom ``top`` (at the equator, the widest a degree is in a tile)."""
    return 360.0 * SIMPLIFY_UNITS / (2**top * EXTENT)


def coverage_bands(geoms: Sequence[BaseGeometry]) -> dict[int, list[BaseGeometry]]:
    """Each band's copy of a coverage of polygons (lon/lat), in the order given.

    Shared edges stay shared in every band (``shapely.coverage_simplify``). A polygon
    simplified to nothing keeps its full geometry (never an empty feature). The input
    must be a valid coverage (no overlaps); where it is not, GEOS still returns one
    geometry per input, each valid.
    """
    arr = np.asarray(geoms, dtype=object)
    out: dict[int, list[BaseGeometry]] = {}
    if len(arr) == 0:
        return {top: [] for top in BAND_TOPS}
    finer = arr
    # finest band first, each coarser one from the one before: the same shared edges,
    # and far fewer vertices to work through (Oaxaca's 570: 4 s from the full each time)
    for top in sorted(BAND_TOPS, reverse=True):
        simplified = shapely.coverage_simplify(finer, band_tolerance_deg(top))
        keep = shapely.is_empty(simplified) | ~shapely.is_valid(simplified)
        finer = np.where(keep, finer, simplified)
        out[top] = list(finer)
    return {top: out[top] for top in BAND_TOPS}
