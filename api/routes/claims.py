"""Boundary claims: read by planners, recorded by the commission."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ClaimRecorder, ConnectionDep, EngineDep, OfficialRecorder, Planner
from api.fields import Moment, Offset, RowId
from api.wire import answers
from api.wire import claims as wire
from geo.access import allows
from geo.errors import Forbidden, Problem
from geo.validation import POLYGONAL, parse_geojson_geometry
from layers import claims as claim_store
from layers.claim_rows import ClaimRow
from layers.claim_withdrawal import REASON_MAX_CHARS
from layers.disputes.scopes import official_claims_in_scope
from services.claim_withdrawal import withdraw

router = APIRouter(tags=["claims"])


class ClaimCreate(BaseModel):
    cvegeo: str = Field(pattern=r"^\d{5}$", description="Municipality's INEGI key.")
    source: claim_store.ClaimSource
    source_reference: str | None = Field(default=None, max_length=2000)
    valid_from: Moment | None = Field(default=None, description="Default: now.")
    notes: str | None = Field(default=None, max_length=10000)
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, lon/lat.")


def _public(claim: ClaimRow) -> dict[str, Any]:
    geometry = claim["geometry"]
    return {
        "type": "Feature",
        "id": claim["id"],
        "properties": {k: v for k, v in claim.items() if k != "geometry"},
        "geometry": json.loads(geometry) if geometry else None,
    }


@router.get("/claims", summary="Claims (newest version first)", responses=answers(wire.Claims))
def list_claims(
    conn: ConnectionDep,
    _caller: Planner,
    cvegeo: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    as_of: Annotated[Moment | None, Query(description="Claims in force at this moment.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    rows = claim_store.list_claims(conn, cvegeo=cvegeo, as_of=as_of, limit=limit, offset=offset)
    return {"type": "FeatureCollection", "features": [_public(r) for r in rows]}


@router.get("/claims/{claim_id:int}", summary="One claim", responses=answers(wire.Claim))
def get_claim(conn: ConnectionDep, _caller: Planner, claim_id: RowId) -> dict[str, Any]:
    return _public(claim_store.get_claim(conn, claim_id))


@router.get(
    "/claims/{claim_id:int}/diff",
    summary="Land a claim gains and loses",
    responses=answers(wire.ClaimDiff),
)
def diff_claim(
    conn: ConnectionDep,
    _caller: Planner,
    claim_id: RowId,
    against: Annotated[
        str,
        Query(
            pattern=r"^(previous|official|\d+)$",
            description="previous (version before), official (INEGI line) or a claim id.",
        ),
    ] = "previous",
) -> Mapping[str, Any]:
    return claim_store.diff(conn, claim_id, against)


class OfficialClaims(BaseModel):
    zone: str | None = Field(default=None, description="Metro zone code, e.g. 20.1.01.")
    state: str | None = Field(default=None, pattern=r"^\d{2}$")
    cvegeos: list[Annotated[str, Field(pattern=r"^\d{5}$")]] | None = Field(
        default=None, max_length=5000
    )
    valid_from: Moment | None = Field(default=None, description="Default: now.")


@router.post(
    "/claims/official",
    status_code=201,
    summary="Record the official INEGI line as the claim of each municipality in a scope",
    responses=answers(wire.OfficialClaimsRecorded, 201),
)
def official_claims(
    engine: EngineDep, caller: OfficialRecorder, body: OfficialClaims
) -> Mapping[str, Any]:
    return official_claims_in_scope(
        engine,
        zone=body.zone,
        state=body.state,
        cvegeos=body.cvegeos,
        valid_from=body.valid_from or datetime.now(UTC),
        recorded_by=caller.name,
    )


@router.post(
    "/claims",
    status_code=201,
    summary="Record a new claimed boundary version",
    responses=answers(wire.Claim, 201),
)
def create_claim(engine: EngineDep, caller: ClaimRecorder, body: ClaimCreate) -> dict[str, Any]:
    """A municipality's representative records its own municipality's claims only."""
    if not allows(caller.rows, cvegeo=body.cvegeo):
        raise Forbidden(
            f"{caller.name} records the claims of {caller.caller.cvegeo} only, "
            f"not of {body.cvegeo}",
            problems=[Problem("cvegeo", f"your municipality, {caller.caller.cvegeo}")],
        )
    geom = parse_geojson_geometry(body.geometry, allowed_types=POLYGONAL)
    claim = claim_store.add_claim(
        engine,
        cvegeo=body.cvegeo,
        geom=geom,
        source=body.source.value,
        valid_from=body.valid_from or datetime.now(UTC),
        recorded_by=caller.name,
        source_reference=body.source_reference,
        notes=body.notes,
        valid_from_given=body.valid_from is not None,
    )
    return _public(claim)


class ClaimWithdrawal(BaseModel):
    cvegeo: str = Field(pattern=r"^\d{5}$", description="Municipality's INEGI key.")
    reason: str = Field(
        min_length=1,
        max_length=REASON_MAX_CHARS,
        description="Why the claim is withdrawn (a convenio, a claim filed by mistake).",
    )
    claim_id: int | None = Field(
        default=None,
        ge=1,
        description="The claim you read as in force; if another is in force now, 409.",
    )


@router.post(
    "/claims/withdrawals",
    summary="Withdraw a municipality's claim in force (its series ends; nothing is deleted)",
    responses=answers(wire.WithdrawnClaim),
)
def withdraw_claim(
    engine: EngineDep, caller: ClaimRecorder, body: ClaimWithdrawal
) -> dict[str, Any]:
    """Who may file a municipality's claims may withdraw them: the commission any, a
    municipality's representative its own."""
    claim = withdraw(
        engine,
        cvegeo=body.cvegeo,
        reason=body.reason,
        actor=caller.name,
        rows=caller.rows,
        acts_for=caller.caller.cvegeo,
        claim_id=body.claim_id,
    )
    return _public(claim)
