"""``GET /maps/...``: a metro zone's or a river's map as HTML, PNG or PDF; Leaflet assets.

Metro zones and rivers are public; a river's inspection points are shown to callers
with the planner role or above (anonymous callers get the river without them).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

import folium
from fastapi import APIRouter, Query, Request, Response

from api.deps import ConnectionDep, MaybeCaller, ZoneReader
from api.fields import RowId
from api.ogc.params import parse_bbox
from api.routes.disputes import reach_zone
from geo.roles import Role
from layers.users import Principal
from maps import requests as map_requests
from maps.export import MEDIA_TYPES, render, to_html

router = APIRouter(tags=["maps"])
STATIC_URL = "/maps/static"


class MapFormat(StrEnum):
    html = "html"
    png = "png"
    pdf = "pdf"


class Assets(StrEnum):
    inline = "inline"
    server = "server"


FormatQuery = Annotated[
    MapFormat, Query(alias="format", description="html (self-contained), png or pdf (A4 page).")
]
AssetsQuery = Annotated[
    Assets,
    Query(
        description="HTML only: 'inline' puts Leaflet inside the file (works offline); "
        "'server' links it from this service's /maps/static (smaller, for previews)."
    ),
]
TilesQuery = Annotated[bool, Query(description="Add the online OpenStreetMap basemap.")]
DownloadQuery = Annotated[bool, Query(description="Send as an attachment (a file download).")]


def _may_see_inspections(caller: Principal | None) -> bool:
    return caller is not None and caller.role.can_act_as(Role.planner)


def _respond(m: folium.Map, fmt: MapFormat, assets: Assets, download: bool, stem: str) -> Response:
    if fmt is MapFormat.html:
        body = to_html(m, STATIC_URL if assets is Assets.server else None).encode("utf-8")
    else:
        body = render(to_html(m), "png" if fmt is MapFormat.png else "pdf")
    headers = {"Cache-Control": "no-store"}
    if download or fmt is not MapFormat.html:
        disposition = "attachment" if download else "inline"
        headers["Content-Disposition"] = f'{disposition}; filename="{stem}.{fmt.value}"'
    return Response(body, media_type=MEDIA_TYPES[fmt.value], headers=headers)


OPTIONAL_TOKEN = {"x-linde-auth": "optional"}  # see api.openapi


@router.get(
    "/maps/metro-zones/{code}",
    summary="Map of a metro zone (HTML, PNG or PDF)",
    openapi_extra=OPTIONAL_TOKEN,
)
def metro_zone_map(
    conn: ConnectionDep,
    caller: MaybeCaller,
    code: str,
    fmt: FormatQuery = MapFormat.html,
    assets: AssetsQuery = Assets.inline,
    choropleth: Annotated[
        str | None,
        Query(description="Colour municipalities by: population, or inspections (planner)."),
    ] = None,
    tiles: TilesQuery = True,
    download: DownloadQuery = False,
) -> Response:
    """404 for an unknown zone; a zone whose municipalities are not imported gives a map
    that says so. PNG and PDF need headless Chromium on the server (503 saying why
    when it is missing)."""
    m = map_requests.metro_zone(
        conn,
        code,
        choropleth=choropleth,
        may_see_inspections=_may_see_inspections(caller),
        tiles=tiles,
    )
    return _respond(m, fmt, assets, download, f"zona-metropolitana-{code}")


@router.get(
    "/maps/rivers/{river_id}",
    summary="Map of a river and its inspections",
    openapi_extra=OPTIONAL_TOKEN,
)
def river_map(
    request: Request,
    conn: ConnectionDep,
    caller: MaybeCaller,
    river_id: RowId,
    fmt: FormatQuery = MapFormat.html,
    assets: AssetsQuery = Assets.inline,
    date_from: Annotated[
        date | None, Query(description="Inspections observed from (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        date | None, Query(description="Inspections observed until (YYYY-MM-DD).")
    ] = None,
    near_m: Annotated[
        float,
        Query(gt=0, le=20_000, description="Inspections within this distance (m) of the river."),
    ] = map_requests.DEFAULT_NEAR_M,
    bbox: Annotated[
        str | None,
        Query(description="The stretch: minx,miny,maxx,maxy (lon/lat; bbox-crs for another)."),
    ] = None,
    tiles: TilesQuery = True,
    download: DownloadQuery = False,
) -> Response:
    """Inspection points (clustered by category, filterable by date) appear for callers
    with the planner role or above; 404 for an unknown river."""
    with_inspections = _may_see_inspections(caller)
    box = parse_bbox(request.query_params)
    m = map_requests.river(
        conn,
        river_id,
        with_inspections=with_inspections,
        date_from=date_from,
        date_to=date_to,
        near_m=near_m,
        stretch=box[0] if box else None,
        tiles=tiles,
    )
    return _respond(m, fmt, assets, download, f"rio-{river_id}")


@router.get(
    "/maps/disputes/{zone_id}",
    summary="The commission's map of a disputed zone (planner role or above)",
)
def dispute_map(
    conn: ConnectionDep,
    caller: ZoneReader,
    zone_id: RowId,
    fmt: FormatQuery = MapFormat.html,
    assets: AssetsQuery = Assets.inline,
    tiles: TilesQuery = True,
    download: DownloadQuery = False,
) -> Response:
    """The official line, each party's claim in its own colour, the zone hatched, the
    localities and inspection points in it, and a measure tool; 404 for an unknown zone."""
    reach_zone(conn, caller, zone_id)
    m = map_requests.dispute(conn, zone_id, tiles=tiles)
    return _respond(m, fmt, assets, download, f"disputa-{zone_id}")
