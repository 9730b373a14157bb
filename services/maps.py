"""The "build a map" use case: read the features (``layers.maps``), build the map
(``maps.builders``, ``maps.river_map``, ``maps.dispute_map``).

The API routes and the ``linde map`` commands both call these, so a map from the
command line is the map the service serves; the builders in ``maps/`` stay pure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import folium
import numpy as np
import shapely
from sqlalchemy import Connection

from geo.counts import points_per_polygon
from geo.errors import InvalidParameter, NotFound, Unauthenticated
from geo.rivers import DEFAULT_NEAR_M
from geo.simplify import within_distance
from layers import maps as map_layers
from maps.builders import metro_zone_map
from maps.common import has_numbers
from maps.dispute_map import dispute_map
from maps.legend import STATUS_ES
from maps.locator import add_locator
from maps.river_map import river_map
from maps.vector_tiles import TileSource

#: the numeric columns a metro-zone map can be coloured by, with their legend titles
CHOROPLETHS = {
    "population": "Población (Censo 2020)",
    "inspections": "Inspecciones registradas",
}


def metro_zone(
    conn: Connection,
    code: str,
    *,
    choropleth: str | None = None,
    may_see_inspections: bool = True,
    tiles: bool = True,
    made_on: date | None = None,
    require_numbers: bool = False,
    tile_source: TileSource | None = None,
) -> folium.Map:
    """The map of a metro zone.

    Args:
        choropleth: ``population`` or ``inspections`` (the inspection points in each
            municipality, all dates), or ``None``.
        may_see_inspections: whether the caller may see inspections (planner role or
            above); the inspections choropleth needs it.
        require_numbers: refuse a choropleth with no figure to colour by (the CLI,
            which should say so rather than write a plain map); otherwise such a map is
            drawn plain and says so.
        tile_source: a map for Linde's pages: big layers from vector tiles
            (``maps.vector_tiles``); ``None`` for files.

    Raises:
        NotFound: no zone with that code (404).
        InvalidParameter: a choropleth Linde does not offer (400), or, with
            ``require_numbers``, one no member of the zone has a figure for.
        Unauthenticated: the inspections choropleth for an anonymous caller (401).
    """
    zone = map_layers.metro_zone(conn, code)
    if zone is None:
        raise NotFound(
            f"there is no metro zone {code!r}; GET /collections/metro_zones/items lists them"
        )
    if choropleth is not None and choropleth not in CHOROPLETHS:
        raise InvalidParameter(
            f"choropleth: {choropleth!r} is not offered; use one of {', '.join(CHOROPLETHS)}"
        )
    members = map_layers.metro_zone_municipalities(conn, code)
    if choropleth == "inspections":
        if not may_see_inspections:
            raise Unauthenticated(
                "choropleth=inspections needs a bearer token of the planner role or above"
            )
        points = (
            map_layers.inspections_in_bbox(conn, tuple(members.total_bounds))
            if len(members)
            else None
        )
        members["inspections"] = points_per_polygon(
            members.geometry.values, points.geometry.values if points is not None else []
        )
    if (
        require_numbers
        and choropleth is not None
        and len(members)
        and not has_numbers(members[choropleth])
    ):
        raise InvalidParameter(
            f"choropleth: no municipality of zone {code} has a {choropleth} figure to colour "
            f"by; draw the map without --choropleth, or import municipalities that carry it"
        )
    rivers = map_layers.rivers_in_bbox(conn, tuple(members.total_bounds)) if len(members) else None
    m = metro_zone_map(
        zone,
        members,
        rivers=rivers,
        choropleth=choropleth,
        choropleth_title=CHOROPLETHS.get(choropleth or ""),
        tiles=tiles,
        made_on=made_on,
        tile_source=tile_source,
    )
    if not len(members):
        return m
    codes = sorted({str(c)[:2] for c in members["cvegeo"]})
    return add_locator(m, *map_layers.state_outline(conn, codes), _bounds(members.total_bounds))


def _bounds(values: Any) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in values)
    return minx, miny, maxx, maxy


def river(
    conn: Connection,
    river_id: int,
    *,
    with_inspections: bool,
    date_from: date | None = None,
    date_to: date | None = None,
    near_m: float = DEFAULT_NEAR_M,
    stretch: tuple[float, float, float, float] | None = None,
    tiles: bool = True,
    made_on: date | None = None,
) -> folium.Map:
    """The map of a river with the inspection points within ``near_m`` metres of it.

    Args:
        with_inspections: whether the caller may see inspections (planner role or above).
        stretch: a lon/lat box: only the part of the river inside it (and the
            inspections near that part) is drawn; ``None`` draws the whole river.

    Raises:
        NotFound: no river with that id (404).
        InvalidParameter: ``date_from`` after ``date_to`` (400).
    """
    if date_from and date_to and date_from > date_to:
        raise InvalidParameter(f"date_from ({date_from}) is after date_to ({date_to})")
    found = map_layers.river(conn, river_id)
    if found is None:
        raise NotFound(f"there is no river {river_id}; GET /collections/rivers/items lists them")
    info, lines = found
    if stretch is not None:
        lines = lines.clip(shapely.box(*stretch))
    points = None
    if with_inspections and len(lines):
        line = lines.geometry.union_all()
        pad = near_m / 100_000  # degrees; generous, the exact distance is checked below
        minx, miny, maxx, maxy = line.bounds
        start = datetime.combine(date_from, time.min, UTC) if date_from else None
        end = datetime.combine(date_to, time.max, UTC) if date_to else None
        candidates = map_layers.inspections_in_bbox(
            conn, (minx - pad, miny - pad, maxx + pad, maxy + pad), start, end
        )
        keep = within_distance(candidates.geometry.values, line, near_m)
        points = candidates[np.asarray(keep, dtype=bool)]
    m = river_map(
        info,
        lines,
        points,
        date_from=date_from,
        date_to=date_to,
        tiles=tiles,
        made_on=made_on,
    )
    if not len(lines) or lines.geometry.is_empty.all():
        return m
    area = _bounds(lines.total_bounds)
    codes = map_layers.state_codes_in_bbox(conn, area)
    return add_locator(m, *map_layers.state_outline(conn, codes), area)


#: a zone's status as the commission says it
def dispute(
    conn: Connection,
    zone_id: int,
    *,
    tiles: bool = True,
    made_on: date | None = None,
    tile_source: TileSource | None = None,
) -> folium.Map:
    """The commission's map of a disputed zone: the official line, each party's claim in
    force, the zone hatched, the localities and inspection points in it, a measure tool.

    Raises:
        NotFound: no zone with that id (404).
    """
    found = map_layers.dispute(conn, zone_id)
    if found is None:
        raise NotFound(f"there is no disputed zone {zone_id}; GET /disputes lists them")
    info = found.zone
    return dispute_map(
        {
            "name": info["name"] or f"Zona en disputa {zone_id}",
            "status": STATUS_ES.get(info["status"], info["status"]),
            "area_ha": info["area_ha"],
        },
        found.area,
        found.official,
        found.claims,
        localities=found.localities,
        inspections=found.inspections,
        tiles=tiles,
        made_on=made_on,
        tile_source=tile_source,
    )
