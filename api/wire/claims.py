"""Wire shapes of /claims: claimed boundary versions as GeoJSON Features."""

from __future__ import annotations

from datetime import datetime

from geojson_pydantic import Feature, FeatureCollection, MultiPolygon
from pydantic import BaseModel, Field

from api.wire.common import Land


class ClaimProperties(BaseModel):
    id: int
    cvegeo: str
    municipality: str
    version: int
    source: str
    source_reference: str | None
    valid_from: datetime
    valid_to: datetime | None
    recorded_by: str
    recorded_at: datetime
    notes: str | None


class Claim(Feature[Land, ClaimProperties]):
    """A claimed boundary version: its land and who claims it since when."""


class Claims(FeatureCollection[Claim]):
    """Claims, newest version first."""


class Withdrawal(BaseModel):
    withdrawn_at: datetime
    withdrawn_by: str
    reason: str


class WithdrawnClaimProperties(ClaimProperties):
    withdrawal: Withdrawal


class WithdrawnClaim(Feature[Land, WithdrawnClaimProperties]):
    """The claim withdrawn: closed at the withdrawal instant, with who withdrew it and why."""


class ClaimDiff(BaseModel):
    claim_id: int
    cvegeo: str
    against: str
    gained_m2: float
    lost_m2: float
    gained_ha: float
    lost_ha: float
    net_m2: float
    gained: MultiPolygon
    lost: MultiPolygon


class OfficialClaimsRecorded(BaseModel):
    scope: str = Field(description="The scope's key, e.g. zone:20.1.01 or state:20.")
    scope_label: str = Field(description="The scope in words, with its number of municipalities.")
    created: list[str] = Field(description="Municipalities whose official line became a new claim.")
    unchanged: list[str] = Field(description="Municipalities whose claim in force already was it.")
