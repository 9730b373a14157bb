"""What a detection run changes, decided before anything is written.

``plan`` takes the zones still open from earlier runs (``OpenZone``, as storage read
them) and the zones this run found (``FoundZone``), and says which zones appear,
which change their land, which stay (perhaps with new measures or claim versions)
and which vanish. ``layers.disputes.detection.apply_plan`` then writes exactly that.
Pure: no database, no clock; geometries in EPSG:6372 unless named ``*_lonlat``.

The case-file wording is here too (``created_summary`` …): commission members read
it, so it is Spanish and names the municipalities; the stable machine fields go to
the event's JSON details instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geo.disputes import Zone, ZoneKind, change, match_zones, same_geometry


@dataclass(frozen=True)
class OpenZone:
    """A detected zone not closed yet, as stored before this run."""

    id: int
    kind: str
    parties_key: str
    geom_m: BaseGeometry
    version: int
    geom_revision: int
    status: str
    geom_lonlat: BaseGeometry
    contested_length_m: float
    claim_ids: Mapping[str, int | None]


@dataclass(frozen=True)
class FoundZone:
    """A zone this run found: the zone, its measures and its land as it would be stored."""

    zone: Zone
    measures: Mapping[str, Any]  # area_m2, area_ha, perimeter_m, contested_length_m
    geom_lonlat: BaseGeometry  # MultiPolygon, lon/lat


@dataclass(frozen=True)
class Kept:
    """Same land as before; ``contested_length_m`` set when it moved, ``claim_ids`` the
    parties whose claim version in force is not the one stored."""

    index: int
    zone_id: int
    contested_length_m: float | None
    claim_ids: Mapping[str, int | None]


@dataclass(frozen=True)
class Changed:
    index: int
    zone_id: int
    version: int
    geom_revision: int
    gained_m2: float
    lost_m2: float
    claim_ids: Mapping[str, int | None]


@dataclass(frozen=True)
class Vanished:
    zone_id: int
    version: int
    geom_revision: int
    lost_m2: float
    from_status: str


@dataclass
class Plan:
    created: list[int] = field(default_factory=list)  # indexes of found zones that are new
    kept: list[Kept] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    vanished: list[Vanished] = field(default_factory=list)
    #: index of a found zone -> the id of the open zone it continues
    continues: dict[int, int] = field(default_factory=dict)


def plan(
    previous: Sequence[OpenZone],
    found: Sequence[FoundZone],
    claim_of: Mapping[str, int | None],
) -> Plan:
    """Match this run's zones with the open ones and say what each becomes.

    Args:
        previous: zones still open whose parties all lie in the run's scope.
        found: the zones detected now, in the order the run reports them.
        claim_of: cvegeo -> id of its claim in force (None: standing at its official line).

    A found zone continues an open one of the same kind and parties whose land it
    overlaps (``geo.disputes.match_zones``). It is unchanged when the stored land is
    the same (compared first as stored, coordinates for coordinates, then as land to
    0.01 m²), changed otherwise; an open zone nobody continues vanishes.
    """
    match = match_zones(
        [(p.id, p.kind, p.parties_key, p.geom_m) for p in previous], [f.zone for f in found]
    )
    by_id = {p.id: p for p in previous}
    out = Plan(continues=dict(match.previous))
    for i, new in enumerate(found):
        zone_id = match.previous.get(i)
        if zone_id is None:
            out.created.append(i)
            continue
        old = by_id[zone_id]
        moved = _moved_claims(new.zone.parties, old.claim_ids, claim_of)
        # the same computation on the same claims gives the same coordinates: compare
        # what would be stored first, and measure land only when that differs
        if shapely.equals_exact(
            shapely.normalize(new.geom_lonlat), shapely.normalize(old.geom_lonlat), 1e-12
        ) or same_geometry(old.geom_m, new.zone.geom):
            length = float(new.measures["contested_length_m"])
            out.kept.append(
                Kept(i, zone_id, length if length != old.contested_length_m else None, moved)
            )
            continue
        gained, lost = change(old.geom_m, new.zone.geom)
        out.changed.append(
            Changed(
                i,
                zone_id,
                old.version + 1,
                old.geom_revision + 1,
                round(gained, 2),
                round(lost, 2),
                moved,
            )
        )
    for zone_id in match.vanished:
        old = by_id[zone_id]
        out.vanished.append(
            Vanished(
                zone_id,
                old.version + 1,
                old.geom_revision + 1,
                round(float(shapely.area(old.geom_m)), 2),
                old.status,
            )
        )
    return out


def _moved_claims(
    parties: Sequence[str], stored: Mapping[str, int | None], current: Mapping[str, int | None]
) -> dict[str, int | None]:
    """The parties whose claim in force is not the one stored, with the new claim id."""
    return {k: current.get(k) for k in parties if stored.get(k) != current.get(k)}


# --- the case file's words (Spanish: the commission reads them) ---------------------------


def _party_list(parties: Sequence[str], names: Mapping[str, str]) -> str:
    """``Oaxaca de Juárez (20067) y San Jacinto Amilpas (20157)``; a key alone when the
    name is unknown."""
    named = [f"{names[k]} ({k})" if names.get(k) else k for k in parties]
    if len(named) <= 1:
        return "".join(named)
    return ", ".join(named[:-1]) + " y " + named[-1]


def describe(zone: Zone, names: Mapping[str, str]) -> str:
    """The zone as the case file names it: who claims it, or whom a gap lies beside."""
    if zone.kind is ZoneKind.overlap:
        return "traslape reclamado por " + _party_list(zone.parties, names)
    return "hueco que nadie reclama, junto a " + _party_list(zone.parties, names)


def created_summary(run_id: int, zone: Zone, area_ha: float, names: Mapping[str, str]) -> str:
    return f"corrida {run_id}: {describe(zone, names)}, {area_ha:,.2f} ha"


def changed_summary(run_id: int, gained_m2: float, lost_m2: float) -> str:
    return f"corrida {run_id}: la zona cambió, +{gained_m2:,.0f} m² / -{lost_m2:,.0f} m²"


def vanished_summary(run_id: int) -> str:
    return f"corrida {run_id}: los reclamos vigentes ya no dejan esta zona; se cierra como resuelta"
