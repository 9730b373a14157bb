"""The geometry of a commission's decision on a disputed zone, and of a claim's change.

A decision splits a zone between its parties: ``check_partition`` says whether the
parts cover the zone (within ``PARTITION_TOLERANCE_M2``) without doubling it or
leaving it, ``split_by_official`` gives the official line's split, ``apply_parts``
moves the parties' claims accordingly. ``diff_claims`` is what a new claim adds and
takes away. Metres (EPSG:6372) in and out, like ``geo.disputes``; no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.disputes import polygon_parts
from geo.errors import InvalidInput, Problem

#: a decision's parts may miss or double this much of the zone (float noise of overlays)
PARTITION_TOLERANCE_M2 = 1.0


@dataclass(frozen=True)
class Partition:
    missing_m2: float
    doubled_m2: float
    outside_m2: float


def check_partition(
    zone: BaseGeometry,
    parts: Mapping[str, BaseGeometry],
    *,
    tolerance_m2: float = PARTITION_TOLERANCE_M2,
) -> Partition:
    """Check that a decision's parts cover the zone exactly and do not overlap.

    Args:
        zone: the zone, metric.
        parts: party key -> the land assigned to it, metric.
        tolerance_m2: how much missing, doubled or outside area is float noise.

    Raises:
        InvalidInput: naming the area missing, doubled or outside the zone.
    """
    geoms = [g for g in parts.values() if g is not None and not g.is_empty]
    covered = shapely.union_all(geoms) if geoms else Polygon()
    missing = float(shapely.area(shapely.difference(zone, covered)))
    outside = float(shapely.area(shapely.difference(covered, zone)))
    doubled = float(sum(shapely.area(g) for g in geoms) - shapely.area(covered))
    result = Partition(missing, max(doubled, 0.0), outside)
    problems = []
    if missing > tolerance_m2:
        problems.append(
            Problem("parts", f"the parts leave {missing:,.1f} m² of the zone unassigned")
        )
    if doubled > tolerance_m2:
        problems.append(Problem("parts", f"the parts overlap: {doubled:,.1f} m² assigned twice"))
    if outside > tolerance_m2:
        problems.append(Problem("parts", f"the parts reach {outside:,.1f} m² outside the zone"))
    if problems:
        raise InvalidInput(
            "the decision's parts must cover the zone exactly, without overlapping: "
            + "; ".join(p.reason for p in problems),
            problems=problems,
        )
    return result


def split_by_official(
    zone: BaseGeometry, official: Mapping[str, BaseGeometry]
) -> dict[str, BaseGeometry]:
    """Each party's part of the zone along the official line: zone ∩ its official polygon."""
    return {key: shapely.intersection(zone, geom) for key, geom in official.items()}


def apply_parts(
    claims: Mapping[str, BaseGeometry], zone: BaseGeometry, parts: Mapping[str, BaseGeometry]
) -> dict[str, MultiPolygon]:
    """The new claim of each party: its claim without the zone, plus the part it was given.

    Works for an overlap (both claimed the zone) and a gap (neither did) alike.
    """
    out: dict[str, MultiPolygon] = {}
    for key, claim in claims.items():
        kept = shapely.difference(claim, zone)
        part = parts.get(key)
        merged = shapely.union(kept, part) if part is not None and not part.is_empty else kept
        polys, _ = polygon_parts(np.array([merged], dtype=object))
        out[key] = MultiPolygon(list(polys))
    return out


def as_valid_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """The polygonal part of a geometry, repaired if invalid (``make_valid``), as a
    MultiPolygon; lines and points that a repair or an overlay leaves are dropped."""
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    polys, _ = polygon_parts(np.array([geom], dtype=object))
    return MultiPolygon(list(polys))


def diff_claims(old: BaseGeometry, new: BaseGeometry) -> tuple[BaseGeometry, BaseGeometry]:
    """(gained, lost) land going from one claim version to another (metric, polygonal)."""
    gained, _ = polygon_parts(np.array([shapely.difference(new, old)], dtype=object))
    lost, _ = polygon_parts(np.array([shapely.difference(old, new)], dtype=object))
    return MultiPolygon(list(gained)), MultiPolygon(list(lost))
