"""Disputed zones as the commission reads them: lists, one zone with what lies in it,
its geometry history and its case file.

Writes are in ``zone_edits`` (registering, editing, moving status, appending to the
case file) and ``decisions`` (dividing a zone between its parties).
"""

from __future__ import annotations

import json
from typing import Any, Literal, overload

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from geo.access import RowScope
from geo.disputes import CLOSED, official_line
from geo.errors import NotFound, Problem
from geo.measures import population_inside
from geo.metric import to_lonlat, to_metric
from layers.access import row_condition
from layers.claims import official_geometries
from layers.dialects import bbox_candidates
from layers.disputes.rows import (
    CaseEventRow,
    GeometryRevision,
    InspectionInside,
    LocalityInside,
    OfficialLine,
    Party,
    Zone,
    ZoneDetail,
    ZoneFields,
    ZoneSummary,
)
from layers.geometry_io import from_db
from layers.schema import (
    case_events,
    disputed_zone_geometries,
    disputed_zone_parties,
    disputed_zones,
    inspections,
    localities,
    municipalities,
)

_z = disputed_zones.c
#: a locality sharing less than this with a zone only touches it
LOCALITY_MIN_M2 = 1.0


def _row(conn: Connection, zone_id: int) -> Any:
    row = conn.execute(select(disputed_zones).where(_z.id == zone_id)).first()
    if row is None:
        raise NotFound(f"no disputed zone {zone_id}", problems=[Problem("zone_id", "unknown")])
    return row


def _parties(conn: Connection, zone_id: int) -> list[Party]:
    rows = conn.execute(
        select(
            disputed_zone_parties.c.cvegeo,
            municipalities.c.name,
            disputed_zone_parties.c.claim_id,
        )
        .join(municipalities, municipalities.c.cvegeo == disputed_zone_parties.c.cvegeo)
        .where(disputed_zone_parties.c.zone_id == zone_id)
        .order_by(disputed_zone_parties.c.cvegeo)
    )
    return [Party(cvegeo=r.cvegeo, name=r.name, claim_id=r.claim_id) for r in rows]


_SUMMARY = (
    _z.id,
    _z.name,
    _z.kind,
    _z.status,
    _z.parties_key,
    _z.scope,
    _z.area_m2,
    _z.area_ha,
    _z.perimeter_m,
    _z.contested_length_m,
    _z.version,
    _z.geom_revision,
    _z.detection_run_id,
    _z.created_by,
    _z.created_at,
    _z.updated_at,
    _z.closed_at,
    _z.notes,
)


def _fields(row: Any) -> ZoneFields:
    """The ``_SUMMARY`` columns of a zone row but ``parties_key``, in their order."""
    return ZoneFields(
        id=row.id,
        name=row.name,
        kind=row.kind,
        status=row.status,
        scope=row.scope,
        area_m2=row.area_m2,
        area_ha=row.area_ha,
        perimeter_m=row.perimeter_m,
        contested_length_m=row.contested_length_m,
        version=row.version,
        geom_revision=row.geom_revision,
        detection_run_id=row.detection_run_id,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        notes=row.notes,
    )


def _summary(row: Any) -> ZoneSummary:
    return ZoneSummary(
        **_fields(row),
        parties=row.parties_key.split(",") if row.parties_key else [],
    )


def list_zones(
    conn: Connection,
    *,
    status: str | None = None,
    kind: str | None = None,
    cvegeo: str | None = None,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
    rows: RowScope | None = None,
) -> list[ZoneSummary]:
    """Zones, largest first, without geometry (the OGC collection serves that); only
    those ``rows`` reaches (``geo.access``)."""
    query = select(*_SUMMARY).order_by(_z.area_m2.desc(), _z.id).limit(limit).offset(offset)
    reached = row_condition(disputed_zones, rows)
    if reached is not None:
        query = query.where(reached)
    if status:
        query = query.where(_z.status == status)
    if kind:
        query = query.where(_z.kind == kind)
    if open_only:
        query = query.where(_z.status.not_in([s.value for s in CLOSED]))
    if cvegeo:
        query = query.where(
            _z.id.in_(
                select(disputed_zone_parties.c.zone_id).where(
                    disputed_zone_parties.c.cvegeo == cvegeo
                )
            )
        )
    return [_summary(r) for r in conn.execute(query)]


@overload
def get_zone(conn: Connection, zone_id: int, *, detail: Literal[True] = ...) -> ZoneDetail: ...
@overload
def get_zone(conn: Connection, zone_id: int, *, detail: Literal[False]) -> Zone: ...
def get_zone(conn: Connection, zone_id: int, *, detail: bool = True) -> Zone | ZoneDetail:
    """A zone with its parties, geometry and, with ``detail``, what lies in it.

    Detail: the localities that intersect it (with the share of each inside), the
    inspection points inside, and the official line through it (GeoJSON + length).
    """
    row = _row(conn, zone_id)
    geom = from_db(row.geom)
    assert geom is not None
    zone = Zone(
        **_fields(row),
        parties=_parties(conn, zone_id),
        geometry=shapely.geometry.mapping(shapely.orient_polygons(geom)),  # RFC 7946
    )
    if not detail:
        return zone
    zone_m = to_metric(geom)
    official = official_geometries(conn, [p["cvegeo"] for p in zone["parties"]])
    official_m = dict(zip(official, to_metric(np.array(list(official.values()))), strict=True))
    line = official_line(zone_m, list(official_m.values()))
    localities = localities_in(conn, geom, zone_m)
    return ZoneDetail(
        **zone,
        official_line=OfficialLine(
            length_m=round(float(line.length), 2),
            geometry=shapely.geometry.mapping(to_lonlat(line)) if not line.is_empty else None,
        ),
        localities=localities,
        population_estimate=population_inside(localities),
        inspections=_inspections(conn, zone_id, geom),
        case_events=conn.execute(
            select(func.count()).select_from(case_events).where(case_events.c.zone_id == zone_id)
        ).scalar_one(),
    )


