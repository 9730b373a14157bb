"""Optimistic concurrency over HTTP: ``If-Match`` read as a dependency.

Two kinds of record are edited this way: disputed zones (``If-Match`` required) and
inspections (reviews and follow-ups; ``If-Match`` optional, without it the move checks
only the status it read).

Storage takes the version a write expects as an integer (``expected_version``) and
raises ``StaleVersion`` when it is no longer current; how a client names that version
is HTTP's business and lives here: the zone's ETag (:func:`zone_etag`, ``"zone-7-v3"``,
added to every zone body by :func:`zone_body`) sent back in ``If-Match``. An edit
without it is refused with 428, an ETag of another zone (or ``*``, which never names a
version) with 412.

The 412 is raised when the route reads the version (``ZoneIfMatch.expected``), not in
the dependency: FastAPI runs dependencies before it checks the body, so a dependency
that raised would answer a malformed body with 412 instead of the 422 naming what is
wrong in it. A missing header is still refused first (428).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header

from api.fields import RowId
from geo.errors import PreconditionFailed, PreconditionRequired, Problem

IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="The zone's ETag, as last read.")
]


def _etag(kind: str, key: object, version: int) -> str:
    return f'"{kind}-{key}-v{version}"'


def _tagged_version(value: str, kind: str, key: object) -> int:
    """The version an ``If-Match`` value names for the record ``kind``/``key``.

    Raises:
        PreconditionFailed: an ETag of another record, or ``*`` (never matches a version).
    """
    tag = value.strip().removeprefix("W/")
    prefix = f'"{kind}-{key}-v'
    if not (tag.startswith(prefix) and tag.endswith('"') and tag[len(prefix) : -1].isdigit()):
        raise PreconditionFailed(
            f"If-Match {value} is not an ETag of {kind} {key}",
            problems=[Problem("If-Match", f"not this {kind}'s ETag")],
        )
    return int(tag[len(prefix) : -1])


def zone_etag(zone_id: int, version: int) -> str:
    """The ``ETag`` of a zone at ``version``: ``"zone-7-v3"`` (also what the CLI prints)."""
    return _etag("zone", zone_id, version)


def zone_body(zone: Mapping[str, Any]) -> dict[str, Any]:
    """A zone as ``layers.disputes`` reads it, with its ``etag`` after its ``parties``
    (where ``api.wire.disputes`` lists it)."""
    body: dict[str, Any] = {}
    for key, value in zone.items():
        body[key] = value
        if key == "parties":
            body["etag"] = zone_etag(zone["id"], zone["version"])
    return body


def zone_version(value: str | None, zone_id: int, *, required: bool) -> int | None:
    """The zone version named by an ``If-Match`` header (``None`` if absent and optional).

    Raises:
        PreconditionRequired: absent while required (HTTP 428).
        PreconditionFailed: an ETag of another zone, or ``*`` (never matches a version).
    """
    if value is None or not value.strip():
        if required:
            raise PreconditionRequired(
                "editing a disputed zone needs If-Match with the ETag you read "
                "(GET /disputes/{id}), so a stale edit cannot overwrite someone else's",
                problems=[Problem("If-Match", "missing")],
            )
        return None
    return _tagged_version(value, "zone", zone_id)


@dataclass(frozen=True)
class ZoneIfMatch:
    """The ``If-Match`` a request sent for a zone, read once the request is valid."""

    header: str | None
    zone_id: int

    def expected(self) -> int | None:
        """The version it names, ``None`` when absent.

        Raises:
            PreconditionFailed: an ETag of another zone, or ``*`` (412).
        """
        return zone_version(self.header, self.zone_id, required=False)


@dataclass(frozen=True)
class RequiredZoneIfMatch(ZoneIfMatch):
    def expected(self) -> int:
        version = zone_version(self.header, self.zone_id, required=True)
        assert version is not None
        return version


def _required(zone_id: RowId, if_match: IfMatch = None) -> RequiredZoneIfMatch:
    if if_match is None or not if_match.strip():
        zone_version(if_match, zone_id, required=True)  # 428
    return RequiredZoneIfMatch(if_match, zone_id)


def _optional(zone_id: RowId, if_match: IfMatch = None) -> ZoneIfMatch:
    return ZoneIfMatch(if_match, zone_id)


#: the zone version an edit expects: ``If-Match`` required (428 without it)
ExpectedZoneVersion = Annotated[RequiredZoneIfMatch, Depends(_required)]
#: the zone version an append expects, if the client sent one (checked only then)
OptionalZoneVersion = Annotated[ZoneIfMatch, Depends(_optional)]


InspectionIfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The inspection's ETag as last read (GET /inspections/{id}): a move "
        "from a stale read is refused (412). Optional: without it only the status is checked.",
    ),
]


def inspection_etag(inspection_id: str, version: int) -> str:
    """The ``ETag`` of an inspection at ``version``: ``"inspection-<id>-v<version>"``."""
    return _etag("inspection", inspection_id, version)


def inspection_version(value: str | None, inspection_id: str) -> int | None:
    """The inspection version an ``If-Match`` header names (``None`` when absent).

    Raises:
        PreconditionFailed: an ETag of another inspection, or ``*`` (412).
    """
    if value is None or not value.strip():
        return None
    return _tagged_version(value, "inspection", inspection_id)


@dataclass(frozen=True)
class InspectionIfMatch:
    """The ``If-Match`` a request sent for an inspection, read once the request is valid
    (and, for a follow-up, once the caller is known to reach the inspection)."""

    header: str | None
    inspection_id: str

    def expected(self) -> int | None:
        """The version it names, ``None`` when absent.

        Raises:
            PreconditionFailed: an ETag of another inspection, or ``*`` (412).
        """
        return inspection_version(self.header, self.inspection_id)


def _inspection(inspection_id: str, if_match: InspectionIfMatchHeader = None) -> InspectionIfMatch:
    return InspectionIfMatch(if_match, inspection_id)


#: the inspection version a review or follow-up expects, if the client sent one
ExpectedInspectionVersion = Annotated[InspectionIfMatch, Depends(_inspection)]
