"""The rows ``layers.disputes`` returns about a zone, shared by its modules.

Each is the JSON body the API sends (``api.wire.disputes`` names the same fields for
OpenAPI), so the keys keep the order in which the body lists them; the API adds only
a zone's ``etag`` after its ``parties`` (``api.concurrency.zone_body``), HTTP's name
for its ``version``. Status and kind are the stored strings (``geo.disputes.ZoneStatus``
/ ``ZoneKind`` values).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict


class ZoneFields(TypedDict):
    """What every answer about a zone holds (``api.wire.disputes.ZoneFields``)."""

    id: int
    name: str | None
    kind: str
    status: str
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
    """A zone in ``GET /disputes``: its parties by INEGI key."""

    parties: list[str]


class PartyName(TypedDict):
    cvegeo: str
    name: str


class Party(TypedDict):
    """A party of a zone and the claim of it the zone was found in (None: by hand)."""

    cvegeo: str
    name: str
    claim_id: int | None


class Zone(ZoneFields):
    """A zone with its parties and land: the answer of every edit."""

    parties: list[Party]
    geometry: dict[str, Any]  # GeoJSON (Multi)Polygon, lon/lat, RFC 7946 winding


class OfficialLine(TypedDict):
    length_m: float
    geometry: dict[str, Any] | None  # GeoJSON, lon/lat; None: no official line crosses


class LocalityInside(TypedDict):
    cvegeo: str
    name: str
    municipality: str
    population: int | None
    area_inside_m2: float
    share_inside: float


class InspectionInside(TypedDict):
    id: str
    observed_at: datetime
    category: str
    severity: int
    lon: float
    lat: float


class ZoneDetail(Zone):
    """A zone with what lies in it (``GET /disputes/{id}``)."""

    official_line: OfficialLine
    localities: list[LocalityInside]
    population_estimate: float
    inspections: list[InspectionInside]
    case_events: int


class DecidedZone(Zone):
    """A zone a decision resolved, with the new claim of each party."""

    new_claims: dict[str, int]


class OverviewZone(ZoneFields):
    """A zone on the commission's list page, outline simplified for the map."""

    parties: list[PartyName]
    population_estimate: float
    geometry: dict[str, Any]  # GeoJSON (Multi)Polygon, lon/lat, simplified


class ZonesOverview(TypedDict):
    counts: dict[str, int]
    total: int
    zones: list[OverviewZone]


class CaseEventRow(TypedDict):
    """An entry of a zone's case file as read, with the size of its geometry."""

    id: int
    kind: str
    occurred_at: datetime
    recorded_by: str
    recorded_at: datetime
    summary: str | None
    details: dict[str, Any] | None  # free per kind (a meeting's place, a decision's parts…)
    zone_version: int
    geometry: dict[str, Any] | None  # GeoJSON, lon/lat
    area_m2: float | None
    length_m: float | None


class GeometryRevision(TypedDict):
    revision: int
    change: str
    detection_run_id: int | None
    recorded_by: str
    recorded_at: datetime
    area_m2: float
    gained_m2: float
    lost_m2: float
    geometry: dict[str, Any] | None  # GeoJSON (Multi)Polygon, lon/lat


class PartyBalance(TypedDict):
    """What a party would receive under a proposal, against its official line (m²)."""

    cvegeo: str
    name: str
    receives_m2: float
    official_m2: float
    gains_m2: float
    loses_m2: float


class ProposalPreview(TypedDict):
    party: str
    parties: list[PartyBalance]
    parts: dict[str, dict[str, Any]]  # cvegeo -> GeoJSON land, lon/lat


class DecisionPart(TypedDict):
    """A party's part of a rehearsed decision and its claim's area before and after (m²)."""

    cvegeo: str
    name: str
    part_m2: float
    claim_before_m2: float | None
    claim_after_m2: float | None


class DecisionPreview(TypedDict):
    zone: Zone
    parties: list[DecisionPart]
    parts: dict[str, dict[str, Any]]  # cvegeo -> GeoJSON land, lon/lat
    split_along_official_line: bool
