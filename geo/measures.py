"""The measures stored with a zone: area, perimeter and contested length.

Metric (EPSG:6372) geometries in, metres and hectares out; no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.disputes import Zone

#: a claimed line this close to a zone's outline bounds it (overlay output is not bit-exact)
ON_LINE_M = 0.01


def outlines(claims: Mapping[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """The boundary line of each claim, computed once for many zones."""
    keys = list(claims)
    lines = shapely.boundary(np.array([claims[k] for k in keys], dtype=object))
    return dict(zip(keys, lines, strict=True))


def zone_measures(
    geom: BaseGeometry, parties: Sequence[str], claim_outlines: Mapping[str, BaseGeometry]
) -> dict[str, float]:
    """Area (m², ha), perimeter (m) and ``contested_length_m``.

    The contested length is the longest stretch of one party's claimed line that bounds
    the zone where no other party's line runs too: for an overlap strip along a limit,
    the strip's length; for a locality reaching over the line, the outline of the part
    that reaches over; for a gap, the longest claimed line facing it.
    """
    area = float(shapely.area(geom))
    reach = shapely.buffer(geom, ON_LINE_M)
    minx, miny, maxx, maxy = reach.bounds
    near: dict[str, BaseGeometry] = {}
    for key in parties:
        line = claim_outlines.get(key)
        if line is not None:
            clipped = shapely.clip_by_rect(line, minx, miny, maxx, maxy)
            if not clipped.is_empty:
                near[key] = shapely.intersection(clipped, reach)
    longest = 0.0
    for key, line in near.items():
        # where two parties' lines coincide (the outer edge both claim) nobody contests
        others = [g for k, g in near.items() if k != key and not g.is_empty]
        if others:
            line = shapely.difference(line, shapely.buffer(shapely.union_all(others), ON_LINE_M))
        longest = max(longest, float(shapely.length(line)))
    return {
        "area_m2": round(area, 2),
        "area_ha": round(area / 1e4, 4),
        "perimeter_m": round(float(shapely.length(geom)), 2),
        "contested_length_m": round(longest, 2),
    }


def measure(zones: Sequence[Zone], claims: Mapping[str, BaseGeometry]) -> list[dict[str, Any]]:
    """``zone_measures`` for every zone; each claim's outline is made once."""
    if not zones:
        return []
    used = sorted({k for z in zones for k in z.parties if k in claims})
    lines = outlines({k: claims[k] for k in used})
    return [zone_measures(z.geom, z.parties, lines) for z in zones]
