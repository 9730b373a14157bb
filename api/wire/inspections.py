"""Wire shapes of /inspections* and /inspections-review*."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from geojson_pydantic import Feature, Point
from pydantic import BaseModel, Field

from api.fields import Moment


class InspectionProperties(BaseModel):
    observed_at: Moment
    category: str = Field(max_length=32)
    severity: int
    description: str | None = Field(default=None, max_length=10000)
    gps_accuracy_m: float | None = None
    inspector: str | None = Field(default=None, max_length=200, description="Default: caller.")


class InspectionCreate(BaseModel):
    """A GeoJSON Feature (Point) whose properties are the observation."""

    type: Literal["Feature"] = "Feature"
    id: str | None = Field(default=None, description="The client's UUID for this inspection.")
    geometry: dict[str, Any] = Field(
        description='A GeoJSON Point, lon/lat (EPSG:4326): {"type": "Point", '
        '"coordinates": [-96.72, 17.06]}; checked by Linde, which says what is wrong.'
    )
    properties: InspectionProperties


#: ``POST /inspections`` takes the Feature as JSON, or as the ``inspection`` part of a
#: multipart form beside its photos (``openapi_extra``: the route reads the body itself)
INSPECTION_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/InspectionCreate"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["inspection"],
                "properties": {
                    "inspection": {
                        "type": "string",
                        "description": "The inspection's GeoJSON Feature (InspectionCreate) "
                        "as JSON text.",
                    },
                    "photos": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "JPEG, PNG or WebP images of what was seen.",
                    },
                },
            }
        },
    },
}
#: models only named by ``$ref`` in ``openapi_extra``: ``api.openapi`` adds them
REQUEST_MODELS: tuple[type[BaseModel], ...] = (InspectionCreate,)


class Photo(BaseModel):
    sha256: str
    media_type: str
    size_bytes: int
    file_name: str | None


class InspectionEvent(BaseModel):
    kind: str
    from_status: str
    to_status: str
    referred_to: str | None
    note: str | None
    actor: str
    at: datetime


class InspectionRecord(BaseModel):
    """An inspection as stored, with what Linde annotated: who is responsible, the
    dispute, the river (null where none is near)."""

    observed_at: datetime
    category: str
    severity: int
    description: str | None
    gps_accuracy_m: float | None
    inspector: str
    source: str
    created_at: datetime
    recorded_by: str | None = None
    import_run_id: int | None = None
    review_status: str
    follow_up_status: str
    referred_to: str | None = None
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
    version: int
    photos: list[Photo]
    history: list[InspectionEvent]


class Inspection(Feature[Point, InspectionRecord]):
    """One inspection: a GeoJSON Feature (Point, lon/lat) whose id is its UUID."""


class ReviewItem(Feature[Point, dict[str, Any]]):
    """An inspection in the review list."""


class Category(BaseModel):
    code: str
    label: str


class ImportProblem(BaseModel):
    field: str
    reason: str
    row: int | None = None


class ImportReport(BaseModel):
    kind: str
    file_name: str
    mode: str
    created: int
    unchanged: int
    refused: int = Field(description="Rows refused.")
    problems: list[ImportProblem]
    seconds: float
    import_run: int | None


class ReviewListing(BaseModel):
    type: str = Field(description='"FeatureCollection"')
    features: list[ReviewItem]
    total: int
    shown: int
    limit: int
    counts: dict[str, Any] = Field(description="Inspections per review and follow-up status.")


class ActionDone(BaseModel):
    id: str
    version: int
    status: str


class ActionsDone(BaseModel):
    action: str
    done: list[ActionDone]
