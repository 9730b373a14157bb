"""The inspection as ``GET /inspections/{id}`` sends it (``api.wire.inspections.Inspection``):
a GeoJSON Feature whose properties are the stored row with its annotations, photos
and history. Keys keep the order of the table's columns, as the body lists them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypedDict


class InspectionPhoto(TypedDict):
    sha256: str
    media_type: str
    size_bytes: int
    file_name: str | None


class InspectionEvent(TypedDict):
    """A review or follow-up move, as recorded."""

    kind: str
    from_status: str
    to_status: str
    referred_to: str | None
    note: str | None
    actor: str
    at: datetime


class InspectionRecord(TypedDict):
    observed_at: datetime
    category: str
    severity: int
    description: str | None
    gps_accuracy_m: float | None
    inspector: str
    source: str
    created_at: datetime
    recorded_by: str | None
    import_run_id: int | None
    review_status: str
    follow_up_status: str
    referred_to: str | None
    municipality_cvegeo: str | None
    municipality_name: str | None
    claim_cvegeos: list[str]
    metro_zone_codes: list[str]
    disputed_zone_id: int | None
    dispute: str | None
    river_id: int | None
    river_name: str | None
    river_distance_m: float | None
    chainage_m: float | None
    bank_side: str | None
    in_federal_zone: bool | None
    annotated_at: datetime | None
    observed_offset_min: int | None  # the device's UTC offset in observed_at, when kept
    version: int
    photos: list[InspectionPhoto]
    history: list[InspectionEvent]


class PointGeometry(TypedDict):
    type: Literal["Point"]
    coordinates: list[float]  # lon, lat


class InspectionFeature(TypedDict):
    type: Literal["Feature"]
    id: str
    geometry: PointGeometry
    properties: InspectionRecord
