"""Coordinate reference systems Linde serves (OGC API - Features Part 2).

Storage is EPSG:4326 with longitude first. Clients may ask for:

- ``CRS84`` (the default): WGS 84, longitude/latitude;
- ``EPSG:4326``: WGS 84 in the axis order EPSG defines, latitude/longitude;
- ``EPSG:6372``: Mexico ITRF2008 / LCC, INEGI's national projection, metres.

CRS identifiers are URIs (``http://www.opengis.net/def/crs/EPSG/0/6372``); the
short forms ``EPSG:6372`` and ``urn:ogc:def:crs:EPSG::6372`` are accepted too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import pyproj
from pyproj import Transformer

from geo.errors import InvalidParameter, Problem


@dataclass(frozen=True)
class Crs:
    uri: str
    epsg: int
    #: True when the first coordinate is the easting/longitude, as the authority defines the
    #: CRS (CRS84 and UTM zones: yes; EPSG:4326 and EPSG:6372: no, they are northing first).
    x_first: bool
    #: Decimal places worth keeping in output: ~1 cm either way.
    precision: int
    title: str

    @property
    def stored(self) -> bool:
        """Coordinates are served exactly as stored (no transform, no axis swap)."""
        return self.epsg == 4326 and self.x_first


def east_first(authority: str, code: int | str) -> bool:
    """Whether the CRS's first axis points east (or west), as its authority defines it.

    Read from PROJ's database (pyproj's ``axis_info``), never from a list kept here:
    EPSG:4326 is latitude first, EPSG:6372 is northing first, OGC's CRS84 is longitude
    first, a UTM zone is easting first.
    """
    axes = pyproj.CRS.from_authority(authority, str(code)).axis_info
    return bool(axes) and axes[0].direction.lower() in ("east", "west")


def _epsg(code: int, precision: int, title: str) -> Crs:
    return Crs(
        f"http://www.opengis.net/def/crs/EPSG/0/{code}",
        code,
        east_first("EPSG", code),
        precision,
        title,
    )


CRS84 = Crs(
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    4326,
    east_first("OGC", "CRS84"),
    7,
    "WGS 84 (lon, lat)",
)
EPSG4326 = _epsg(4326, 7, "WGS 84 (lat, lon)")
EPSG6372 = _epsg(6372, 2, "México ITRF2008 / LCC (norte, este; m)")
SUPPORTED: tuple[Crs, ...] = (CRS84, EPSG4326, EPSG6372)
_BY_URI = {c.uri: c for c in SUPPORTED}
_SHORT = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG::|urn:ogc:def:crs:EPSG:[\d.]*:)(\d+)$", re.I)


def parse_crs(value: str | None, field: str) -> Crs:
    """The CRS named by a ``crs``/``bbox-crs``/``filter-crs`` parameter; CRS84 when
    absent. Given empty, it names no CRS: refused, as any other non-CRS."""
    if value is None:
        return CRS84
    if not value.strip():
        raise InvalidParameter(
            f"empty {field}",
            problems=[Problem(field, f"empty; name a CRS such as {CRS84.uri}, or leave it out")],
        )
    value = value.strip().strip("[]")  # a safe-CURIE [EPSG:6372] is allowed by Part 2
    if value in _BY_URI:
        return _BY_URI[value]
    if value.upper() in ("CRS84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84"):
        return CRS84
    match = _SHORT.match(value)
    if match:
        code = int(match.group(1))
        for crs in SUPPORTED:
            if crs.epsg == code and not (code == 4326 and crs is CRS84):
                return crs
    raise InvalidParameter(
        f"unsupported {field}",
        problems=[
            Problem(
                field,
                f"{value!r} is not a CRS Linde serves; use one of: "
                + ", ".join(c.uri for c in SUPPORTED),
            )
        ],
    )


@lru_cache(maxsize=8)
def _to_lonlat(epsg: int) -> Transformer:
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def bbox_to_lonlat(
    bbox: tuple[float, float, float, float], crs: Crs
) -> tuple[float, float, float, float]:
    """A bbox given in ``crs`` (its axis order) as lon/lat min/max in EPSG:4326."""
    a, b, c, d = bbox if crs.x_first else (bbox[1], bbox[0], bbox[3], bbox[2])
    if crs.epsg == 4326:
        return a, b, c, d
    # densify the edges: a projected rectangle is not a rectangle in lon/lat
    minx, miny, maxx, maxy = _to_lonlat(crs.epsg).transform_bounds(a, b, c, d, densify_pts=21)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InvalidParameter(
            "bbox outside the CRS's area",
            problems=[Problem("bbox", f"{bbox} cannot be expressed in longitude/latitude")],
        )
    return minx, miny, maxx, maxy


def to_lonlat(crs: Crs) -> Transformer | None:
    """A transformer from ``crs``'s (easting, northing) to (lon, lat) in EPSG:4326;
    None for EPSG:4326 itself (only the axis order may differ)."""
    return None if crs.epsg == 4326 else _to_lonlat(crs.epsg)
