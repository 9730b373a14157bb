"""Features of the public layers (municipalities, metro zones, rivers) as GeoJSON.

GeoJSON geometry is produced by the database (``ST_AsGeoJSON``) rather than
round-tripped through Python geometry objects.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Select, func, select

from geo.errors import NotFound
from layers.schema import metro_zone_members, metro_zones, municipalities, rivers


def _feature(row: dict[str, Any], id_key: str) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k != "geometry"}
    geometry = json.loads(row["geometry"]) if row["geometry"] else None
    return {"type": "Feature", "id": row[id_key], "properties": props, "geometry": geometry}


def _collection(conn: Connection, query: Select[Any], id_key: str, total: int) -> dict[str, Any]:
    features = [_feature(dict(r), id_key) for r in conn.execute(query).mappings()]
    return {
        "type": "FeatureCollection",
        "numberMatched": total,
        "numberReturned": len(features),
        "features": features,
    }


def _municipality_query() -> Select[Any]:
    m = municipalities
    return select(
        m.c.cvegeo,
        m.c.name,
        m.c.state_code,
        m.c.state_name,
        m.c.population,
        m.c.dwellings,
        m.c.version,
        m.c.source,
        m.c.valid_from,
        func.ST_AsGeoJSON(m.c.geom).label("geometry"),
    )


def list_municipalities(
    conn: Connection, *, state: str | None, limit: int, offset: int
) -> dict[str, Any]:
    query = _municipality_query().order_by(municipalities.c.cvegeo).limit(limit).offset(offset)
    count = select(func.count()).select_from(municipalities)
    if state:
        query = query.where(municipalities.c.state_code == state)
        count = count.where(municipalities.c.state_code == state)
    return _collection(conn, query, "cvegeo", int(conn.execute(count).scalar_one()))


def get_municipality(conn: Connection, cvegeo: str) -> dict[str, Any]:
    row = (
        conn.execute(_municipality_query().where(municipalities.c.cvegeo == cvegeo))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no municipality with cvegeo {cvegeo!r}")
    return _feature(dict(row), "cvegeo")


def _zone_query() -> Select[Any]:
    z = metro_zones
    return select(
        z.c.code,
        z.c.name,
        z.c.delimitation_year,
        z.c.kind,
        z.c.source,
        func.ST_AsGeoJSON(z.c.geom).label("geometry"),
    )


def list_metro_zones(
    conn: Connection, *, year: int | None, limit: int, offset: int
) -> dict[str, Any]:
    query = _zone_query().order_by(metro_zones.c.code).limit(limit).offset(offset)
    count = select(func.count()).select_from(metro_zones)
    if year:
        query = query.where(metro_zones.c.delimitation_year == year)
        count = count.where(metro_zones.c.delimitation_year == year)
    return _collection(conn, query, "code", int(conn.execute(count).scalar_one()))


def get_metro_zone(conn: Connection, code: str) -> dict[str, Any]:
    row = conn.execute(_zone_query().where(metro_zones.c.code == code)).mappings().first()
    if row is None:
        raise NotFound(f"no metro zone with code {code!r}")
    feature = _feature(dict(row), "code")
    feature["properties"]["members"] = [
        dict(m)
        for m in conn.execute(
            select(metro_zone_members.c.cvegeo, metro_zone_members.c.member_name.label("name"))
            .where(metro_zone_members.c.zone_code == code)
            .order_by(metro_zone_members.c.cvegeo)
        ).mappings()
    ]
    return feature


def _river_query() -> Select[Any]:
    r = rivers
    return select(
        r.c.id,
        r.c.key,
        r.c.name,
        r.c.source,
        r.c.federal_zone_width_m,
        func.ST_AsGeoJSON(r.c.geom).label("geometry"),
    )


def list_rivers(conn: Connection, *, name: str | None, limit: int, offset: int) -> dict[str, Any]:
    query = _river_query().order_by(rivers.c.name, rivers.c.id).limit(limit).offset(offset)
    count = select(func.count()).select_from(rivers)
    if name:
        query = query.where(rivers.c.name == name)
        count = count.where(rivers.c.name == name)
    return _collection(conn, query, "id", int(conn.execute(count).scalar_one()))


def get_river(conn: Connection, river_id: int) -> dict[str, Any]:
    row = conn.execute(_river_query().where(rivers.c.id == river_id)).mappings().first()
    if row is None:
        raise NotFound(f"no river with id {river_id}")
    return _feature(dict(row), "id")
