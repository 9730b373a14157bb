"""The rules of an inspection that need no database: fields, fingerprint, review states."""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import orjson

from geo.errors import Problem
from geo.mexico import (
    MEXICO_LAT_MAX,
    MEXICO_LAT_MIN,
    MEXICO_LON_MAX,
    MEXICO_LON_MIN,
    in_mexico,
    swapped_hint,
)

SEVERITY_MIN, SEVERITY_MAX = 1, 5
#: Phones' clocks run a little ahead; an observation this far in the future is accepted.
CLOCK_SKEW = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: the UTC offsets clocks use, in minutes (UTC-12:00 to UTC+14:00)
OFFSET_RANGE_MIN = (-12 * 60, 14 * 60)


def offset_minutes(moment: datetime) -> int | None:
    """The UTC offset ``moment`` was written with, in minutes (-360 for -06:00).

    None for a naive moment. Seconds in an offset (historical zones) are rounded.
    """
    offset = moment.utcoffset()
    return None if offset is None else round(offset.total_seconds() / 60)


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: ids derived from an Idempotency-Key or from an import row live in this namespace
ID_NAMESPACE = uuid.UUID("0b5e1d6c-3f0c-5a7e-9d1e-6c696e646521")


class ReviewStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class FollowUp(StrEnum):
    open = "open"
    referred = "referred"  # turned over to a municipality
    attended = "attended"


REVIEW_MOVES: dict[str, set[str]] = {"pending": {"approved", "rejected"}}
FOLLOW_UP_MOVES: dict[str, set[str]] = {
    "open": {"referred", "attended"},
    "referred": {"attended"},
}


@dataclass(frozen=True)
class Submission:
    """One inspection as submitted (by a phone, or a row of an import file)."""

    id: str
    lon: float
    lat: float
    observed_at: datetime
    category: str
    severity: int
    description: str | None
    gps_accuracy_m: float | None
    inspector: str
    photo_sha256: tuple[str, ...] = ()
    #: the device's UTC offset in minutes as it sent ``observed_at`` (None: not known).
    #: Not part of the fingerprint: the same instant is the same observation.
    observed_offset_min: int | None = None

    def content_sha256(self) -> str:
        """A fingerprint of what was observed: a retry must carry the same one.

        Coordinates are compared at 1e-7° (~1 cm); the time as UTC to the microsecond;
        photos by their SHA-256, in any order. Where it came from (API or file) is not
        part of it, so a point posted and later imported from an export is the same.
        """
        moment = self.observed_at - _EPOCH  # aware: the same instant in any zone
        fields = (
            round(self.lon, 7),
            round(self.lat, 7),
            moment.days,
            moment.seconds,
            moment.microseconds,
            self.category,
            self.severity,
            self.description or "",
            self.gps_accuracy_m,
            self.inspector,
            sorted(self.photo_sha256),
        )
        # a JSON array keeps the fields apart whatever text they hold
        return hashlib.sha256(orjson.dumps(fields)).hexdigest()


def new_submission(
    id: str,
    lon: float,
    lat: float,
    observed_at: datetime,
    category: str,
    severity: int,
    description: str | None,
    gps_accuracy_m: float | None,
    inspector: str,
) -> Submission:
    """``Submission(...)`` for bulk imports, without a photo.

    The same object, built without the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field), which is a third of checking an import row.
    """
    sub: Submission = object.__new__(Submission)
    sub.__dict__.update(
        id=id,
        lon=lon,
        lat=lat,
        observed_at=observed_at,
        category=category,
        severity=severity,
        description=description,
        gps_accuracy_m=gps_accuracy_m,
        inspector=inspector,
        photo_sha256=(),
    )
    return sub


