"""Field inspections: capture (exactly once), batch import, photos, categories, review.

Listing, filtering and paging go through the ``inspections`` OGC API collection
(``/collections/inspections/items?category=…&municipality_cvegeo=…&filter=chainage_m
BETWEEN 1000 AND 5000``).
"""

from __future__ import annotations

import mimetypes
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Connection

from api.concurrency import ExpectedInspectionVersion, inspection_etag
from api.deps import (
    Access,
    Admin,
    ConnectionDep,
    EngineDep,
    InspectionFollowUp,
    InspectionReader,
    InspectionReviewer,
    Inspector,
    Planner,
)
from api.fields import Moment, json_document
from api.settings import AppSettings
from api.wire import answers
from api.wire import inspections as wire
from geo.errors import InvalidInput, NotFound, Problem
from geo.inspections import Submission, id_from_key, normalize_id, offset_minutes
from geo.validation import PUNTUAL, parse_geojson_geometry
from layers.access import inspection_reached
from layers.engine import on_read_connection
from layers.inspections import photos as photo_store
from layers.inspections import status_moves, store


def reach_inspection(conn: Connection, access: Access, inspection_id: str) -> None:
    """Refuse an inspection the caller does not reach as if it did not exist (404).

    Raises:
        NotFound: outside the caller's scope (``geo.access.SPEC``).
    """
    if not inspection_reached(conn, inspection_id, access.rows):
        raise NotFound(f"no inspection {inspection_id}")


router = APIRouter(tags=["inspections"])


class StatusChange(BaseModel):
    status: str
    note: str | None = Field(default=None, max_length=10000)
    referred_to: str | None = Field(default=None, pattern=r"^\d{5}$")


class CategoryCreate(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    label: str = Field(min_length=1, max_length=200)


def _settings(request: Request) -> AppSettings:
    settings: AppSettings = request.app.state.settings
    return settings


def _submission(
    body: wire.InspectionCreate, caller: str, idempotency_key: str | None
) -> Submission:
    geom = parse_geojson_geometry(body.geometry, allowed_types=PUNTUAL)
    if body.id is not None:
        inspection_id = normalize_id(body.id)
        if inspection_id is None:
            raise InvalidInput("id must be a UUID", problems=[Problem("id", "not a UUID")])
    elif idempotency_key:
        inspection_id = id_from_key(f"user:{caller}", idempotency_key)
    else:
        raise InvalidInput(
            "give the inspection's UUID as id, or an Idempotency-Key header, so that a "
            "retry never creates a second inspection",
            problems=[Problem("id", "missing (or send Idempotency-Key)")],
        )
    p = body.properties
    return Submission(
        id=inspection_id,
        lon=geom.x,  # type: ignore[attr-defined]
        lat=geom.y,  # type: ignore[attr-defined]
        observed_at=p.observed_at,
        observed_offset_min=offset_minutes(p.observed_at),
        category=p.category,
        severity=p.severity,
        description=p.description,
        gps_accuracy_m=p.gps_accuracy_m,
        inspector=p.inspector or caller,
    )


def _parse_body(raw: Any) -> wire.InspectionCreate:
    try:
        return wire.InspectionCreate.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(".".join(str(x) for x in e["loc"]) or "body", e["msg"]) for e in exc.errors()
        ]
        raise InvalidInput("; ".join(map(str, problems)), problems=problems) from None


