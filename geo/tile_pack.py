"""Which vector tiles make an offline map pack of an area: pure tile arithmetic.

A pack is every WebMercatorQuad tile that covers the area's bounding box (padded a
little, so what lies just outside the limit is drawn too) from ``zoom_min`` to
``zoom_max``. A phone has little room, so a pack never holds more than
``max_tiles`` tiles: for a large area the deepest zooms are dropped until it fits
(a municipality keeps 9-16; a metro zone may stop at 15). An area that does not fit
even at :data:`LEAST_ZOOM_MAX` is refused, naming the parameter and what to do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import morecantile

from geo.errors import InvalidParameter, Problem

#: the zooms a pack is made of, when the area allows
ZOOM_MIN, ZOOM_MAX = 9, 16
#: a pack holds at most this many tiles (positions; each carries every layer)
MAX_TILES = 3000
#: a pack that would stop before this zoom is no map to walk a river with: refused
LEAST_ZOOM_MAX = 13
#: degrees added on each side of the area's box
PAD_DEG = 0.01
#: WebMercatorQuad's latitude limit
_MAX_LAT = 85.0511287798
_WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")

BBox = tuple[float, float, float, float]
Tile = tuple[int, int, int]  # (z, x, y), y from the top


@dataclass(frozen=True)
class PackPlan:
    """The tiles of a pack: ``bbox`` (padded, lon/lat) at zooms ``zoom_min``..``zoom_max``."""

    bbox: BBox
    zoom_min: int
    zoom_max: int

    def ranges(self) -> list[tuple[int, range, range]]:
        """(z, x range, y range) per zoom."""
        return [(z, *_ranges(self.bbox, z)) for z in range(self.zoom_min, self.zoom_max + 1)]

    def tiles(self) -> list[Tile]:
        """Every tile, zoom by zoom, row by row."""
        return [(z, x, y) for z, xs, ys in self.ranges() for y in ys for x in xs]

    @property
    def count(self) -> int:
        return sum(len(xs) * len(ys) for _z, xs, ys in self.ranges())


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The tile holding (lon, lat) at zoom ``z``, clamped to the matrix (lon 180 and the
    poles fall in the last row or column, not past it)."""
    n = 2**z
    tile = _WEB_MERCATOR.tile(lon, max(-_MAX_LAT, min(_MAX_LAT, lat)), z)
    return min(max(tile.x, 0), n - 1), min(max(tile.y, 0), n - 1)


def _ranges(bbox: BBox, z: int) -> tuple[range, range]:
    west, south, east, north = bbox
    x0, y0 = _tile_xy(west, north, z)
    x1, y1 = _tile_xy(east, south, z)
    return range(x0, x1 + 1), range(y0, y1 + 1)


def check_bbox(bbox: BBox, parameter: str = "bbox") -> BBox:
    """``bbox`` as (west, south, east, north) in lon/lat, checked.

    Raises:
        InvalidParameter: not finite, west >= east, south >= north, or off the globe.
    """
    west, south, east, north = bbox
    if not all(math.isfinite(v) for v in bbox):
        reason = "has a number that is not finite"
    elif not (-180 <= west < east <= 180):
        reason = "needs west < east, both from -180 to 180 (lon,lat order: west,south,east,north)"
    elif not (-90 <= south < north <= 90):
        reason = "needs south < north, both from -90 to 90 (lon,lat order: west,south,east,north)"
    else:
        return bbox
    raise InvalidParameter(f"{parameter} {reason}", problems=[Problem(parameter, reason)])


def plan_pack(
    bbox: BBox,
    *,
    zoom_min: int = ZOOM_MIN,
    zoom_max: int = ZOOM_MAX,
    max_tiles: int = MAX_TILES,
    parameter: str = "bbox",
) -> PackPlan:
    """The pack of ``bbox`` (lon/lat): the deepest zooms that fit in ``max_tiles``.

    Raises:
        InvalidParameter: a bad box, or an area too large even at :data:`LEAST_ZOOM_MAX`
            (the message says to choose a municipality or zoom in).
    """
    west, south, east, north = check_bbox(bbox, parameter)
    padded = (
        max(-180.0, west - PAD_DEG),
        max(-_MAX_LAT, south - PAD_DEG),
        min(180.0, east + PAD_DEG),
        min(_MAX_LAT, north + PAD_DEG),
    )
    for top in range(zoom_max, max(zoom_min, LEAST_ZOOM_MAX) - 1, -1):
        plan = PackPlan(padded, zoom_min, top)
        if plan.count <= max_tiles:
            return plan
    reason = (
        f"the area needs more than {max_tiles} tiles even up to zoom {LEAST_ZOOM_MAX}: "
        "choose a municipality, or zoom the map in"
    )
    raise InvalidParameter(f"{parameter}: {reason}", problems=[Problem(parameter, reason)])
