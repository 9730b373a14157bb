"""The functions that move geometry between Shapely and the database."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from geoalchemy2.elements import WKBElement
from shapely.geometry.base import BaseGeometry

from layers.schema import SRID


def to_db(geoms: Sequence[BaseGeometry] | np.ndarray) -> list[WKBElement]:
    """Shapely geometries (lon/lat) to EWKB values to bind into an insert or update."""
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), SRID)
    return [
        WKBElement(wkb, srid=SRID, extended=True) for wkb in shapely.to_wkb(arr, include_srid=True)
    ]


def to_wkb(geoms: Sequence[BaseGeometry] | np.ndarray) -> list[bytes]:
    """Shapely geometries (lon/lat) to plain WKB bytes, for ``dialects.geometry_from_wkb``."""
    return list(shapely.to_wkb(np.asarray(geoms, dtype=object)))


def from_db(value: WKBElement | bytes | memoryview | None) -> BaseGeometry | None:
    """A geometry value read from the database (GeoAlchemy2 element or raw WKB) to Shapely."""
    if value is None:
        return None
    if isinstance(value, WKBElement):
        data = value.data
        return shapely.from_wkb(bytes(data) if isinstance(data, memoryview) else data)
    return shapely.from_wkb(bytes(value))


_POINT_EWKB = np.dtype(
    [("order", "u1"), ("kind", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


def points_to_db(lon: np.ndarray, lat: np.ndarray) -> list[str]:
    """Lon/lat points as hex EWKB (SRID 4326), for bulk inserts of many points.

    Built with NumPy rather than through Shapely objects: for 100,000 points this is
    a few milliseconds instead of most of a second. The text is what PostGIS reads
    in COPY and what ``GeomFromEWKB`` takes; wrap it in ``WKBElement`` for SQLAlchemy.
    """
    records = np.empty(len(lon), dtype=_POINT_EWKB)
    records["order"] = 1  # little endian
    records["kind"] = 0x20000001  # Point, with SRID
    records["srid"] = SRID
    records["x"] = lon
    records["y"] = lat
    text = records.tobytes().hex()
    width = 2 * _POINT_EWKB.itemsize
    return [text[k : k + width] for k in range(0, len(text), width)]