@router.post(
    "/inspections",
    summary="Record an inspection exactly once (JSON Feature, or multipart with photos)",
    responses={
        201: {
            "model": wire.Inspection,
            "description": "Recorded: the stored, annotated inspection",
        },
        200: {"model": wire.Inspection, "description": "Already recorded (a retry)"},
        409: {"description": "Id taken"},
    },
    openapi_extra={"requestBody": wire.INSPECTION_BODY},
)
async def create_inspection(
    request: Request,
    engine: EngineDep,
    caller: Inspector,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Send ``application/json`` (a GeoJSON Feature) or ``multipart/form-data`` with the
    Feature in the ``inspection`` part and images in ``photos`` parts.

    201 with the stored, annotated inspection when new; 200 with the same record when
    it was stored already with the same content (a retry); 409 when the id holds
    different content; 422 naming the field for bad input, and nothing is written."""
    settings = _settings(request)
    photos: list[photo_store.Photo] = []
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=settings.photos_per_inspection, max_fields=10)
        text = form.get("inspection")
        if not isinstance(text, str):
            raise InvalidInput(
                "multipart requests carry the GeoJSON Feature in an 'inspection' field",
                problems=[Problem("inspection", "missing")],
            )
        raw = json_document(text, "inspection")
        for n, upload in enumerate(form.getlist("photos")):
            if isinstance(upload, str):
                raise InvalidInput(
                    "photos must be files", problems=[Problem(f"photos[{n}]", "not a file")]
                )
            data = await upload.read(settings.photo_max_bytes + 1)
            photos.append(
                photo_store.check_photo(
                    data,
                    file_name=upload.filename,
                    field=f"photos[{n}]",
                    max_bytes=settings.photo_max_bytes,
                )
            )
    else:
        raw = json_document(await request.body(), "body")
    body = _parse_body(raw)
    sub = _submission(body, caller.name, idempotency_key)
    sub = Submission(**{**sub.__dict__, "photo_sha256": tuple(p.sha256 for p in photos)})
    record, created = await run_in_threadpool(
        store.create,
        engine,
        sub,
        recorded_by=caller.name,
        photos=photos,
        photos_dir=settings.resolved_photos_dir(),
    )
    return JSONResponse(
        jsonable_encoder(record),
        status_code=201 if created else 200,
        headers={"Location": f"/inspections/{record['id']}"},
    )


@router.post(
    "/inspections/import",
    summary="Import a file of inspections",
    responses=answers(wire.ImportReport),
)
def import_file(
    engine: EngineDep,
    caller: Inspector,
    file: Annotated[UploadFile, File(description="GeoJSON, CSV (lon/lat), ODK or Kobo CSV")],
    mode: Annotated[Literal["all", "partial"], Form()] = "all",
    id_field: Annotated[str | None, Form()] = None,
    description_field: Annotated[str | None, Form()] = None,
    category: Annotated[str | None, Form(description="For rows without one.")] = None,
    severity: Annotated[int | None, Form(description="For rows without one.")] = None,
    observed_at: Annotated[Moment | None, Form(description="For rows without one.")] = None,
) -> Mapping[str, Any]:
    """``mode=all``: one bad row refuses the file (422, every refused row listed) and
    nothing is written. ``mode=partial``: good rows are stored, the report lists the
    refused ones. Re-importing a file creates nothing new."""
    # the client's file name only lends its letters: it can never leave the temporary folder
    from layers.importers.inspections import import_inspections  # pyogrio: on first use

    given = Path((file.filename or "upload").replace("\\", "/")).name
    stem = re.sub(r"[^\w.-]", "_", Path(given).stem).strip("._")[:80] or "upload"
    suffix = re.sub(r"[^\w.]", "", Path(given).suffix.lower())[:10] or ".csv"
    with tempfile.TemporaryDirectory(prefix="linde_import_") as tmp:
        path = Path(tmp) / f"{stem}{suffix}"
        with path.open("wb") as fh:
            while block := file.file.read(1 << 20):
                fh.write(block)
        summary = import_inspections(
            engine,
            path,
            actor=caller.name,
            mode=mode,
            id_field=id_field,
            description_field=description_field,
            defaults={"category": category, "severity": severity, "observed_at": observed_at},
        )
    return summary.report()


@router.get(
    "/inspections/categories",
    summary="The categories an inspection may have",
    responses=answers(list[wire.Category]),
)
def list_categories(conn: ConnectionDep, _caller: Planner) -> list[dict[str, str]]:
    return [{"code": c, "label": label} for c, label in store.categories(conn).items()]


@router.post(
    "/inspections/categories",
    status_code=201,
    summary="Add a category (admin)",
    responses=answers(wire.Category, 201),
)
def add_category(engine: EngineDep, caller: Admin, body: CategoryCreate) -> dict[str, str]:
    return store.add_category(engine, body.code, body.label, actor=caller.name)


@router.get(
    "/inspections/{inspection_id}",
    summary="One inspection, annotated, with history",
    responses=answers(wire.Inspection),
)
def get_inspection(
    conn: ConnectionDep, caller: InspectionReader, inspection_id: str, response: Response
) -> Mapping[str, Any]:
    """``ETag`` names the version: send it back as ``If-Match`` with a review or follow-up."""
    reach_inspection(conn, caller, inspection_id)
    record = store.get(conn, inspection_id)
    response.headers["ETag"] = inspection_etag(inspection_id, record["properties"]["version"])
    return record


@router.get("/inspections/{inspection_id}/photos/{sha256}", summary="A photo of an inspection")
def get_photo(
    request: Request,
    conn: ConnectionDep,
    caller: InspectionReader,
    inspection_id: str,
    sha256: str,
) -> FileResponse:
    """Named ``foto-<first 12 hex of its SHA-256>.<ext>``: the name the uploader gave is
    kept in the record but never echoed in a header."""
    reach_inspection(conn, caller, inspection_id)
    media_type, _given_name = store.photo_of(conn, inspection_id, sha256)
    path = photo_store.stored(_settings(request).resolved_photos_dir(), sha256)
    extension = mimetypes.guess_extension(media_type) or ".bin"
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{sha256}"'},
        filename=f"foto-{sha256[:12]}{extension}",
        content_disposition_type="inline",
    )


@router.post(
    "/inspections/{inspection_id}/review",
    summary="Approve or reject (supervisors)",
    responses=answers(wire.Inspection),
)
def review(
    engine: EngineDep,
    caller: InspectionReviewer,
    inspection_id: str,
    body: StatusChange,
    response: Response,
    if_match: ExpectedInspectionVersion,
) -> Mapping[str, Any]:
    record = status_moves.change_status(
        engine,
        inspection_id,
        kind="review",
        to_status=body.status,
        actor=caller.name,
        note=body.note,
        expected_version=if_match.expected(),
    )
    response.headers["ETag"] = inspection_etag(inspection_id, record["properties"]["version"])
    return record


@router.post(
    "/inspections/{inspection_id}/follow-up",
    summary="Refer or mark attended",
    responses=answers(wire.Inspection),
)
def follow_up(
    engine: EngineDep,
    caller: InspectionFollowUp,
    inspection_id: str,
    body: StatusChange,
    response: Response,
    if_match: ExpectedInspectionVersion,
) -> Mapping[str, Any]:
    """A municipality's representative follows up the inspections of its municipality."""
    on_read_connection(engine, lambda conn: reach_inspection(conn, caller, inspection_id))
    record = status_moves.change_status(
        engine,
        inspection_id,
        kind="follow_up",
        to_status=body.status,
        actor=caller.name,
        note=body.note,
        referred_to=body.referred_to,
        expected_version=if_match.expected(),
    )
    response.headers["ETag"] = inspection_etag(inspection_id, record["properties"]["version"])
    return record
