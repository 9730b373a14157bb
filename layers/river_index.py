"""The rivers a person picks from: each line's length (km, in EPSG:6372) and the states
whose loaded municipalities it crosses, found by the database's own ``ST_Intersects``."""

from __future__ import annotations

import shapely
from sqlalchemy import Connection, func, select

from geo.metric import to_metric
from geo.river_names import RiverEntry, matches
from layers.dialects import one_of
from layers.geometry_io import from_db
from layers.schema import municipalities, rivers


def river_entries(conn: Connection, query: str = "", limit: int | None = None) -> list[RiverEntry]:
    """Rivers whose name or key matches ``query`` (every word, accents and case folded),
    at most ``limit`` of them (by name), with their length and states."""
    rows = conn.execute(
        select(rivers.c.id, rivers.c.key, rivers.c.name).order_by(rivers.c.name, rivers.c.id)
    ).all()
    chosen = [(r.id, r.key, r.name or r.key) for r in rows if matches(query, r.name or "", r.key)]
    if limit is not None:
        chosen = chosen[:limit]
    if not chosen:
        return []
    ids = [rid for rid, _, _ in chosen]
    geoms = {
        rid: from_db(geom)
        for rid, geom in conn.execute(
            select(rivers.c.id, rivers.c.geom).where(one_of(conn.dialect, rivers.c.id, ids))
        )
    }
    lengths = {
        rid: float(shapely.length(to_metric(g))) / 1000 if g is not None else 0.0
        for rid, g in geoms.items()
    }
    states: dict[int, set[str]] = {}
    crossed = (
        select(rivers.c.id, municipalities.c.state_name)
        .distinct()
        .select_from(rivers)
        .join(municipalities, func.ST_Intersects(rivers.c.geom, municipalities.c.geom))
        .where(one_of(conn.dialect, rivers.c.id, ids))
    )
    for rid, state in conn.execute(crossed):
        if state:
            states.setdefault(rid, set()).add(state)
    return [
        RiverEntry(
            rid, key, name, round(lengths.get(rid, 0.0), 1), tuple(sorted(states.get(rid, ())))
        )
        for rid, key, name in chosen
    ]
