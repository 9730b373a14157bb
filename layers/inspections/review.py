"""The supervisors' view of inspections: one filter, as SQL, for the list, the counts,
the exports and the photo ZIP, always inside the caller's row scope.

The filter is a :class:`ReviewFilter` (checked by ``services.review``); every value
reaches the database as a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select, true

from geo.access import RowScope
from layers.access import row_condition
from layers.dialects import as_wkb
from layers.schema import inspection_photos, inspections, municipalities, rivers

_i = inspections.c

#: what a row of the list, the exports and the ZIP carries (besides id and geometry)
COLUMNS = (
    "observed_at",
    "category",
    "severity",
    "description",
    "gps_accuracy_m",
    "inspector",
    "review_status",
    "follow_up_status",
    "referred_to",
    "municipality_cvegeo",
    "municipality_name",
    "disputed_zone_id",
    "dispute",
    "river_id",
    "river_name",
    "chainage_m",
    "river_distance_m",
    "bank_side",
    "in_federal_zone",
    "version",
)


@dataclass(frozen=True)
class ReviewFilter:
    """What the supervisor narrowed the inspections to; ``None``: no condition."""

    river_id: int | None = None
    chainage_min_m: float | None = None
    chainage_max_m: float | None = None
    municipality_cvegeo: str | None = None
    disputed_zone_id: int | None = None
    category: str | None = None
    severity_min: int | None = None
    observed_from: datetime | None = None
    observed_to: datetime | None = None
    review_status: str | None = None
    follow_up_status: str | None = None
    inspector: str | None = None


def conditions(f: ReviewFilter, rows: RowScope) -> list[ColumnElement[bool]]:
    """The ``WHERE`` conditions of ``f`` and of the caller's scope ``rows``."""
    out: list[ColumnElement[bool]] = []
    scoped = row_condition(inspections, rows)
    if scoped is not None:
        out.append(scoped)
    equal = {
        "river_id": f.river_id,
        "municipality_cvegeo": f.municipality_cvegeo,
        "disputed_zone_id": f.disputed_zone_id,
        "category": f.category,
        "review_status": f.review_status,
        "follow_up_status": f.follow_up_status,
        "inspector": f.inspector,
    }
    out.extend(_i[name] == value for name, value in equal.items() if value is not None)
    if f.chainage_min_m is not None:
        out.append(_i.chainage_m >= f.chainage_min_m)
    if f.chainage_max_m is not None:
        out.append(_i.chainage_m <= f.chainage_max_m)
    if f.severity_min is not None:
        out.append(_i.severity >= f.severity_min)
    if f.observed_from is not None:
        out.append(_i.observed_at >= f.observed_from)
    if f.observed_to is not None:
        out.append(_i.observed_at < f.observed_to)
    return out


def _where(f: ReviewFilter, rows: RowScope) -> ColumnElement[bool]:
    return and_(true(), *conditions(f, rows))


def listing(
    conn: Connection, f: ReviewFilter, rows: RowScope, *, limit: int
) -> tuple[list[dict[str, Any]], int, dict[str, dict[str, int]]]:
    """(the first ``limit`` inspections, newest first, each with lon, lat and its
    photos' SHA-256; how many match in all; counts per review and follow-up status)."""
    where = _where(f, rows)
    found = conn.execute(
        select(
            _i.id,
            func.ST_X(_i.geom).label("lon"),
            func.ST_Y(_i.geom).label("lat"),
            *(_i[name] for name in COLUMNS),
        )
        .where(where)
        .order_by(_i.observed_at.desc(), _i.id)
        .limit(limit)
    ).mappings()
    items = [dict(r) for r in found]
    photos = photos_of(conn, [r["id"] for r in items])
    for item in items:
        item["photos"] = [sha for sha, _media, _size in photos.get(item["id"], [])]
    counts: dict[str, dict[str, int]] = {"review_status": {}, "follow_up_status": {}}
    for name in counts:
        for value, n in conn.execute(
            select(_i[name], func.count()).where(where).group_by(_i[name])
        ):
            counts[name][value] = int(n)
    total = sum(counts["review_status"].values())
    return items, total, counts


def photos_of(conn: Connection, ids: list[str]) -> dict[str, list[tuple[str, str, int]]]:
    """Inspection id -> [(sha256, media type, size in bytes)], in SHA-256 order."""
    out: dict[str, list[tuple[str, str, int]]] = {}
    p = inspection_photos.c
    for start in range(0, len(ids), 500):
        for inspection_id, sha, media, size in conn.execute(
            select(p.inspection_id, p.sha256, p.media_type, p.size_bytes)
            .where(p.inspection_id.in_(ids[start : start + 500]))
            .order_by(p.inspection_id, p.sha256)
        ):
            out.setdefault(inspection_id, []).append((sha, media, int(size)))
    return out


def photo_bytes_total(conn: Connection, f: ReviewFilter, rows: RowScope) -> tuple[int, int]:
    """(how many photos, their total size in bytes) of the inspections ``f`` matches."""
    p = inspection_photos.c
    count, size = conn.execute(
        select(func.count(), func.coalesce(func.sum(p.size_bytes), 0))
        .select_from(inspection_photos.join(inspections, p.inspection_id == _i.id))
        .where(_where(f, rows))
    ).one()
    return int(count), int(size)


def export_rows(
    conn: Connection, f: ReviewFilter, rows: RowScope
) -> Iterator[tuple[str, dict[str, Any], bytes | None]]:
    """``(id, properties, WKB in EPSG:4326)`` of every inspection ``f`` matches, oldest
    first, read lazily."""
    result = conn.execution_options(yield_per=1000).execute(
        select(_i.id, *(_i[name] for name in COLUMNS), as_wkb(conn.dialect, _i.geom, 4326))
        .where(_where(f, rows))
        .order_by(_i.observed_at, _i.id)
    )
    for row in result:
        values = tuple(row)
        yield values[0], dict(zip(COLUMNS, values[1:-1], strict=True)), values[-1]


def choices(conn: Connection, rows: RowScope) -> dict[str, list[dict[str, Any]]]:
    """The values the filters offer, from the inspections the caller reaches:
    rivers, municipalities, disputed zones and inspectors."""
    where = and_(true(), *conditions(ReviewFilter(), rows))
    river_rows = conn.execute(
        select(rivers.c.id, rivers.c.name)
        .where(rivers.c.id.in_(select(_i.river_id).where(where)))
        .order_by(rivers.c.name, rivers.c.id)
    ).all()
    municipality_rows = conn.execute(
        select(municipalities.c.cvegeo, municipalities.c.name).order_by(municipalities.c.name)
    ).all()
    zone_rows = conn.execute(
        select(_i.disputed_zone_id, func.max(_i.dispute))
        .where(where, _i.disputed_zone_id.is_not(None))
        .group_by(_i.disputed_zone_id)
        .order_by(_i.disputed_zone_id)
    ).all()
    inspector_rows = conn.execute(
        select(_i.inspector).where(where).distinct().order_by(_i.inspector)
    ).scalars()
    return {
        "rivers": [{"id": r.id, "name": r.name} for r in river_rows],
        "municipalities": [{"cvegeo": m.cvegeo, "name": m.name} for m in municipality_rows],
        "disputed_zones": [{"id": z[0], "name": z[1]} for z in zone_rows],
        "inspectors": list(inspector_rows),
    }
