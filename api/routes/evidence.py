"""Documents attached to a disputed zone's case file (PDFs and images).

Whoever may add evidence to a zone (the commission; a party's representative for the
zones its municipality is party to) uploads a file with a title; whoever may read the
zone downloads it. The file is checked by content and size (``layers.disputes.evidence``)
before anything is written; the case file gets one ``evidence`` event naming it.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import FileResponse

from api.concurrency import OptionalZoneVersion, zone_etag
from api.deps import ConnectionDep, EngineDep, ZoneEvidence, ZoneReader
from api.fields import RowId
from api.routes.disputes import reach_zone
from api.settings import AppSettings
from api.wire import answers
from api.wire import disputes as wire
from layers.disputes import evidence, zone_edits
from layers.engine import on_read_connection

router = APIRouter(tags=["disputes"])


def _settings(request: Request) -> AppSettings:
    settings: AppSettings = request.app.state.settings
    return settings


@router.post(
    "/disputes/{zone_id}/evidence",
    status_code=201,
    summary="Attach a document (PDF, JPEG, PNG, WebP) to the case file",
    responses=answers(wire.CaseEvent, 201),
)
async def attach_evidence(
    request: Request,
    engine: EngineDep,
    caller: ZoneEvidence,
    zone_id: RowId,
    response: Response,
    expected: OptionalZoneVersion,
    file: Annotated[UploadFile, File(description="The document: PDF or image.")],
    document: Annotated[str, Form(min_length=1, max_length=500, description="Its title.")],
    summary: Annotated[str | None, Form(max_length=20000)] = None,
) -> Mapping[str, Any]:
    """The new ``evidence`` event (``details.file``: SHA-256, type, size); ``ETag`` is the
    zone's new version. 422 naming ``file`` when it is empty, too large, or not a PDF or
    image by content; nothing is stored then."""
    on_read_connection(engine, lambda conn: reach_zone(conn, caller, zone_id))
    settings = _settings(request)
    data = await file.read(settings.evidence_max_bytes + 1)
    found = evidence.check_document(
        data, file_name=file.filename, max_bytes=settings.evidence_max_bytes
    )
    evidence.store(settings.resolved_evidence_dir(), found)
    event = zone_edits.add_event(
        engine,
        zone_id,
        kind="evidence",
        actor=caller.name,
        expected_version=expected.expected(),
        summary=summary,
        details={"document": document.strip(), "file": evidence.file_details(found)},
    )
    response.headers["ETag"] = zone_etag(zone_id, event["zone_version"])
    return event


@router.get("/disputes/{zone_id}/evidence/{sha256}", summary="Download a case-file document")
def get_evidence(
    request: Request, conn: ConnectionDep, caller: ZoneReader, zone_id: RowId, sha256: str
) -> FileResponse:
    """Named ``prueba-<first 12 hex of its SHA-256>.<ext>``: the uploader's file name is
    kept in the case file but never echoed in a header."""
    reach_zone(conn, caller, zone_id)
    found = evidence.file_of(conn, zone_id, sha256)
    path = evidence.stored(_settings(request).resolved_evidence_dir(), sha256)
    media_type = str(found["media_type"])
    extension = mimetypes.guess_extension(media_type) or ".bin"
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{sha256}"'},
        filename=f"prueba-{sha256[:12]}{extension}",
        content_disposition_type="attachment",
    )
