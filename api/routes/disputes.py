"""Disputed zones, their case files and decisions; detection runs.

Planners read; the commission writes. Which zones a caller reaches is
``geo.access.SPEC``: a municipality's representative reads and adds evidence to the
case files of the zones its municipality is party to, and no other zone exists for it
(404); only the state commission decides. Every edit of a zone needs ``If-Match`` with
the ``ETag`` last read (428 without it, 412 when someone changed the zone since);
appending to the case file accepts it optionally (412 when given and stale).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Connection

from api.concurrency import ExpectedZoneVersion, OptionalZoneVersion, zone_body, zone_etag
from api.deps import (
    Access,
    ConnectionDep,
    EngineDep,
    ZoneDecider,
    ZoneEvidence,
    ZoneReader,
)
from api.fields import Moment, Offset, RowId
from api.wire import answers
from api.wire import disputes as wire
from geo.access import PARTY_EVENT_KINDS
from geo.disputes import ZoneKind, ZoneStatus
from geo.errors import Forbidden, NotFound
from geo.roles import Role
from geo.validation import POLYGONAL, parse_geojson_geometry
from layers.access import zone_reached
from layers.disputes import decisions, desk, detection, zone_edits, zones
from layers.disputes.rows import Zone
from layers.engine import on_read_connection
from services.detection import run_detection

router = APIRouter(tags=["disputes"])


def reach_zone(conn: Connection, access: Access, zone_id: int) -> None:
    """Refuse a zone the caller does not reach as if it did not exist (404, no leak).

    Raises:
        NotFound: the zone is outside the caller's scope (``geo.access.SPEC``).
    """
    if not zone_reached(conn, zone_id, access.rows):
        raise NotFound(f"no disputed zone {zone_id}")


Key = Annotated[str, Field(pattern=r"^\d{5}$")]


def _with_etag(response: Response, zone: Zone) -> dict[str, Any]:
    """The zone's body, its ``ETag`` also in the header."""
    body = zone_body(zone)
    response.headers["ETag"] = body["etag"]
    return body


class DetectionCreate(BaseModel):
    zone: str | None = Field(default=None, description="Metro zone code, e.g. 20.1.01.")
    state: str | None = Field(default=None, pattern=r"^\d{2}$")
    cvegeos: list[Key] | None = Field(default=None, max_length=5000)
    as_of: Moment | None = Field(default=None, description="Default: now.")
    min_area_m2: float = Field(default=100.0, ge=0, description="Slivers below this are ignored.")


@router.post(
    "/detection-runs",
    status_code=201,
    summary="Detect overlaps and gaps in a scope",
    responses=answers(wire.DetectionResult, 201),
)
def create_run(engine: EngineDep, caller: ZoneDecider, body: DetectionCreate) -> Mapping[str, Any]:
    return run_detection(
        engine,
        actor=caller.name,
        zone=body.zone,
        state=body.state,
        cvegeos=body.cvegeos,
        as_of=body.as_of,
        min_area_m2=body.min_area_m2,
    )


def whole_state(caller: Access) -> None:
    """Detection runs count the zones of every municipality in their scope: only callers
    who read every zone may read them (a representative's zones are at /disputes).

    Raises:
        Forbidden: the caller reads only some zones (403).
    """
    if not caller.rows.everything:
        raise Forbidden(
            "detection runs cover the zones of every municipality in their scope; "
            f"{caller.name} reads only the zones of its municipality: list them at /disputes"
        )


