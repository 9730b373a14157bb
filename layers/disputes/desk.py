"""The commission's list of zones: every zone a caller reaches, filtered, sorted, counted.

One read for the ``/disputas`` page: the zones (with their outline for the map and the
people estimated to live inside), and how many there are in each status under the same
filters but the status, so the page can show the counts beside the status filter.
"""

from __future__ import annotations

from typing import Literal

import shapely
import shapely.geometry
from sqlalchemy import Connection, func, select

from geo.access import RowScope
from geo.measures import population_inside
from geo.metric import to_metric
from layers.access import row_condition
from layers.disputes.rows import OverviewZone, PartyName, ZonesOverview
from layers.disputes.zones import _SUMMARY, _fields, localities_in
from layers.geometry_io import from_db
from layers.schema import (
    disputed_zone_parties,
    disputed_zones,
    metro_zone_members,
    municipalities,
)

_z = disputed_zones.c
Sort = Literal["area", "population"]
#: outline simplification for the list map, in degrees (about 1 m): enough to draw
#: a zone at city scale, a fraction of the vertices of a detected overlap strip
MAP_TOLERANCE_DEG = 0.00001


def overview(
    conn: Connection,
    *,
    rows: RowScope | None,
    metro_zone: str | None = None,
    cvegeo: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    sort: Sort = "area",
    limit: int = 1000,
) -> ZonesOverview:
    """Zones reached by ``rows`` under the filters, largest (area or people) first.

    Args:
        metro_zone: a metro-zone code (``20.1.01``): zones with a party among its members.
        cvegeo: zones this municipality is party to.
        status, kind: as stored (``open``, ``overlap``…).
        sort: ``area`` (m²) or ``population`` (estimated inside, by area share).

    Returns:
        ``{"counts": {status: n}, "total": n, "zones": [...]}``; ``counts`` ignores the
        status filter. Each zone: the summary of ``GET /disputes``, its ``parties`` with
        names, ``population_estimate`` and a simplified ``geometry`` (GeoJSON, lon/lat).
    """
    conditions = []
    reached = row_condition(disputed_zones, rows)
    if reached is not None:
        conditions.append(reached)
    if kind:
        conditions.append(_z.kind == kind)
    party = disputed_zone_parties.c
    if cvegeo:
        conditions.append(_z.id.in_(select(party.zone_id).where(party.cvegeo == cvegeo)))
    if metro_zone:
        members = select(metro_zone_members.c.cvegeo).where(
            metro_zone_members.c.zone_code == metro_zone
        )
        conditions.append(_z.id.in_(select(party.zone_id).where(party.cvegeo.in_(members))))
    counts: dict[str, int] = dict(
        conn.execute(select(_z.status, func.count()).where(*conditions).group_by(_z.status)).all()
    )
    if status:
        conditions.append(_z.status == status)
    found = conn.execute(
        select(*_SUMMARY, _z.geom).where(*conditions).order_by(_z.area_m2.desc(), _z.id)
    ).all()
    names = _party_names(conn, [r.id for r in found])
    zones: list[OverviewZone] = []
    for r in found:
        geom = from_db(r.geom)
        assert geom is not None
        shown = shapely.simplify(geom, MAP_TOLERANCE_DEG, preserve_topology=True)
        zones.append(
            OverviewZone(
                **_fields(r),
                parties=names.get(r.id, []),
                population_estimate=population_inside(localities_in(conn, geom, to_metric(geom))),
                geometry=shapely.geometry.mapping(shapely.orient_polygons(shown)),
            )
        )
    if sort == "population":
        zones.sort(key=lambda z: (-z["population_estimate"], -z["area_m2"], z["id"]))
    return ZonesOverview(counts=counts, total=len(zones), zones=zones[:limit])


def _party_names(conn: Connection, zone_ids: list[int]) -> dict[int, list[PartyName]]:
    if not zone_ids:
        return {}
    party = disputed_zone_parties.c
    out: dict[int, list[PartyName]] = {}
    for zone_id, key, name in conn.execute(
        select(party.zone_id, party.cvegeo, municipalities.c.name)
        .join(municipalities, municipalities.c.cvegeo == party.cvegeo)
        .where(party.zone_id.in_(zone_ids))
        .order_by(party.zone_id, party.cvegeo)
    ):
        out.setdefault(zone_id, []).append(PartyName(cvegeo=key, name=name))
    return out
