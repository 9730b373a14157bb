"""What a proposal gives each party of a zone, measured against the official line.

A proposal is drawn as the land one party would receive (a polygon, lon/lat turned
metric by the caller); with two parties, the other receives the rest of the zone.
Each party's balance compares what it would receive with the part of the zone that
lies inside its official (INEGI) polygon: what it gains beyond the official line and
what it gives up behind it. Everything here is metric (EPSG:6372) and pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput, Problem

#: areas under this are float noise of the overlay (m²)
NOISE_M2 = 0.01


def proposal_parts(
    zone: BaseGeometry, proposed: BaseGeometry, party: str, parties: Sequence[str]
) -> dict[str, BaseGeometry]:
    """The land each party receives under a proposal: ``party`` the zone inside
    ``proposed``, the other party the rest.

    Raises:
        InvalidInput: ``party`` is not a party of the zone; the zone has more than two
            parties (a drawn polygon divides a zone between two); the proposal does not
            touch the zone.
    """
    if party not in parties:
        raise InvalidInput(
            f"{party} is not a party of this zone (parties: {', '.join(parties)})",
            problems=[Problem("party", "not a party of the zone")],
        )
    others = [p for p in parties if p != party]
    if len(others) != 1:
        raise InvalidInput(
            "a drawn proposal divides a zone between two parties; this zone has "
            f"{len(parties)}: give every party its part in a decision instead",
            problems=[Problem("party", f"the zone has {len(parties)} parties")],
        )
    kept = shapely.intersection(zone, proposed)
    if float(kept.area) <= NOISE_M2:
        raise InvalidInput(
            "the proposal does not cover any of the zone; draw it over the hatched area",
            problems=[Problem("geometry", "outside the zone")],
        )
    return {party: kept, others[0]: shapely.difference(zone, proposed)}


def balance(
    zone: BaseGeometry,
    official: Mapping[str, BaseGeometry],
    parts: Mapping[str, BaseGeometry],
) -> dict[str, dict[str, Any]]:
    """Per party: ``receives_m2`` (its part), ``official_m2`` (the zone inside its
    official polygon), ``gains_m2`` (received beyond the official line) and
    ``loses_m2`` (inside its official polygon but given to another), rounded to cm²."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(set(official) | set(parts)):
        part = parts.get(key)
        mine = shapely.intersection(zone, official[key]) if key in official else None
        receives = float(part.area) if part is not None else 0.0
        inside = float(mine.area) if mine is not None else 0.0
        gains = (
            float(shapely.difference(part, mine).area if mine is not None else part.area)
            if part is not None
            else 0.0
        )
        loses = (
            float(shapely.difference(mine, part).area if part is not None else mine.area)
            if mine is not None
            else 0.0
        )
        out[key] = {
            "receives_m2": round(receives, 2),
            "official_m2": round(inside, 2),
            "gains_m2": round(gains if gains > NOISE_M2 else 0.0, 2),
            "loses_m2": round(loses if loses > NOISE_M2 else 0.0, 2),
        }
    return out
