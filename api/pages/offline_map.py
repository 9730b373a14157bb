"""The offline map of the inspectors' app: what a pack holds, and its tiles.

* ``GET /inspecciones/mapa/areas``: what a pack can be made for: the caller's own
  municipality (a user who acts for one), each metro zone and each municipality in one.
* ``GET /inspecciones/mapa/plan``: the pack of one area (``municipio=``, ``zona=`` or
  ``bbox=`` for the map's current view; without any, the caller's municipality): its
  tiles, zooms and estimated size, to show before anything is downloaded.
* ``GET /inspecciones/mapa/teselas/{z}/{x}/{y}``: one tile of the pack, every layer in
  it (``layers.offline_pack``). The app keeps these in Cache Storage; its service
  worker serves them from there, so the map is drawn with no signal.

Disputed zones in a pack are those the caller may read (a party-scoped user sees only
the zones its municipality is party to), so tiles are never shared between callers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.deps import ConnectionDep, ZoneReader
from geo.errors import InvalidParameter, NotFound, Problem
from geo.tile_pack import BBox, plan_pack
from geo.tiles import MVT, check_tile, tile_matrix_set
from layers import offline_pack
from layers.offline_pack import Area

router = APIRouter(tags=["pages"])

TILE_URL = "/inspecciones/mapa/teselas/{z}/{x}/{y}"
_PRIVATE = {"Cache-Control": "private, no-cache"}


def _area_json(area: Area) -> dict[str, Any]:
    return {"kind": area.kind, "key": area.key, "name": area.name, "bbox": list(area.bbox)}


def _bbox(text: str) -> BBox:
    parts = text.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4:
        reason = "write four numbers separated by commas: west,south,east,north (lon/lat)"
        raise InvalidParameter(f"bbox: {reason}", problems=[Problem("bbox", reason)])
    return (numbers[0], numbers[1], numbers[2], numbers[3])


@router.get("/inspecciones/mapa/areas", summary="Areas an offline map pack can be made for")
def pack_areas(conn: ConnectionDep, access: ZoneReader) -> dict[str, Any]:
    mine = None
    if access.caller.cvegeo:
        try:
            mine = _area_json(offline_pack.municipality_area(conn, access.caller.cvegeo))
        except NotFound:  # the municipality it acts for is not loaded: the others remain
            mine = None
    return {"mine": mine, **offline_pack.areas(conn)}


@router.get("/inspecciones/mapa/plan", summary="The offline map pack of an area, before download")
def pack_plan(
    conn: ConnectionDep,
    access: ZoneReader,
    municipio: Annotated[str | None, Query(description="Municipality key (cvegeo)")] = None,
    zona: Annotated[str | None, Query(description="Metro zone code")] = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north (lon/lat)")] = None,
) -> dict[str, Any]:
    given = [name for name, v in (("municipio", municipio), ("zona", zona), ("bbox", bbox)) if v]
    if len(given) > 1:
        reason = f"give one of municipio, zona or bbox, not {' and '.join(given)}"
        raise InvalidParameter(reason, problems=[Problem(given[1], reason)])
    municipio = municipio or (None if given else access.caller.cvegeo)
    if municipio:
        area = offline_pack.municipality_area(conn, municipio)
    elif zona:
        area = offline_pack.metro_zone_area(conn, zona)
    elif bbox:
        area = Area("view", "", "Vista del mapa", _bbox(bbox))
    else:
        reason = "your account acts for no municipality: choose municipio, zona or bbox"
        raise InvalidParameter(reason, problems=[Problem("municipio", reason)])
    parameter = {"view": "bbox", "metro_zone": "zona"}.get(area.kind, "municipio")
    plan = plan_pack(area.bbox, parameter=parameter)
    layers = offline_pack.pack_layers(access.rows)
    return {
        "area": _area_json(area),
        "zoom_min": plan.zoom_min,
        "zoom_max": plan.zoom_max,
        "bbox": list(plan.bbox),
        "tile_count": plan.count,
        "estimated_bytes": offline_pack.estimate_bytes(conn, layers, plan),
        "layers": [c.id for c in layers],
        "tile_url": TILE_URL,
        "tiles": [list(t) for t in plan.tiles()],
    }


@router.get(
    TILE_URL,
    summary="One tile of an offline map pack (MVT, every layer of the pack)",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "The tile; empty when no feature"}},
)
def pack_tile(
    conn: ConnectionDep,
    access: ZoneReader,
    z: Annotated[int, Path(description="zoom")],
    x: Annotated[int, Path(description="column, from the west")],
    y: Annotated[int, Path(description="row, from the top")],
) -> Response:
    check_tile(tile_matrix_set("WebMercatorQuad"), z, x, y)
    body = offline_pack.render_pack_tile(conn, offline_pack.pack_layers(access.rows), z, x, y)
    return Response(body, media_type=MVT, headers=_PRIVATE)
