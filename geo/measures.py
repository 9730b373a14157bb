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


def outlines(claims: Mapping[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """The boundary line of each claim, computed once for many zones."""
    keys = list(claims)
    lines = shapely.boundary(np.array([claims[k] for k in keys], dtype=object))
    return dict(zip(keys, lines, strict=True))


def zone_measures(
    geom: BaseGeometry,
    parties: Sequence[str],
    claim_outlines: Mapping[str, BaseGeometry],
    *,
    lines_may_coincide: bool = True,
) -> dict[str, float]:
    """Area (m², ha), perimeter (m) and ``contested_length_m``.

    The contested length is the longest stretch of one party's claimed line that bounds
    the zone where no other party's line runs too: for an overlap strip along a limit,
    the strip's length; for a locality reaching over the line, the outline of the part
    that reaches over; for a gap, the longest claimed line facing it.

    The zone comes out of an overlay of the claims, so its outline is made of the
    claims' own segments: intersecting each party's line with the zone (a line with a
    polygon, no buffers) finds them. Pieces where a node was rounded off a segment are
    lost, which costs millimetres. ``lines_may_coincide=False`` (a gap: the parties'
    lines face it from different sides) skips looking for shared stretches.
    """
    area = float(shapely.area(geom))
    # widened: clip_by_rect leaves out lines lying on the rectangle's edge
    minx, miny, maxx, maxy = shapely.bounds(geom) + np.array([-1.0, -1.0, 1.0, 1.0])
    near: dict[str, BaseGeometry] = {}
    for key in parties:
        line = claim_outlines.get(key)
        if line is not None:
            clipped = shapely.clip_by_rect(line, minx, miny, maxx, maxy)
            if not clipped.is_empty:
                near[key] = _lines(shapely.intersection(clipped, geom))
    length = {key: float(shapely.length(line)) for key, line in near.items()}
    if lines_may_coincide:
        keys = list(near)
        for i, key in enumerate(keys):
            for other in keys[i + 1 :]:
                # where two parties' lines coincide (an outer edge both claim) nobody contests
                shared = float(shapely.length(_lines(shapely.intersection(near[key], near[other]))))
                length[key] -= shared
                length[other] -= shared
    longest = max(length.values(), default=0.0)
    return {
        "area_m2": round(area, 2),
        "area_ha": round(area / 1e4, 4),
        "perimeter_m": round(float(shapely.length(geom)), 2),
        "contested_length_m": round(max(longest, 0.0), 2),
    }


def _lines(geom: BaseGeometry) -> BaseGeometry:
    """The linear parts of an overlay result (points where lines only cross dropped)."""
    parts = shapely.get_parts(shapely.get_parts(geom))
    keep = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    return shapely.MultiLineString(list(parts[keep]))


def _vertex_keys(geom: BaseGeometry) -> np.ndarray:
    """Every vertex of a geometry as one complex number (x + iy), sorted, for lookups."""
    xy = shapely.get_coordinates(geom)
    return np.unique(xy[:, 0] + 1j * xy[:, 1])


def _contains(sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_keys, values).clip(0, len(sorted_keys) - 1)
    return np.asarray(sorted_keys[at] == values)


def measure(zones: Sequence[Zone], claims: Mapping[str, BaseGeometry]) -> list[dict[str, Any]]:
    """``zone_measures`` for detected zones, by vertex matching instead of overlays.

    A detected zone's outline is made of its parties' claim segments, vertex for vertex
    (GEOS's overlay keeps input vertices and only adds nodes where lines cross), so a
    segment of the outline whose two ends are vertices of a party's claim is a stretch
    of that party's line. Matching vertices is a sorted lookup, which keeps a national
    run to seconds where an overlay per zone and party took minutes. The few segments
    that end at a crossing node are not counted (centimetres to metres per zone).
    """
    if not zones:
        return []
    keys = sorted({k for z in zones for k in z.parties if k in claims})
    vertex_sets = {k: _vertex_keys(claims[k]) for k in keys}
    out = []
    for zone in zones:
        area = float(shapely.area(zone.geom))
        longest = 0.0
        rings = shapely.get_rings(zone.geom)
        on: dict[str, list[np.ndarray]] = {k: [] for k in zone.parties if k in vertex_sets}
        lengths: list[np.ndarray] = []
        for ring in rings:
            xy = shapely.get_coordinates(ring)
            lengths.append(np.hypot(*np.diff(xy, axis=0).T))
            points = xy[:, 0] + 1j * xy[:, 1]
            for key in on:
                hit = _contains(vertex_sets[key], points)
                on[key].append(hit[:-1] & hit[1:])
        if on and lengths:
            seg_length = np.concatenate(lengths)
            masks = {k: np.concatenate(v) for k, v in on.items()}
            for key, mask in masks.items():
                # where two parties' lines coincide (an outer edge both claim) nobody contests
                others = [m for k, m in masks.items() if k != key]
                alone = mask & ~np.logical_or.reduce(others) if others else mask
                longest = max(longest, float(seg_length[alone].sum()))
        out.append(
            {
                "area_m2": round(area, 2),
                "area_ha": round(area / 1e4, 4),
                "perimeter_m": round(float(shapely.length(zone.geom)), 2),
                "contested_length_m": round(longest, 2),
            }
        )
    return out


def population_inside(localities: Sequence[Mapping[str, Any]]) -> int:
    """People estimated to live inside a zone: each locality's population times the
    share of its area inside (``share_inside``, 0-1), summed and rounded.

    An estimate by area share (people assumed spread evenly over a locality); a locality
    without a population counts 0.
    """
    total = sum(float(d.get("population") or 0) * float(d["share_inside"]) for d in localities)
    return round(total)
