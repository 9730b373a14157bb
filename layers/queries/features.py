"""Features of the public layers (municipalities, metro zones, rivers) as GeoJSON.

GeoJSON geometry is produced by the database (``ST_AsGeoJSON``) rather than
round-tripped through Python geometry objects.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, func, select

from geo.errors import NotFound
from layers.schema import metro_zone_members, metro_zones, municipalities, rivers


def _feature(row: dict[str, Any], id_key: str) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k != "geometry"}
    geometry = json.loads(row["geometry"]) if row["geometry"] else None
    return {"type": "Feature", "id": row[id_key], "properties": props, "geometry": geometry}


def _page(
    conn: Connection,
    query: Select[Any],
    table: Table,
    condition: ColumnElement[bool] | None,
    order: list[Any],
    id_key: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of a layer as a FeatureCollection, with the total count of matches."""
    count = select(func.count()).select_from(table)
    if condition is not None:
        query, count = query.where(condition), count.where(condition)
    rows = conn.execute(query.order_by(*order).limit(limit).offset(offset)).mappings()
    features = [_feature(dict(r), id_key) for r in rows]
    return {
        "type": "FeatureCollection",
        "numberMatched": int(conn.execute(count).scalar_one()),
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
    m = municipalities
    condition = m.c.state_code == state if state else None
    return _page(conn, _municipality_query(), m, condition, [m.c.cvegeo], "cvegeo", limit, offset)


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
    z = metro_zones
    condition = z.c.delimitation_year == year if year else None
    return _page(conn, _zone_query(), z, condition, [z.c.code], "code", limit, offset)


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
    r = rivers
    condition = r.c.name == name if name else None
    return _page(conn, _river_query(), r, condition, [r.c.name, r.c.id], "id", limit, offset)


def get_river(conn: Connection, river_id: int) -> dict[str, Any]:
    row = conn.execute(_river_query().where(rivers.c.id == river_id)).mappings().first()
    if row is None:
        raise NotFound(f"no river with id {river_id}")
    return _feature(dict(row), "id")
