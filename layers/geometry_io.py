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