@router.get(
    "/detection-runs",
    summary="Detection runs, newest first",
    responses=answers(wire.DetectionRuns),
)
def list_runs(
    conn: ConnectionDep,
    caller: ZoneReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    whole_state(caller)
    return {"runs": detection.list_runs(conn, limit=limit, offset=offset)}


@router.get(
    "/detection-runs/{run_id}", summary="One detection run", responses=answers(wire.DetectionRun)
)
def get_run(conn: ConnectionDep, caller: ZoneReader, run_id: RowId) -> Mapping[str, Any]:
    whole_state(caller)
    return detection.get_run(conn, run_id)


@router.get("/disputes", summary="Disputed zones, largest first", responses=answers(wire.ZoneList))
def list_zones(
    conn: ConnectionDep,
    caller: ZoneReader,
    status: ZoneStatus | None = None,
    kind: ZoneKind | None = None,
    cvegeo: Annotated[str | None, Query(pattern=r"^\d{5}$", description="A party.")] = None,
    open_only: Annotated[bool, Query(description="Leave out resolved and dismissed.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    rows = zones.list_zones(
        conn,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        cvegeo=cvegeo,
        open_only=open_only,
        limit=limit,
        offset=offset,
        rows=caller.rows,
    )
    return {"zones": [zone_body(z) for z in rows]}


@router.get(
    "/disputes-overview",
    summary="Zones for the commission's list: map, counts, people",
    responses=answers(wire.ZonesOverview),
)
def zones_overview(
    conn: ConnectionDep,
    caller: ZoneReader,
    metro_zone: Annotated[
        str | None, Query(max_length=16, description="Metro zone code, e.g. 20.1.01.")
    ] = None,
    cvegeo: Annotated[str | None, Query(pattern=r"^\d{5}$", description="A party.")] = None,
    status: ZoneStatus | None = None,
    kind: ZoneKind | None = None,
    sort: Annotated[
        Literal["area", "population"],
        Query(description="Largest area first, or most people estimated inside first."),
    ] = "area",
) -> Mapping[str, Any]:
    """Every zone the caller reaches under the filters, each with its simplified outline
    and ``population_estimate`` (localities' population by the share of their area
    inside: an estimate); ``counts`` per status under the same filters but the status."""
    found = desk.overview(
        conn,
        rows=caller.rows,
        metro_zone=metro_zone,
        cvegeo=cvegeo,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        sort=sort,
    )
    return {**found, "zones": [zone_body(z) for z in found["zones"]]}


class ZoneCreate(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    parties: list[Key] = Field(min_length=1, max_length=50)
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, lon/lat.")
    notes: str | None = Field(default=None, max_length=10000)


@router.post(
    "/disputes",
    status_code=201,
    summary="Register a named zone by hand",
    responses=answers(wire.Zone, 201),
)
def register_zone(
    engine: EngineDep, caller: ZoneDecider, body: ZoneCreate, response: Response
) -> Mapping[str, Any]:
    geom = parse_geojson_geometry(body.geometry, allowed_types=POLYGONAL)
    zone = zone_edits.register_zone(
        engine,
        name=body.name,
        geom=geom,
        parties=body.parties,
        actor=caller.name,
        notes=body.notes,
    )
    return _with_etag(response, zone)


@router.get(
    "/disputes/{zone_id}",
    summary="A zone: parties, measures, localities, inspections",
    responses=answers(wire.ZoneDetail),
)
def get_zone(
    conn: ConnectionDep, caller: ZoneReader, zone_id: RowId, response: Response
) -> Mapping[str, Any]:
    reach_zone(conn, caller, zone_id)
    return _with_etag(response, zones.get_zone(conn, zone_id))


class ZoneEdit(BaseModel):
    name: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=10000)


@router.patch(
    "/disputes/{zone_id}",
    summary="Rename a zone or change its notes (If-Match)",
    responses=answers(wire.Zone),
)
def edit_zone(
    engine: EngineDep,
    caller: ZoneDecider,
    zone_id: RowId,
    body: ZoneEdit,
    response: Response,
    version: ExpectedZoneVersion,
) -> Mapping[str, Any]:
    zone = zone_edits.edit_zone(
        engine,
        zone_id,
        actor=caller.name,
        expected_version=version.expected(),
        name=body.name,
        notes=body.notes,
    )
    return _with_etag(response, zone)


class StatusMove(BaseModel):
    status: ZoneStatus
    note: str | None = Field(default=None, max_length=10000)


@router.post(
    "/disputes/{zone_id}/status",
    summary="Move a zone to another status (If-Match)",
    responses=answers(wire.Zone),
)
def move_status(
    engine: EngineDep,
    caller: ZoneDecider,
    zone_id: RowId,
    body: StatusMove,
    response: Response,
    version: ExpectedZoneVersion,
) -> Mapping[str, Any]:
    zone = zone_edits.move_status(
        engine,
        zone_id,
        body.status.value,
        actor=caller.name,
        admin=caller.caller.role is Role.admin,
        expected_version=version.expected(),
        note=body.note,
    )
    return _with_etag(response, zone)


class EventCreate(BaseModel):
    kind: Literal["meeting", "evidence", "proposal", "agreement", "note"]
    occurred_at: Moment | None = Field(
        default=None, description="When it happened (a meeting's date); default now."
    )
    summary: str | None = Field(default=None, max_length=20000)
    details: dict[str, Any] | None = Field(
        default=None,
        description="meeting: place, attendees[]; evidence: document; anything else useful.",
    )
    geometry: dict[str, Any] | None = Field(
        default=None, description="A proposal's dividing line or proposed land (GeoJSON)."
    )

    @field_validator("details")
    @classmethod
    def _no_file_by_hand(cls, details: dict[str, Any] | None) -> dict[str, Any] | None:
        # details.file names a stored document, and the zone's evidence route serves
        # the file an evidence entry names: only that route (POST .../evidence, which
        # stores and checks the file) may write it, or a case file could name a
        # document of a zone its author cannot read
        if details is not None and "file" in details:
            raise ValueError(
                "'file' is written by Linde when a document is attached; upload the "
                "document with POST /disputes/{zone_id}/evidence, or leave 'file' out"
            )
        return details


@router.get(
    "/disputes/{zone_id}/events",
    summary="The zone's case file, oldest first",
    responses=answers(wire.CaseEvents),
)
def list_events(conn: ConnectionDep, caller: ZoneReader, zone_id: RowId) -> dict[str, Any]:
    reach_zone(conn, caller, zone_id)
    return {"events": zones.list_events(conn, zone_id)}


@router.post(
    "/disputes/{zone_id}/events",
    status_code=201,
    summary="Append to the case file",
    responses=answers(wire.CaseEvent, 201),
)
def add_event(
    engine: EngineDep,
    caller: ZoneEvidence,
    zone_id: RowId,
    body: EventCreate,
    response: Response,
    expected: OptionalZoneVersion,
) -> Mapping[str, Any]:
    """The new event; ``ETag`` is the zone's new version (appending bumps it). A
    municipality's representative adds evidence, proposals and notes to the zones its
    municipality is party to; meetings and agreements are the commission's."""
    on_read_connection(engine, lambda conn: reach_zone(conn, caller, zone_id))
    if not caller.rows.everything and body.kind not in PARTY_EVENT_KINDS:
        raise Forbidden(
            f"a municipality's representative adds {', '.join(sorted(PARTY_EVENT_KINDS))}; "
            f"a {body.kind} is recorded by the state commission"
        )
    geom = (
        parse_geojson_geometry(
            body.geometry,
            allowed_types=("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
        )
        if body.geometry is not None
        else None
    )
    event = zone_edits.add_event(
        engine,
        zone_id,
        kind=body.kind,
        actor=caller.name,
        expected_version=expected.expected(),
        occurred_at=body.occurred_at,
        summary=body.summary,
        details=body.details,
        geom=geom,
    )
    response.headers["ETag"] = zone_etag(zone_id, event["zone_version"])
    return event


@router.get(
    "/disputes/{zone_id}/geometries",
    summary="Every geometry the zone has had",
    responses=answers(wire.GeometryRevisions),
)
def geometry_history(conn: ConnectionDep, caller: ZoneReader, zone_id: RowId) -> dict[str, Any]:
    reach_zone(conn, caller, zone_id)
    return {"revisions": zones.geometry_history(conn, zone_id)}


class Part(BaseModel):
    cvegeo: Key
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, lon/lat.")


class DecisionCreate(BaseModel):
    parts: list[Part] | None = Field(default=None, max_length=50)
    split_along_official_line: bool = False
    valid_from: Moment | None = Field(default=None, description="Default: now.")
    source_reference: str | None = Field(default=None, max_length=2000)
    summary: str | None = Field(default=None, max_length=20000)


@router.post(
    "/disputes/{zone_id}/decision",
    summary="Divide the zone between its parties: new claims, zone resolved (If-Match)",
    responses=answers(wire.DecidedZone),
)
def apply_decision(
    engine: EngineDep,
    caller: ZoneDecider,
    zone_id: RowId,
    body: DecisionCreate,
    response: Response,
    version: ExpectedZoneVersion,
) -> Mapping[str, Any]:
    parts = None
    if body.parts is not None:
        parts = {}
        for i, part in enumerate(body.parts):
            parts[part.cvegeo] = parse_geojson_geometry(
                part.geometry, allowed_types=POLYGONAL, field=f"parts.{i}.geometry"
            )
    zone = decisions.apply_decision(
        engine,
        zone_id,
        actor=caller.name,
        expected_version=version.expected(),
        valid_from=body.valid_from or datetime.now(UTC),
        parts=parts,
        split_along_official_line=body.split_along_official_line,
        source_reference=body.source_reference,
        summary=body.summary,
        valid_from_given=body.valid_from is not None,
    )
    return _with_etag(response, zone)
