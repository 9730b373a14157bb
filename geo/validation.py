"""Validation of input geometries at the edge, before anything is written.

Every check reports *which* row and *what* is wrong, in words a data clerk can
act on: the geometry type found, the GEOS reason and location of an invalid
polygon, bounds outside Mexico with a hint when lon/lat look swapped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidGeometry, Problem, ProblemList
from geo.mexico import MEXICO_BOUNDS, in_mexico, swapped_hint

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")
PUNTUAL = ("Point",)

# The most detailed INEGI municipality (Marco Geoestadístico, full detail) has 50,906
# vertices; five times that is room for a surveyed claim, a million is an error.
DEFAULT_MAX_VERTICES = 250_000

#: why a GeoJSON position of 4 or more numbers is refused (wherever positions are read)
TOO_MANY_NUMBERS = (
    "a position has more than 3 numbers; a GeoJSON position is [lon, lat] "
    "(measured M values are not accepted)"
)

_REASON = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>[-\d.eE+]+) (?P<y>[-\d.eE+]+)\]$")


def describe_invalid(geom: BaseGeometry) -> str:
    """GEOS's reason for an invalid geometry, as ``"Self-intersection at (-96.71, 17.08)"``."""
    reason = str(shapely.is_valid_reason(geom))
    match = _REASON.match(reason)
    if not match:
        return reason
    x, y = float(match["x"]), float(match["y"])
    return f"{match['what'].strip()} at ({x:.6g}, {y:.6g})"


def check_geometries(
    geoms: Sequence[BaseGeometry | None] | np.ndarray,
    *,
    allowed_types: Sequence[str],
    field: str = "geometry",
    extent: Literal["within", "intersects"] = "within",
    max_vertices: int = DEFAULT_MAX_VERTICES,
    problems: ProblemList | None = None,
) -> ProblemList:
    """Check an array of geometries in lon/lat (EPSG:4326) and collect what is wrong.

    Args:
        geoms: geometries in EPSG:4326; ``None`` entries are reported as missing.
        allowed_types: accepted geometry types, e.g. ``POLYGONAL``.
        field: the name used for the geometry in messages.
        extent: ``"within"`` requires every geometry to lie inside Mexico's envelope;
            ``"intersects"`` only requires it to touch it (rivers cross the border).
        max_vertices: upper bound on vertices per geometry.
        problems: a list to add to; a new one is made if not given.

    Returns:
        The problems found, each with its 1-based row number. Checks are vectorised,
        so a national layer (millions of vertices) is checked in about a second.
    """
    found = problems if problems is not None else ProblemList()
    arr = np.asarray(geoms, dtype=object)
    if arr.size == 0:
        return found
    missing = np.asarray(shapely.is_missing(arr))
    types = shapely.get_type_id(arr)
    type_names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ]
    )
    empty = shapely.is_empty(arr)
    n_coords = shapely.get_num_coordinates(arr)
    bounds = shapely.bounds(arr)
    with np.errstate(invalid="ignore"):
        finite = np.asarray(np.isfinite(bounds).all(axis=1))
    valid = shapely.is_valid(arr)
    has_z = shapely.has_z(arr)
    has_m = shapely.has_m(arr)
    lon_min, lat_min, lon_max, lat_max = MEXICO_BOUNDS
    expected = " or ".join(allowed_types)

    for i in range(arr.size):
        row = i + 1
        if missing[i]:
            found.add(Problem(field, f"geometry is missing; expected {expected}", row))
            continue
        type_name = type_names[types[i]] if 0 <= types[i] < len(type_names) else "unknown"
        if type_name not in allowed_types:
            found.add(Problem(field, f"geometry is {type_name}; expected {expected}", row))
            continue
        if empty[i]:
            found.add(Problem(field, "geometry is empty", row))
            continue
        if not finite[i] or _has_nonfinite(arr[i], bool(has_z[i])):
            found.add(Problem(field, "coordinates contain NaN or infinity", row))
            continue
        if has_m[i]:
            found.add(Problem(field, "has measures (M values); send [lon, lat] positions", row))
            continue
        if has_z[i] and type_name not in PUNTUAL:
            found.add(
                Problem(
                    field,
                    "has heights (Z); limits and rivers are 2-D: send [lon, lat] positions "
                    "(for a file: ogr2ogr -dim XY out.gpkg in.shp)",
                    row,
                )
            )
            continue
        if n_coords[i] > max_vertices:
            found.add(
                Problem(
                    field,
                    f"has {n_coords[i]:,} vertices; the limit is {max_vertices:,} "
                    "(simplify it before importing)",
                    row,
                )
            )
            continue
        x0, y0, x1, y1 = bounds[i]
        if extent == "within":
            outside = x0 < lon_min or x1 > lon_max or y0 < lat_min or y1 > lat_max
        else:
            outside = x1 < lon_min or x0 > lon_max or y1 < lat_min or y0 > lat_max
        if outside:
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            hint = swapped_hint(cx, cy) or (
                ""
                if abs(cx) <= 180 and abs(cy) <= 90
                else " (these are not degrees: is the file's CRS declared? pass --crs)"
            )
            found.add(
                Problem(
                    field,
                    f"lies outside Mexico: bounds ({x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}){hint}",
                    row,
                )
            )
            continue
        if not valid[i]:
            found.add(Problem(field, f"invalid geometry: {describe_invalid(arr[i])}", row))
    return found


