"""Vector tile maths and encoding: tile matrix sets, tile bounds, per-zoom snapping, MVT.

Pure: no database, no HTTP. The tile grids come from ``morecantile`` (the OGC
Two Dimensional Tile Matrix Set standard's definitions); only ``WebMercatorQuad``
is served, as every web map and QGIS reads it.

How a tile keeps neighbours' shared edges shared at every zoom: geometry is never
simplified line by line (Douglas-Peucker moves a shared edge differently in each
of the two polygons that share it, and opens slivers and overlaps). Instead every
vertex is snapped to a grid that depends only on the zoom, never on the feature:

1. in lon/lat, to a grid of ``SNAP_UNITS`` tile units at that zoom (``snap_size_deg``),
   which drops the vertices a tile cannot show before anything costly is done (two
   units are a quarter of a pixel of a 512-pixel tile; with a grid of a quarter unit
   the largest national z5 tile of municipalities was 730 KiB, with two 450 KiB;
   see bench/tiles.py);
2. in the tile, to the integer grid of ``EXTENT`` units (the MVT quantisation).

A vertex shared by two neighbours lands on the same grid point in both, so the
shared edge stays one line and no gap or overlap opens. PostGIS does step 1 with
``ST_SnapToGrid`` and step 2 in ``ST_AsMVTGeom``; :func:`encode_tile` does both in
Python for SpatiaLite, with the same rounding (round half to even).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import morecantile
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo.errors import NotFound

#: the MVT grid: tile units across a tile
EXTENT = 4096
#: the lon/lat snapping grid, in tile units (see the module's docstring)
SNAP_UNITS = 2
#: tile units drawn beyond each edge, so strokes and labels do not stop at the seam
BUFFER = 64
#: the tile matrix sets served, by their OGC identifier
SUPPORTED_TMS: tuple[str, ...] = ("WebMercatorQuad",)
MVT = "application/vnd.mapbox-vector-tile"

_EARTH_RADIUS_M = 6378137.0  # the sphere of EPSG:3857
_TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


@dataclass(frozen=True)
class TileBounds:
    """A tile's edges in its matrix set's CRS (EPSG:3857 metres for WebMercatorQuad)
    and, widened by the buffer, in lon/lat (for the spatial index)."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    lonlat_buffered: tuple[float, float, float, float]

    @property
    def buffered(self) -> tuple[float, float, float, float]:
        pad = (self.maxx - self.minx) * BUFFER / EXTENT
        return (self.minx - pad, self.miny - pad, self.maxx + pad, self.maxy + pad)


def tile_matrix_set(tms_id: str) -> morecantile.TileMatrixSet:
    """The tile matrix set named ``tms_id``.

    Raises:
        NotFound: a set Linde does not serve, listing the ones it does.
    """
    if tms_id not in SUPPORTED_TMS:
        raise NotFound(
            f"no tile matrix set {tms_id!r}; the supported ones are: {', '.join(SUPPORTED_TMS)}"
        )
    return morecantile.tms.get(tms_id)


def check_tile(tms: morecantile.TileMatrixSet, z: int, x: int, y: int) -> None:
    """Raise ``NotFound`` naming the valid range when z, x or y is outside the set."""
    if not tms.minzoom <= z <= tms.maxzoom:
        raise NotFound(
            f"zoom {z} is out of range: {tms.id} has zooms {tms.minzoom} to {tms.maxzoom}"
        )
    matrix = tms.matrix(z)
    for name, value, size in (("x", x, matrix.matrixWidth), ("y", y, matrix.matrixHeight)):
        if not 0 <= value < size:
            raise NotFound(
                f"{name} {value} is out of range at zoom {z}: it must be 0 to {size - 1}"
            )


def tile_bounds(tms: morecantile.TileMatrixSet, z: int, x: int, y: int) -> TileBounds:
    """The bounds of tile (z, x, y); the caller has checked it with :func:`check_tile`."""
    b = tms.xy_bounds(morecantile.Tile(x, y, z))
    pad = (b.right - b.left) * BUFFER / EXTENT
    # by the spherical Mercator formulas, not tms.lnglat: a buffer past the
    # antimeridian must clamp at ±180, not wrap round to the other side
    lonlat = (
        max(_lon(b.left - pad), -180.0),
        max(_lat(b.bottom - pad), -90.0),
        min(_lon(b.right + pad), 180.0),
        min(_lat(b.top + pad), 90.0),
    )
    return TileBounds(b.left, b.bottom, b.right, b.top, lonlat)


def _lon(x_m: float) -> float:
    return math.degrees(x_m / _EARTH_RADIUS_M)


