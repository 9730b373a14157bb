"""Proposals drawn on the map and decisions previewed before they are applied.

* ``POST /disputes/{id}/proposal-preview``: what each party would receive, gain and
  lose (against the official line) under a drawn proposal; measured on the server,
  nothing written. Whoever may add a proposal to the zone may ask.
* ``POST /disputes/{id}/proposals``: the proposal into the case file, with its balance
  (``If-Match`` required: a stale page is refused).
* ``POST /disputes/{id}/decision-preview``: the decision (split along the official line,
  or adopt a proposal) rehearsed: the same code that applies it, rolled back.
* ``POST /disputes/{id}/decision-plan``: the same decision applied (``If-Match``).
* ``GET /disputes/{id}/expediente.pdf``: the zone's dossier, A4, for whoever reads the
  zone (the page's link works with the session cookie).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.concurrency import ExpectedZoneVersion, zone_body, zone_etag
from api.deps import ConnectionDep, EngineDep, ZoneDecider, ZoneEvidence, ZoneReader
from api.fields import INT64_MAX, RowId
from api.routes.disputes import _with_etag, reach_zone
from api.wire import answers
from api.wire import disputes as wire
from geo.errors import InvalidInput, Problem
from geo.validation import POLYGONAL, parse_geojson_geometry
from layers.disputes import decisions, proposals, rehearsal
from layers.engine import on_read_connection

router = APIRouter(tags=["disputes"])
Key = Annotated[str, Field(pattern=r"^\d{5}$")]


class ProposalDraft(BaseModel):
    party: Key = Field(description="The party that would receive the drawn land.")
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, lon/lat.")
    summary: str | None = Field(default=None, max_length=20000)


@router.post(
    "/disputes/{zone_id}/proposal-preview",
    summary="What each party would receive, gain and lose under a drawn proposal",
    responses=answers(wire.ProposalPreview),
)
def proposal_preview(
    conn: ConnectionDep, caller: ZoneEvidence, zone_id: RowId, body: ProposalDraft
) -> Mapping[str, Any]:
    reach_zone(conn, caller, zone_id)
    drawn = parse_geojson_geometry(body.geometry, allowed_types=POLYGONAL)
    return proposals.preview(conn, zone_id, drawn, body.party)


@router.post(
    "/disputes/{zone_id}/proposals",
    status_code=201,
    summary="Record a drawn proposal in the case file, with its balance (If-Match)",
    responses=answers(wire.CaseEvent, 201),
)
def record_proposal(
    engine: EngineDep,
    caller: ZoneEvidence,
    zone_id: RowId,
    body: ProposalDraft,
    response: Response,
    version: ExpectedZoneVersion,
) -> Mapping[str, Any]:
    on_read_connection(engine, lambda conn: reach_zone(conn, caller, zone_id))
    drawn = parse_geojson_geometry(body.geometry, allowed_types=POLYGONAL)
    event = proposals.record(
        engine,
        zone_id,
        proposed=drawn,
        party=body.party,
        actor=caller.name,
        expected_version=version.expected(),
        summary=body.summary,
    )
    response.headers["ETag"] = zone_etag(zone_id, event["zone_version"])
    return event


class DecisionPlan(BaseModel):
    split_along_official_line: bool = Field(
        default=False, description="Each party receives the zone inside its official polygon."
    )
    proposal_id: int | None = Field(
        default=None, ge=1, le=INT64_MAX, description="Adopt this drawn proposal of the case file."
    )
    source_reference: str | None = Field(default=None, max_length=2000)
    summary: str | None = Field(default=None, max_length=20000)


def _decision(engine: Engine, caller: Any, zone_id: int, plan: DecisionPlan, version: int) -> Any:
    """The keyword arguments of ``decisions.apply_decision`` for a plan."""
    if plan.split_along_official_line == (plan.proposal_id is not None):
        raise InvalidInput(
            "choose one: split_along_official_line, or the proposal_id to adopt",
            problems=[Problem("proposal_id", "one of split_along_official_line or proposal_id")],
        )
    parts = None
    if plan.proposal_id is not None:
        proposal_id = plan.proposal_id
        parts = on_read_connection(
            engine, lambda conn: proposals.parts_of(conn, zone_id, proposal_id)
        )
    source = plan.source_reference
    if plan.proposal_id is not None and not source:
        source = f"propuesta {plan.proposal_id} del expediente"
    return {
        "actor": caller.name,
        "expected_version": version,
        "valid_from": datetime.now(UTC),
        "parts": parts,
        "split_along_official_line": plan.split_along_official_line,
        "source_reference": source,
        "summary": plan.summary,
        "valid_from_given": False,
    }


@router.post(
    "/disputes/{zone_id}/decision-preview",
    summary="Rehearse a decision: the resulting parts and claims, nothing written (If-Match)",
    responses=answers(wire.DecisionPreview),
)
def decision_preview(
    engine: EngineDep,
    caller: ZoneDecider,
    zone_id: RowId,
    body: DecisionPlan,
    version: ExpectedZoneVersion,
) -> Mapping[str, Any]:
    preview = rehearsal.preview_decision(
        engine, zone_id, **_decision(engine, caller, zone_id, body, version.expected())
    )
    return {**preview, "zone": zone_body(preview["zone"])}


@router.post(
    "/disputes/{zone_id}/decision-plan",
    summary="Apply a decision: split along the official line or adopt a proposal (If-Match)",
    responses=answers(wire.DecidedZone),
)
def decision_plan(
    engine: EngineDep,
    caller: ZoneDecider,
    zone_id: RowId,
    body: DecisionPlan,
    response: Response,
    version: ExpectedZoneVersion,
) -> Mapping[str, Any]:
    zone = decisions.apply_decision(
        engine, zone_id, **_decision(engine, caller, zone_id, body, version.expected())
    )
    return _with_etag(response, zone)


@router.get(
    "/disputes/{zone_id}/expediente.pdf",
    summary="The zone's dossier (expediente) as an A4 PDF: map, parties, measures, case file",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The dossier."}},
)
def dossier(request: Request, engine: EngineDep, caller: ZoneReader, zone_id: RowId) -> Response:
    on_read_connection(engine, lambda conn: reach_zone(conn, caller, zone_id))
    from services.dossier import dossier_pdf  # folium and pypdf: on first use

    body = dossier_pdf(engine, request.app.state.renderer, zone_id, made_at=datetime.now(UTC))
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="expediente-zona-{zone_id}.pdf"',
        },
    )
