"""The features a map needs, read as GeoDataFrames (EPSG:4326) for ``maps/``' builders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Select, case, func, select

from layers import dialects
from layers.geometry_io import from_db
from layers.schema import (
    claims,
    disputed_zone_parties,
    disputed_zones,
    inspections,
    localities,
    metro_zone_members,
    metro_zones,
    municipalities,
    rivers,
)

if TYPE_CHECKING:  # imported where a frame is made: listing the choices needs none
    import geopandas as gpd


def _frame(conn: Connection, query: Select[Any]) -> gpd.GeoDataFrame:
    rows = conn.execute(query).mappings().all()
    columns = [c for c in query.selected_columns.keys() if c != "geom"]  # noqa: SIM118
    records = [{c: row[c] for c in columns} for row in rows]
    geoms = [from_db(row["geom"]) for row in rows]
    import geopandas as gpd

    return gpd.GeoDataFrame(records, columns=columns, geometry=geoms, crs=4326)


class MetroZoneInfo(TypedDict):
    """A metro zone as its map describes it."""

    code: str
    name: str
    delimitation_year: int
    kind: str
    source: str
    member_count: int  # members listed, imported or not


def metro_zone(conn: Connection, code: str) -> MetroZoneInfo | None:
    """A metro zone's description, with ``member_count`` (members listed, imported or not)."""
    row = conn.execute(
        select(
            metro_zones.c.code,
            metro_zones.c.name,
            metro_zones.c.delimitation_year,
            metro_zones.c.kind,
            metro_zones.c.source,
        ).where(metro_zones.c.code == code)
    ).first()
    if row is None:
        return None
    count = conn.execute(
        select(metro_zone_members.c.cvegeo).where(metro_zone_members.c.zone_code == code)
    ).all()
    return MetroZoneInfo(
        code=row.code,
        name=row.name,
        delimitation_year=row.delimitation_year,
        kind=row.kind,
        source=row.source,
        member_count=len(count),
    )


def metro_zone_municipalities(conn: Connection, code: str) -> gpd.GeoDataFrame:
    """The current official polygons of a zone's member municipalities that are imported."""
    m = municipalities.c
    query = (
        select(m.cvegeo, m.name, m.population, m.source, m.geom)
        .join(metro_zone_members, metro_zone_members.c.cvegeo == m.cvegeo)
        .where(metro_zone_members.c.zone_code == code)
        .order_by(m.cvegeo)
    )
    return _frame(conn, query)


def river(conn: Connection, river_id: int) -> tuple[dict[str, Any], gpd.GeoDataFrame] | None:
    """A river's description and its line, or ``None`` when there is no such river."""
    r = rivers.c
    query = select(r.id, r.key, r.name, r.source, r.federal_zone_width_m, r.geom).where(
        r.id == river_id
    )
    frame = _frame(conn, query)
    if frame.empty:
        return None
    info = frame.drop(columns="geometry").iloc[0].to_dict()
    return info, frame[["geometry"]]


