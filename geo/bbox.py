"""The ``bbox`` text rule of OGC API - Features, as one pure function.

``"minx,miny,maxx,maxy"`` (or six numbers, heights dropped) in the axis order of the
CRS it is given in (``bbox-crs``: CRS84 lon/lat by default, EPSG:4326 lat/lon,
EPSG:6372 northing/easting), turned into a lon/lat box in EPSG:4326. The API's
``bbox`` parameter and the command line's ``--bbox`` both call it.
"""

from __future__ import annotations

import math

from geo.crs import CRS84, Crs, bbox_to_lonlat
from geo.errors import InvalidParameter, Problem

BBox = tuple[float, float, float, float]


def _bad(field: str, reason: str) -> InvalidParameter:
    return InvalidParameter(f"{field}: {reason}", problems=[Problem(field, reason)])


def parse_bbox_text(raw: str, crs: Crs = CRS84, field: str = "bbox") -> BBox:
    """``raw`` (4 or 6 comma-separated numbers in ``crs``'s axis order) as a lon/lat box.

    Raises:
        InvalidParameter: naming ``field``: the wrong count of numbers, a value that is not
            a finite number (with its position), corners in the wrong order, or degrees out
            of range for a geographic CRS (saying which axis order was read).
    """
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise _bad(
            field,
            f"expected 4 numbers (minx,miny,maxx,maxy) separated by commas, got {len(parts)}",
        )
    numbers: list[float] = []
    for i, part in enumerate(parts, start=1):
        try:
            value = float(part)
        except ValueError:
            raise _bad(field, f"value {i} ({part.strip()!r}) is not a number") from None
        if not math.isfinite(value):
            raise _bad(field, f"value {i} ({part.strip()!r}) is not a finite number")
        numbers.append(value)
    if len(numbers) == 6:  # 3D: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a, b, c, d = numbers
    if a > c or b > d:
        raise _bad(
            field,
            f"the lower corner ({a}, {b}) must come before the upper corner ({c}, {d})",
        )
    if crs.epsg == 4326:
        lon = (a, c) if crs.x_first else (b, d)
        lat = (b, d) if crs.x_first else (a, c)
        if not (lon[0] >= -180 and lon[1] <= 180 and lat[0] >= -90 and lat[1] <= 90):
            order = "lon,lat" if crs.x_first else "lat,lon (EPSG:4326 order)"
            raise _bad(field, f"coordinates out of range for {order}: {raw}")
    return bbox_to_lonlat((a, b, c, d), crs)
