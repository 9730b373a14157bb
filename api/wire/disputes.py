"""Wire shapes of /disputes*, /detection-runs* and a zone's case file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.wire.common import AnyGeometry, Land, PartyName
from geo.disputes import ZoneKind, ZoneStatus


class DetectionRun(BaseModel):
    id: int
    scope: str
    scope_label: str
    as_of: datetime
    min_area_m2: float
    actor: str
    started_at: datetime
    finished_at: datetime | None
    municipalities: int
    official_fallbacks: int
    overlaps: int
    gaps: int
    slivers_ignored: int
    zones_created: int
    zones_changed: int
    zones_unchanged: int
    zones_vanished: int
    compute_s: float | None


class DetectionRuns(BaseModel):
    runs: list[DetectionRun]


class FoundZone(BaseModel):
    id: int
    kind: ZoneKind
    parties: list[str]
    area_m2: float
    area_ha: float
    contested_length_m: float


class DetectionResult(DetectionRun):
    zones: list[FoundZone] = Field(description="Every zone found, by the id it has now.")
    created: list[int]
    changed: list[int]
    vanished: list[int]
    seconds: float


class ZoneFields(BaseModel):
    """What every answer about a zone holds (``GET /disputes`` gives only this)."""

    id: int
    name: str | None
    kind: ZoneKind
    status: ZoneStatus
    scope: str | None
    area_m2: float
    area_ha: float
    perimeter_m: float
    contested_length_m: float
    version: int
    geom_revision: int
    detection_run_id: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    notes: str | None


class ZoneSummary(ZoneFields):
    parties: list[str] = Field(description="The parties' INEGI keys.")
    etag: str = Field(description="Send it as If-Match to edit the zone.")


class ZoneList(BaseModel):
    zones: list[ZoneSummary]


class Party(PartyName):
    claim_id: int | None


class Zone(ZoneFields):
    """A zone with its parties and geometry: the answer of every edit."""

    parties: list[Party]
    etag: str
    geometry: Land


class OfficialLine(BaseModel):
    length_m: float
    geometry: AnyGeometry | None


class LocalityInside(BaseModel):
    cvegeo: str
    name: str
    municipality: str
    population: int | None
    area_inside_m2: float
    share_inside: float


class InspectionInside(BaseModel):
    id: str
    observed_at: datetime
    category: str
    severity: int
    lon: float
    lat: float


class ZoneDetail(Zone):
    official_line: OfficialLine
    localities: list[LocalityInside]
    population_estimate: float = Field(description="An estimate: localities by area share.")
    inspections: list[InspectionInside]
    case_events: int


class DecidedZone(Zone):
    new_claims: dict[str, int] = Field(description="The new claim's id of each party.")


class OverviewZone(ZoneFields):
    parties: list[PartyName]
    etag: str
    population_estimate: float
    geometry: Land = Field(description="Simplified for a map of the whole list.")


class ZonesOverview(BaseModel):
    counts: dict[str, int] = Field(description="Zones per status, whatever the status filter.")
    total: int
    zones: list[OverviewZone]


class CaseEvent(BaseModel):
    id: int
    kind: str
    occurred_at: datetime
    recorded_by: str
    recorded_at: datetime
    summary: str | None
    details: dict[str, Any] | None
    zone_version: int
    geometry: AnyGeometry | None
    area_m2: float | None = Field(description="A polygonal geometry's area, EPSG:6372.")
    length_m: float | None = Field(description="A linear geometry's length, EPSG:6372.")


class CaseEvents(BaseModel):
    events: list[CaseEvent]


class GeometryRevision(BaseModel):
    revision: int
    change: str
    detection_run_id: int | None
    recorded_by: str
    recorded_at: datetime
    area_m2: float
    gained_m2: float
    lost_m2: float
    geometry: Land | None


class GeometryRevisions(BaseModel):
    revisions: list[GeometryRevision]


class PartyBalance(PartyName):
    receives_m2: float
    official_m2: float
    gains_m2: float
    loses_m2: float


class ProposalPreview(BaseModel):
    party: str
    parties: list[PartyBalance]
    parts: dict[str, AnyGeometry] = Field(
        description="Each party's land under the proposal (a Polygon or MultiPolygon; a "
        "collection where an overlay leaves a sliver)."
    )


class DecisionPart(PartyName):
    part_m2: float
    claim_before_m2: float | None
    claim_after_m2: float | None


class DecisionPreview(BaseModel):
    zone: Zone
    parties: list[DecisionPart]
    parts: dict[str, AnyGeometry] = Field(description="Each party's part of the zone.")
    split_along_official_line: bool