def rivers_in_bbox(conn: Connection, bbox: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """The rivers whose line meets a lon/lat box (``name``, ``federal_zone_width_m``)."""
    r = rivers.c
    query = (
        select(r.id, r.name, r.federal_zone_width_m, r.geom)
        .where(dialects.intersects_bbox(conn.dialect, rivers, bbox))
        .order_by(r.id)
    )
    return _frame(conn, query)


def inspections_in_bbox(
    conn: Connection,
    bbox: tuple[float, float, float, float],
    observed_from: datetime | None = None,
    observed_to: datetime | None = None,
) -> gpd.GeoDataFrame:
    """Inspection points inside a lon/lat box, optionally within an observation period."""
    i = inspections.c
    query = (
        select(i.id, i.observed_at, i.category, i.severity, i.description, i.source, i.geom)
        .where(dialects.intersects_bbox(conn.dialect, inspections, bbox))
        .order_by(i.observed_at, i.id)
    )
    if observed_from is not None:
        query = query.where(i.observed_at >= observed_from)
    if observed_to is not None:
        query = query.where(i.observed_at <= observed_to)
    return _frame(conn, query)


class DisputeZoneInfo(TypedDict):
    id: int
    name: str | None
    status: str
    kind: str
    area_ha: float


@dataclass(frozen=True)
class DisputeFeatures:
    """What the commission's map of a disputed zone shows: the zone's description and,
    each a GeoDataFrame in lon/lat, its polygon (``area``), the parties' official
    polygons, each party's claim in force, and the localities and inspections meeting it."""

    zone: DisputeZoneInfo
    area: gpd.GeoDataFrame
    official: gpd.GeoDataFrame
    claims: gpd.GeoDataFrame
    localities: gpd.GeoDataFrame
    inspections: gpd.GeoDataFrame


def dispute(conn: Connection, zone_id: int) -> DisputeFeatures | None:
    """What the commission's map of a disputed zone shows, or ``None`` for no such zone."""
    z = disputed_zones.c
    zone = _frame(
        conn,
        select(z.id, z.name, z.status, z.kind, z.area_ha, z.geom).where(z.id == zone_id),
    )
    if zone.empty:
        return None
    shape = zone.geometry.iloc[0]
    minx, miny, maxx, maxy = (float(v) for v in shape.bounds)
    bbox = (minx, miny, maxx, maxy)
    parties = list(
        conn.execute(
            select(disputed_zone_parties.c.cvegeo)
            .where(disputed_zone_parties.c.zone_id == zone_id)
            .order_by(disputed_zone_parties.c.cvegeo)
        ).scalars()
    )
    m, c, loc, i = municipalities.c, claims.c, localities.c, inspections.c
    official = _frame(
        conn,
        select(m.cvegeo, m.name, m.source, m.geom).where(m.cvegeo.in_(parties)).order_by(m.cvegeo),
    )
    in_force = _frame(
        conn,
        select(
            c.cvegeo,
            m.name.label("municipality"),
            c.version,
            c.source,
            c.source_reference,
            c.geom,
        )
        .join(municipalities, m.cvegeo == c.cvegeo)
        .where(c.cvegeo.in_(parties), c.valid_to.is_(None))
        .order_by(c.cvegeo),
    )
    places = _frame(
        conn,
        select(loc.cvegeo, loc.name, loc.population, loc.geom)
        .where(dialects.intersects_bbox(conn.dialect, localities, bbox))
        .order_by(loc.cvegeo),
    )
    points = _frame(
        conn,
        select(i.id, i.observed_at, i.category, i.severity, i.description, i.source, i.geom)
        .where(dialects.intersects_bbox(conn.dialect, inspections, bbox))
        .order_by(i.observed_at, i.id),
    )
    # the boxes were candidates; keep what really meets the zone
    places = places[places.intersects(shape) & ~places.touches(shape)]
    points = points[points.intersects(shape)]
    info = zone.drop(columns="geometry").iloc[0]
    return DisputeFeatures(
        zone=DisputeZoneInfo(
            id=int(info["id"]),
            name=info["name"],
            status=str(info["status"]),
            kind=str(info["kind"]),
            area_ha=float(info["area_ha"]),
        ),
        area=zone[["geometry"]],
        official=official,
        claims=in_force,
        localities=places,
        inspections=points,
    )


def map_choices(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """What the maps page offers: every metro zone (those with municipalities imported
    first, ``loaded``) and every river, by name."""
    loaded = metro_zones.c.geom.is_not(None)
    zones = conn.execute(
        select(
            metro_zones.c.code,
            metro_zones.c.name,
            metro_zones.c.delimitation_year,
            loaded.label("loaded"),
        ).order_by(
            # zones with municipalities to draw first
            case((loaded, 0), else_=1),
            metro_zones.c.delimitation_year.desc(),
            metro_zones.c.name,
        )
    ).mappings()
    river_rows = conn.execute(
        select(rivers.c.id, rivers.c.key, rivers.c.name).order_by(rivers.c.name, rivers.c.id)
    ).mappings()
    return {"metro_zones": [dict(z) for z in zones], "rivers": [dict(r) for r in river_rows]}


#: degrees kept by a state's outline for a locator inset (~500 m): an inset is 150 px wide
INSET_TOLERANCE_DEG = 0.005


def state_codes_in_bbox(conn: Connection, bbox: tuple[float, float, float, float]) -> list[str]:
    """The states (INEGI codes) of the loaded municipalities that meet a lon/lat box."""
    m = municipalities.c
    rows = conn.execute(
        select(m.state_code)
        .distinct()
        .where(dialects.intersects_bbox(conn.dialect, municipalities, bbox))
        .order_by(m.state_code)
    )
    return [code for (code,) in rows if code]


def state_outline(conn: Connection, state_codes: list[str]) -> tuple[str, BaseGeometry | None]:
    """The states' names ("Oaxaca", "Oaxaca y Puebla") and their outline for a locator
    inset: the loaded municipalities of those states, simplified in the database and
    merged; ``None`` when none is loaded."""
    if not state_codes:
        return "", None
    m = municipalities.c
    simple = func.ST_AsBinary(func.ST_SimplifyPreserveTopology(m.geom, INSET_TOLERANCE_DEG))
    rows = conn.execute(
        select(m.state_name, simple).where(dialects.one_of(conn.dialect, m.state_code, state_codes))
    ).all()
    if not rows:
        return "", None
    names = sorted({name for name, _ in rows if name})
    geoms = shapely.make_valid(shapely.from_wkb([bytes(wkb) for _, wkb in rows if wkb is not None]))
    outline = shapely.union_all(shapely.buffer(geoms, 0.0005))  # closes slivers between them
    label = " y ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)
    return label, outline
