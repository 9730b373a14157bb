"""``GET /lookup``: the municipality, metro zones and claims at a point."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConnectionDep, Planner
from geo.errors import InvalidInput
from geo.validation import check_point
from layers.queries.lookup import lookup_point

router = APIRouter(tags=["lookup"])


@router.get("/lookup", summary="What Linde knows about a point (lon/lat, EPSG:4326)")
async def lookup(
    conn: ConnectionDep,
    _caller: Planner,
    lon: Annotated[float, Query(description="Longitude, e.g. -96.7266.")],
    lat: Annotated[float, Query(description="Latitude, e.g. 17.0654.")],
) -> dict[str, Any]:
    """Runs on the event loop: its three indexed queries take well under a millisecond,
    less than a hop to a worker thread would cost.

    Answers 200 with ``municipality: null`` and empty lists for a point outside every
    municipality; 422 naming ``lon`` or ``lat`` for a malformed or out-of-range value."""
    problems = check_point(lon, lat)
    if problems:
        raise InvalidInput("; ".join(str(p) for p in problems), problems=problems)
    return lookup_point(conn, lon, lat)