def localities_in(
    conn: Connection, geom: BaseGeometry, zone_m: BaseGeometry
) -> list[LocalityInside]:
    """The localities that share area with a zone (``geom`` in lon/lat, ``zone_m`` the
    same in EPSG:6372), each with the area and the share of it inside, largest first."""
    rows = conn.execute(
        select(
            localities.c.cvegeo,
            localities.c.name,
            localities.c.municipality_cvegeo,
            localities.c.population,
            localities.c.geom,
        ).where(bbox_candidates(conn.dialect, localities, geom.bounds))
    ).all()
    if not rows:
        return []
    shapes = to_metric(np.array([from_db(r.geom) for r in rows], dtype=object))
    inside = shapely.area(shapely.intersection(shapes, zone_m))
    out: list[LocalityInside] = []
    for r, shape, area_in in zip(rows, shapes, inside, strict=True):
        if area_in < LOCALITY_MIN_M2:  # touching along an edge, or float noise
            continue
        out.append(
            LocalityInside(
                cvegeo=r.cvegeo,
                name=r.name,
                municipality=r.municipality_cvegeo,
                population=r.population,
                area_inside_m2=round(float(area_in), 2),
                share_inside=round(float(area_in / shape.area), 4),
            )
        )
    return sorted(out, key=lambda d: -d["area_inside_m2"])


def _inspections(conn: Connection, zone_id: int, geom: BaseGeometry) -> list[InspectionInside]:
    zone_geom = select(_z.geom).where(_z.id == zone_id).scalar_subquery()
    rows = conn.execute(
        select(
            inspections.c.id,
            inspections.c.observed_at,
            inspections.c.category,
            inspections.c.severity,
            func.ST_X(inspections.c.geom).label("lon"),
            func.ST_Y(inspections.c.geom).label("lat"),
        )
        .where(
            bbox_candidates(conn.dialect, inspections, geom.bounds),
            func.ST_Intersects(inspections.c.geom, zone_geom),
        )
        .order_by(inspections.c.observed_at)
    )
    return [
        InspectionInside(
            id=r.id,
            observed_at=r.observed_at,
            category=r.category,
            severity=r.severity,
            lon=r.lon,
            lat=r.lat,
        )
        for r in rows
    ]


def geometry_history(conn: Connection, zone_id: int) -> list[GeometryRevision]:
    _row(conn, zone_id)
    t = disputed_zone_geometries.c
    rows = conn.execute(
        select(
            t.revision,
            t.change,
            t.detection_run_id,
            t.recorded_by,
            t.recorded_at,
            t.area_m2,
            t.gained_m2,
            t.lost_m2,
            func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(t.geom)).label("geometry"),
        )
        .where(t.zone_id == zone_id)
        .order_by(t.revision)
    )
    return [
        GeometryRevision(
            revision=r.revision,
            change=r.change,
            detection_run_id=r.detection_run_id,
            recorded_by=r.recorded_by,
            recorded_at=r.recorded_at,
            area_m2=r.area_m2,
            gained_m2=r.gained_m2,
            lost_m2=r.lost_m2,
            geometry=json.loads(r.geometry) if r.geometry else None,
        )
        for r in rows
    ]


def list_events(conn: Connection, zone_id: int) -> list[CaseEventRow]:
    _row(conn, zone_id)
    t = case_events.c
    rows = conn.execute(
        select(
            t.id,
            t.kind,
            t.occurred_at,
            t.recorded_by,
            t.recorded_at,
            t.summary,
            t.details,
            t.zone_version,
            func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(t.geom)).label("geometry"),
        )
        .where(t.zone_id == zone_id)
        .order_by(t.id)
    )
    return [_with_measures(r) for r in rows]


def _with_measures(row: Any) -> CaseEventRow:
    """A case event as read, with the area (m²) or length (m) of its geometry in
    EPSG:6372, so a proposal shows how much land it draws."""
    out = CaseEventRow(
        id=row.id,
        kind=row.kind,
        occurred_at=row.occurred_at,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        summary=row.summary,
        details=json.loads(row.details) if row.details else None,
        zone_version=row.zone_version,
        geometry=json.loads(row.geometry) if row.geometry else None,
        area_m2=None,
        length_m=None,
    )
    if out["geometry"] is not None:
        shape = to_metric(shapely.geometry.shape(out["geometry"]))
        if shape.area > 0:
            out["area_m2"] = round(float(shape.area), 2)
        else:
            out["length_m"] = round(float(shape.length), 2)
    return out
