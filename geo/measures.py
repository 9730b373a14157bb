"""The measures stored with a zone: area, perimeter, contested length of official line.

Metric (EPSG:6372) geometries in, metres and hectares out; no database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.disputes import Zone, official_line


def zone_measures(
    geom: BaseGeometry, parties: Sequence[str], official: Mapping[str, BaseGeometry]
) -> dict[str, float]:
    """Area (m², ha), perimeter (m), and ``contested_length_m``: the length of the
    parties' official boundary within 1 m of the zone, i.e. the stretch of the legal
    line the zone puts in question. Metric (EPSG:6372) input."""
    line = official_line(geom, [official[k] for k in parties if k in official])
    area = float(shapely.area(geom))
    return {
        "area_m2": round(area, 2),
        "area_ha": round(area / 1e4, 4),
        "perimeter_m": round(float(shapely.length(geom)), 2),
        "contested_length_m": round(float(shapely.length(line)), 2),
    }


def measure(zones: Sequence[Zone], official: Mapping[str, BaseGeometry]) -> list[dict[str, Any]]:
    """``zone_measures`` for every zone; the official outlines are made once each."""
    if not zones:
        return []
    keys = sorted({k for z in zones for k in z.parties if k in official})
    outlines = dict(
        zip(
            keys, shapely.boundary(np.array([official[k] for k in keys], dtype=object)), strict=True
        )
    )
    return [zone_measures_from_outlines(z.geom, z.parties, outlines) for z in zones]


def zone_measures_from_outlines(
    geom: BaseGeometry, parties: Sequence[str], outlines: Mapping[str, BaseGeometry]
) -> dict[str, float]:
    area = float(shapely.area(geom))
    reach = shapely.buffer(geom, 1.0)
    minx, miny, maxx, maxy = reach.bounds
    pieces = [
        shapely.intersection(shapely.clip_by_rect(outlines[k], minx, miny, maxx, maxy), reach)
        for k in parties
        if k in outlines
    ]
    pieces = [p for p in pieces if not p.is_empty]
    length = float(shapely.length(shapely.union_all(pieces))) if pieces else 0.0
    return {
        "area_m2": round(area, 2),
        "area_ha": round(area / 1e4, 4),
        "perimeter_m": round(float(shapely.length(geom)), 2),
        "contested_length_m": round(length, 2),
    }
