"""The supervisors' review of inspections (the page ``/inspecciones/revision`` calls these).

* ``GET /inspections-review``: the filtered inspections (GeoJSON), their total and the
  counts per review and follow-up status.
* ``GET /inspections-review/export?format=csv|gpkg|kml|zip``: the same set as a file;
  ``zip`` is the CSV plus a ``photos/`` folder.
* ``POST /inspections-review/actions``: approve, reject, refer or mark attended, one
  inspection or many, all or nothing, each with the version read.

Supervisors (commission without a municipality) and admins act; a municipality's
representative refers and attends within its municipality; planners read; inspectors
are refused (403, in Spanish). Everyone reads only their scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.deps import ConnectionDep, Credentials, EngineDep, Planner, admitted
from api.downloads import spooled_download
from api.wire import answers
from api.wire import inspections as wire
from geo.errors import Forbidden, InvalidInput, Problem
from geo.roles import Role
from layers.inspections.review import ReviewFilter
from layers.users import Principal
from services import review, review_export

router = APIRouter(tags=["inspections"])

#: a day as YYYY-MM-DD only (pydantic's date would also take ``0``, the epoch)
Day = Annotated[
    str | None,
    Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A day, YYYY-MM-DD (UTC)."),
]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: {value} no es un día del calendario (AAAA-MM-DD)",
            problems=[Problem(name, f"{value} no es un día del calendario (AAAA-MM-DD)")],
        ) from None


Cvegeo = Annotated[str | None, Query(pattern=r"^\d{5}$", description="INEGI key, 5 digits.")]


def review_filter(
    river_id: Annotated[int | None, Query(ge=1, description="The river (its id).")] = None,
    chainage_min_m: Annotated[float | None, Query(ge=0, description="From chainage (m).")] = None,
    chainage_max_m: Annotated[float | None, Query(ge=0, description="To chainage (m).")] = None,
    municipality: Cvegeo = None,
    disputed_zone_id: Annotated[int | None, Query(ge=1)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    severity_min: Annotated[int | None, Query(ge=1, le=5)] = None,
    observed_from: Day = None,
    observed_to: Day = None,
    review_status: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = None,
    follow_up_status: Annotated[Literal["open", "referred", "attended"] | None, Query()] = None,
    inspector: Annotated[str | None, Query(max_length=200)] = None,
) -> ReviewFilter:
    """The filters as query parameters (the page keeps the same ones in its URL).

    Raises:
        InvalidInput: a day that does not exist (``2024-02-30``), naming the parameter.
    """
    first, last = _day(observed_from, "observed_from"), _day(observed_to, "observed_to")
    return ReviewFilter(
        river_id=river_id,
        chainage_min_m=chainage_min_m,
        chainage_max_m=chainage_max_m,
        municipality_cvegeo=municipality,
        disputed_zone_id=disputed_zone_id,
        category=category or None,
        severity_min=severity_min,
        observed_from=datetime.combine(first, time(), UTC) if first else None,
        observed_to=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
        review_status=review_status,
        follow_up_status=follow_up_status,
        inspector=inspector or None,
    )


Filter = Annotated[ReviewFilter, Depends(review_filter)]


async def supervisor(
    request: Request,
    _b: Annotated[object, Credentials[0]],
    _a: Annotated[object, Credentials[1]],
    _c: Annotated[object, Credentials[2]],
) -> Principal:
    """The caller, when of the commission role or above (each item is checked again
    against the caller's row scope: ``services.review.act``).

    Raises:
        Unauthenticated: no valid credential (401).
        Forbidden: a planner or an inspector, in Spanish (403).
    """
    caller = await admitted(request, Role.planner)
    if not caller.role.can_act_as(Role.commission):
        raise Forbidden(
            "Aprobar, rechazar, turnar y marcar como atendidas las inspecciones lo hacen los "
            f"supervisores (comisión de límites) y la administración; {caller.name} puede "
            "consultarlas y exportarlas."
        )
    return caller


Supervisor = Annotated[Principal, Depends(supervisor)]


@router.get(
    "/inspections-review",
    summary="Inspections to review: filtered, with counts",
    responses=answers(wire.ReviewListing),
)
def list_for_review(conn: ConnectionDep, caller: Planner, f: Filter) -> dict[str, Any]:
    """Newest first, at most ``limit`` of them (``total`` says how many match); each
    with its ``version`` (send it back with an action) and its photos' SHA-256."""
    return review.listing(conn, f, caller)


@router.get(
    "/inspections-review/export",
    summary="The filtered inspections as CSV, GeoPackage, KML, or a ZIP with photos",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/geopackage+sqlite3": {},
                "application/vnd.google-earth.kml+xml": {},
                "application/zip": {},
            }
        }
    },
)
async def export_for_review(
    request: Request,
    engine: EngineDep,
    caller: Planner,
    f: Filter,
    format: Annotated[Literal["csv", "gpkg", "kml", "zip"], Query()] = "csv",
) -> Response:
    """CSV: Spanish column labels and values, for people. GeoPackage and KML: the stored
    field names and codes, for GIS. ZIP: ``inspecciones.csv`` (its *Fotos* column names
    each photo's path) and ``photos/``; refused (422) when the photos weigh more than
    ``review_zip_max_bytes``."""
    rows = review.reader_scope(caller)
    settings = request.app.state.settings
    if format == "zip":
        produce = lambda: _zip(  # noqa: E731
            engine, f, rows, settings.resolved_photos_dir(), settings.review_zip_max_bytes
        )
    else:
        produce = lambda: _file(engine, f, rows, format)  # noqa: E731
    name = review_export.file_name(format)
    return await spooled_download(
        request,
        produce,
        media_type=review_export.media_type(format),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# a transaction of its own (``engine.connect``): the rows are read with a server-side cursor
def _file(engine: Engine, f: ReviewFilter, rows: Any, fmt: str) -> Iterator[bytes]:
    with engine.connect() as conn:
        yield from review_export.export(conn, f, rows, fmt)


def _zip(engine: Engine, f: ReviewFilter, rows: Any, photos: Any, limit: int) -> Iterator[bytes]:
    with engine.connect() as conn:
        archive = review_export.photo_zip(conn, f, rows, photos_dir=photos, max_bytes=limit)
    with archive:
        while piece := archive.read(1 << 20):
            yield piece


class ActionItem(BaseModel):
    id: str = Field(max_length=36)
    version: int = Field(ge=1, description="The version read (GET /inspections-review).")


class ActionRequest(BaseModel):
    action: Literal["approve", "reject", "refer", "attend"]
    items: list[ActionItem] = Field(max_length=review.BULK_MAX)
    note: str | None = Field(default=None, max_length=10000, description="The reason.")
    referred_to: str | None = Field(default=None, pattern=r"^\d{5}$")


@router.post(
    "/inspections-review/actions",
    summary="Approve, reject, refer or mark attended: one inspection or many, all or nothing",
    responses={
        **answers(wire.ActionsDone),
        409: {"description": "Some item cannot make this move; nothing written"},
        412: {"description": "Some item changed since it was read; nothing written"},
    },
)
def act(engine: EngineDep, caller: Supervisor, body: ActionRequest) -> dict[str, Any]:
    """Each item names the ``version`` read. If any item is refused, nothing is written,
    and ``error.details`` lists each refused item (``items[n]``) with its reason."""
    done = review.act(
        engine,
        caller,
        body.action,
        [review.Item(i.id, i.version) for i in body.items],
        note=body.note,
        referred_to=body.referred_to,
    )
    return {"action": body.action, "done": done}
