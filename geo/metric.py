"""Moving geometries between storage (EPSG:4326 lon/lat) and metric work (EPSG:6372).

Areas, lengths and every overlay of the commission's work are computed in EPSG:6372
(Mexico ITRF2008 / LCC, INEGI's national projection), where a square metre is a
square metre all over the country.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

METRIC_EPSG = 6372


@lru_cache(maxsize=4)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _project(geoms: Any, src: int, dst: int) -> Any:
    transformer = _transformer(src, dst)

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    # one call over every vertex of every geometry: pyproj is vectorised
    return shapely.transform(geoms, move)


def to_metric(geoms: Sequence[BaseGeometry] | np.ndarray | BaseGeometry) -> Any:
    """Lon/lat (EPSG:4326) geometries, one or an array, to EPSG:6372 metres (Z dropped)."""
    return _project(geoms, 4326, METRIC_EPSG)


def to_lonlat(geoms: Sequence[BaseGeometry] | np.ndarray | BaseGeometry) -> Any:
    """EPSG:6372 geometries, one or an array, back to lon/lat (EPSG:4326)."""
    return _project(geoms, METRIC_EPSG, 4326)
