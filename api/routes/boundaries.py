"""Public layers, readable without a token: official municipalities, metro zones, rivers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import ConnectionDep
from api.responses import GeoJSONResponse
from layers.queries import features

router = APIRouter(tags=["official layers (public)"], default_response_class=GeoJSONResponse)

Limit = Annotated[int, Query(ge=1, le=1000, description="Features per page.")]
Offset = Annotated[int, Query(ge=0, description="Features to skip.")]


@router.get("/municipalities", summary="Official municipal boundaries")
def municipalities(
    conn: ConnectionDep,
    state: Annotated[
        str | None, Query(pattern=r"^\d{2}$", description="State key, e.g. 20.")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    return features.list_municipalities(conn, state=state, limit=limit, offset=offset)


@router.get("/municipalities/{cvegeo}", summary="One municipality's official boundary")
def municipality(
    conn: ConnectionDep,
    cvegeo: Annotated[str, Path(pattern=r"^\d{5}$", description="INEGI key, e.g. 20157.")],
) -> Any:
    return features.get_municipality(conn, cvegeo)


@router.get("/metro-zones", summary="Metropolitan zones (2015 and 2020 delimitations)")
def metro_zones(
    conn: ConnectionDep,
    year: Annotated[int | None, Query(description="Delimitation year: 2015 or 2020.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    return features.list_metro_zones(conn, year=year, limit=limit, offset=offset)


@router.get("/metro-zones/{code}", summary="One metropolitan zone with its members")
def metro_zone(conn: ConnectionDep, code: Annotated[str, Path(max_length=16)]) -> Any:
    return features.get_metro_zone(conn, code)


@router.get("/rivers", summary="River lines")
def rivers(
    conn: ConnectionDep,
    name: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    return features.list_rivers(conn, name=name, limit=limit, offset=offset)


@router.get("/rivers/{river_id}", summary="One river line")
def river(conn: ConnectionDep, river_id: int) -> Any:
    return features.get_river(conn, river_id)