def _has_nonfinite(geom: BaseGeometry, has_z: bool) -> bool:
    coords = shapely.get_coordinates(geom, include_z=has_z)
    return not bool(np.isfinite(coords).all())


def to_multi(geoms: Sequence[BaseGeometry] | np.ndarray) -> np.ndarray:
    """Drop Z and promote single parts so a column holds one type.

    Polygon becomes MultiPolygon and LineString becomes MultiLineString; points and
    geometries already multi-part are returned as they are.
    """
    arr = shapely.force_2d(np.asarray(geoms, dtype=object))
    out = arr.copy()
    types = shapely.get_type_id(arr)
    poly = types == shapely.GeometryType.POLYGON
    line = types == shapely.GeometryType.LINESTRING
    if poly.any():
        out[poly] = [shapely.MultiPolygon([g]) for g in arr[poly]]
    if line.any():
        out[line] = [shapely.MultiLineString([g]) for g in arr[line]]
    return out


def parse_geojson_geometry(
    obj: Any, *, allowed_types: Sequence[str], field: str = "geometry"
) -> BaseGeometry:
    """Turn one GeoJSON geometry object (RFC 7946, lon/lat) into a checked Shapely geometry.

    Raises:
        InvalidGeometry: naming the field and the reason (not GeoJSON, wrong type,
            empty, NaN, outside Mexico with a swapped-axes hint, invalid polygon).
    """
    if not isinstance(obj, dict) or "type" not in obj:
        raise InvalidGeometry(
            f"{field} must be a GeoJSON geometry object with 'type' and 'coordinates'",
            problems=[Problem(field, "not a GeoJSON geometry object")],
        )
    unclosed = _unclosed_ring(obj)
    if unclosed:
        raise InvalidGeometry(f"{field}: {unclosed}", problems=[Problem(field, unclosed)])
    try:
        geom = shapely.geometry.shape(obj)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        if "dimension should be 2 or 3" in str(exc):
            raise InvalidGeometry(
                f"{field}: {TOO_MANY_NUMBERS}", problems=[Problem(field, TOO_MANY_NUMBERS)]
            ) from exc
        raise InvalidGeometry(
            f"{field} is not valid GeoJSON: {exc}",
            problems=[Problem(field, f"malformed coordinates: {exc}")],
        ) from exc
    problems = check_geometries([geom], allowed_types=allowed_types, field=field)
    if problems:
        first = problems.items[0]
        raise InvalidGeometry(f"{field} {first.reason}", problems=[Problem(field, first.reason)])
    return geom


def _unclosed_ring(obj: dict[str, Any]) -> str | None:
    """RFC 7946 rings end where they start; Shapely would close one silently."""
    kind, coords = obj.get("type"), obj.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    if not isinstance(polygons, list):
        return None
    for p, rings in enumerate(polygons):
        for r, ring in enumerate(rings if isinstance(rings, list) else []):
            if isinstance(ring, list) and len(ring) >= 2 and ring[0] != ring[-1]:
                where = f"ring {r + 1}" + (f" of polygon {p + 1}" if kind == "MultiPolygon" else "")
                return (
                    f"{where} is not closed: it starts at {ring[0]} and ends at {ring[-1]}; "
                    "repeat the first position at the end"
                )
    return None


def check_point(lon: float, lat: float) -> list[Problem]:
    """Range checks for a lon/lat pair given as two numbers (query strings, CSV columns)."""
    problems: list[Problem] = []
    if not np.isfinite(lon) or not -180 <= lon <= 180:
        hint = (
            " (it looks like lat: lon comes first)"
            if -90 <= lat <= 90 and in_mexico(lat, lon)
            else ""
        )
        problems.append(Problem("lon", f"must be a longitude between -180 and 180{hint}"))
    if not np.isfinite(lat) or not -90 <= lat <= 90:
        hint = (
            "; lon and lat look swapped (lon first, e.g. lon=-96.72&lat=17.07)"
            if in_mexico(lat, lon)
            else ""
        )
        problems.append(Problem("lat", f"must be a latitude between -90 and 90{hint}"))
    return problems