def plainly_valid(
    lon: float,
    lat: float,
    observed_at: object,
    category: object,
    severity: object,
    gps_accuracy_m: float | None,
    categories: Sequence[str] | set[str],
    latest: datetime,
) -> bool:
    """A quick test for the usual row: True only where ``check_fields`` finds nothing.

    ``latest`` is ``now + CLOCK_SKEW``. False says nothing: ask ``check_fields``, which
    words the problems.
    """
    return (
        MEXICO_LON_MIN <= lon <= MEXICO_LON_MAX  # NaN and infinities fail
        and MEXICO_LAT_MIN <= lat <= MEXICO_LAT_MAX
        and type(observed_at) is datetime
        and observed_at.tzinfo is not None
        and observed_at <= latest
        and type(category) is str
        and category in categories
        and type(severity) is int
        and SEVERITY_MIN <= severity <= SEVERITY_MAX
        and (gps_accuracy_m is None or 0.0 <= gps_accuracy_m < math.inf)
    )


def id_from_key(scope: str, key: str) -> str:
    """A stable UUID for an idempotency key (or a foreign id) within a scope."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{scope}\x1f{key}"))


def normalize_id(value: str) -> str | None:
    """The canonical text of a UUID (also ``uuid:…`` as ODK writes it), or None."""
    text = value.strip()
    if CANONICAL_UUID.match(text):  # the usual case, without parsing
        return text
    if text.lower().startswith("uuid:"):
        text = text[5:]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def check_fields(
    *,
    lon: float,
    lat: float,
    observed_at: datetime | None,
    category: str | None,
    severity: int | None,
    gps_accuracy_m: float | None,
    categories: Sequence[str] | set[str],
    now: datetime,
    row: int | None = None,
) -> list[Problem]:
    """What is wrong with one inspection's fields (empty when nothing is).

    ``observed_at`` must be time-zone aware and not in the future (beyond
    ``CLOCK_SKEW``); the point must be in Mexico (with a hint when lon/lat look
    swapped); the category one of ``categories``; severity 1-5; accuracy >= 0.
    """
    problems: list[Problem] = []
    if not (math.isfinite(lon) and math.isfinite(lat)):
        problems.append(Problem("geometry", "coordinates are missing, NaN or infinite", row))
    elif not in_mexico(lon, lat):
        problems.append(
            Problem(
                "geometry",
                f"point ({lon:.6g}, {lat:.6g}) lies outside Mexico{swapped_hint(lon, lat)}",
                row,
            )
        )
    if observed_at is None:
        problems.append(Problem("observed_at", "is missing", row))
    elif observed_at.tzinfo is None:
        problems.append(
            Problem("observed_at", "needs a time zone, e.g. 2024-05-01T10:30-06:00", row)
        )
    elif not (OFFSET_RANGE_MIN[0] <= (offset_minutes(observed_at) or 0) <= OFFSET_RANGE_MIN[1]):
        problems.append(
            Problem(
                "observed_at",
                f"UTC offset {_offset_text(offset_minutes(observed_at) or 0)} is not a time "
                "zone a clock uses: write one from -12:00 to +14:00",
                row,
            )
        )
    elif observed_at > now + CLOCK_SKEW:
        problems.append(Problem("observed_at", f"{observed_at.isoformat()} is in the future", row))
    if not category:
        problems.append(Problem("category", "is missing", row))
    elif category not in categories:
        problems.append(
            Problem(
                "category",
                f"{category!r} is not a category; one of {', '.join(sorted(categories))}",
                row,
            )
        )
    if severity is None:
        problems.append(Problem("severity", "is missing", row))
    elif not SEVERITY_MIN <= severity <= SEVERITY_MAX:
        problems.append(
            Problem("severity", f"must be {SEVERITY_MIN} to {SEVERITY_MAX}, not {severity}", row)
        )
    if gps_accuracy_m is not None and not (math.isfinite(gps_accuracy_m) and gps_accuracy_m >= 0):
        problems.append(Problem("gps_accuracy_m", "must be a number of metres >= 0", row))
    return problems
