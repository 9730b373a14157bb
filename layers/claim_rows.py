"""The rows ``layers.claims`` returns: a claim as read, the key of one just recorded,
what a claim gains and loses, and the official line recorded as claims."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict


class ClaimKey(TypedDict):
    """A recorded claim named: its id, municipality and version."""

    id: int
    cvegeo: str
    version: int


class ClaimRow(ClaimKey):
    """A claim as read (``api.wire.claims.ClaimProperties``, plus its land):
    ``geometry`` is GeoJSON text, lon/lat, RFC 7946 winding."""

    municipality: str
    source: str
    source_reference: str | None
    valid_from: datetime
    valid_to: datetime | None
    recorded_by: str
    recorded_at: datetime
    notes: str | None
    geometry: str | None


class WithdrawalDetails(TypedDict):
    withdrawn_at: datetime
    withdrawn_by: str
    reason: str


class WithdrawnClaimRow(ClaimRow):
    """A claim just withdrawn (``api.wire.claims.WithdrawnClaim``): as read, closed, and
    who withdrew it, when and why."""

    withdrawal: WithdrawalDetails


class ClaimDiff(TypedDict):
    """What a claim gains and loses against another line (``api.wire.claims.ClaimDiff``)."""

    claim_id: int
    cvegeo: str
    against: str
    gained_m2: float
    lost_m2: float
    gained_ha: float
    lost_ha: float
    net_m2: float
    gained: dict[str, Any]  # GeoJSON MultiPolygon, lon/lat
    lost: dict[str, Any]  # GeoJSON MultiPolygon, lon/lat


class OfficialClaimsRecorded(TypedDict):
    created: list[str]
    unchanged: list[str]
