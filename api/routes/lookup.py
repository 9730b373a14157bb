"""``GET /lookup``: the municipality, metro zones, claims, nearest river and dispute at a point."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from api.deps import HeldConnection, Planner, read_target
from geo.errors import InvalidInput
from geo.validation import check_point
from layers.queries.lookup import lookup_point, lookup_point_async

router = APIRouter(tags=["lookup"])


class Point(BaseModel):
    lon: float
    lat: float


class State(BaseModel):
    code: str
    name: str


class Municipality(BaseModel):
    cvegeo: str
    name: str
    state: State
    boundary_version: int


class MetroZone(BaseModel):
    code: str
    name: str
    delimitation_year: int
    kind: str


class ClaimInForce(BaseModel):
    id: int
    cvegeo: str
    municipality: str
    version: int
    source: str
    source_reference: str | None
    valid_from: datetime


class NearestRiver(BaseModel):
    id: int
    name: str
    distance_m: float
    chainage_m: float
    bank_side: str | None
    in_federal_zone: bool


class DisputedZoneAt(BaseModel):
    zone_id: int
    text: str


class LookupAnswer(BaseModel):
    point: Point
    municipality: Municipality | None
    on_boundary_of: list[str]
    metro_zones: list[MetroZone]
    claims: list[ClaimInForce]
    river: NearestRiver | None
    disputed_zone: DisputedZoneAt | None


@router.get(
    "/lookup",
    summary="What Linde knows about a point (lon/lat, EPSG:4326)",
    response_model=LookupAnswer,
)
async def lookup(
    request: Request,
    _caller: Planner,
    lon: Annotated[float, Query(description="Longitude, e.g. -96.7266.")],
    lat: Annotated[float, Query(description="Latitude, e.g. 17.0654.")],
) -> Response:
    """Runs on the event loop: its one indexed statement takes well under a millisecond,
    less than a hop to a worker thread would cost. On PostgreSQL it is read through the
    app's ``AsyncReader``, so the loop serves other requests while PostgreSQL answers;
    on SQLite on a connection held only around it (``HeldConnection``). The answer is
    serialised by orjson straight from the query's rows (``LookupAnswer`` documents
    its shape).

    Answers 200 with ``municipality: null`` and empty lists for a point outside every
    municipality; 422 naming ``lon`` or ``lat`` for a malformed or out-of-range value."""
    problems = check_point(lon, lat)
    if problems:
        raise InvalidInput("; ".join(str(p) for p in problems), problems=problems)
    target = read_target(request)
    if target.reader is not None:
        answer = await lookup_point_async(target.reader, target.engine, lon, lat)
    else:
        async with HeldConnection(request) as conn:
            answer = lookup_point(conn, lon, lat)
    return Response(orjson.dumps(answer), media_type="application/json")