def _lat(y_m: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y_m / _EARTH_RADIUS_M)) - math.pi / 2)


def snap_size_deg(z: int) -> float:
    """The lon/lat grid vertices are snapped to at zoom ``z``: ``SNAP_UNITS`` tile units
    at the equator (Mercator stretches latitude by 1/cos, so up to 2.4 units in y at
    Mexico's northern border, still under half a pixel of a 512-pixel tile)."""
    return 360.0 * SNAP_UNITS / (2**z * EXTENT)


def tiles_covering(
    tms: morecantile.TileMatrixSet, bbox: tuple[float, float, float, float], zooms: Iterable[int]
) -> list[tuple[int, int, int]]:
    """Every (z, x, y) whose tile meets the lon/lat ``bbox``, zoom by zoom."""
    west, south, east, north = bbox
    return [(t.z, t.x, t.y) for t in tms.tiles(west, south, east, north, list(zooms))]


def _snap(geometry: BaseGeometry, size: float) -> BaseGeometry:
    return shapely.transform(geometry, lambda xy: np.rint(xy / size) * size)


def _to_mercator(geometry: BaseGeometry) -> BaseGeometry:
    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(_TO_MERCATOR.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geometry, move)


@dataclass(frozen=True)
class TileFeature:
    """One feature for :func:`encode_tile`: geometry in lon/lat (EPSG:4326)."""

    id: int | None
    properties: dict[str, Any]
    geometry: BaseGeometry


_DIMENSION = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1}


def _same_dimension(geometry: BaseGeometry, dimension: int) -> BaseGeometry:
    """The parts of ``geometry`` of ``dimension`` (what made-valid or clipped output
    keeps, as ``ST_AsMVTGeom`` keeps it); empty when none."""
    parts = shapely.get_parts(geometry)
    while any(p.geom_type.startswith(("Multi", "Geometry")) for p in parts):
        parts = shapely.get_parts(parts)
    kept = [p for p in parts if _DIMENSION.get(p.geom_type, 2) == dimension]
    if not kept:
        return shapely.GeometryCollection()
    return shapely.union_all(kept) if len(kept) > 1 else kept[0]


def _to_tile_units(geometry: BaseGeometry, bounds: TileBounds) -> BaseGeometry:
    """Web Mercator to the tile's integer grid, y down (round half to even)."""
    sx = EXTENT / (bounds.maxx - bounds.minx)
    sy = EXTENT / (bounds.maxy - bounds.miny)

    def scale(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(
            (np.rint((xy[:, 0] - bounds.minx) * sx), np.rint((bounds.maxy - xy[:, 1]) * sy))
        )

    return shapely.transform(geometry, scale)


def encode_tile(layer: str, features: Sequence[TileFeature], bounds: TileBounds, z: int) -> bytes:
    """An MVT tile of one layer, as PostGIS's ``ST_AsMVT(ST_AsMVTGeom(...))`` makes it.

    Each geometry is snapped in lon/lat (:func:`snap_size_deg`), projected to Web
    Mercator, clipped to the tile and its buffer, quantised to ``EXTENT`` units with y
    down, and made valid where snapping collapsed it, keeping only parts of its own
    dimension. Features left empty are dropped; ``None`` properties are left out, as
    PostGIS does. An empty tile is ``b""``.
    """
    size = snap_size_deg(z)
    clip = shapely.box(*bounds.buffered)
    encoded: list[dict[str, Any]] = []
    for feature in features:
        if feature.geometry is None or feature.geometry.is_empty:
            continue
        dimension = _DIMENSION.get(feature.geometry.geom_type, 2)
        geometry = _to_mercator(_snap(feature.geometry, size))
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        geometry = _to_tile_units(shapely.intersection(geometry, clip), bounds)
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        geometry = _same_dimension(geometry, dimension)
        if geometry.is_empty:
            continue
        props = {k: v for k, v in feature.properties.items() if v is not None}
        item: dict[str, Any] = {"geometry": geometry, "properties": props}
        if feature.id is not None:
            item["id"] = feature.id
        encoded.append(item)
    if not encoded:
        return b""
    options = {"y_coord_down": True, "extents": EXTENT, "on_invalid_geometry": None}
    tile: bytes = mapbox_vector_tile.encode(
        [{"name": layer, "features": encoded}], default_options=options
    )
    return tile


def decode_tile(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """A tile's layers as ``{name: [GeoJSON-like features in tile units, y down]}``."""
    if not data:
        return {}
    decoded = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    return {name: layer["features"] for name, layer in decoded.items()}
