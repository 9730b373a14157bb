"""Metro zones: their derived geometry and the queries about them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from geo.dissolve import dissolve
from layers.geometry_io import from_db, to_db
from layers.schema import metro_zone_members, metro_zones, municipalities


def refresh_geometries(conn: Connection, zone_codes: Iterable[str] | None = None) -> int:
    """Recompute each zone's outline as the union of its member municipalities present.

    Args:
        zone_codes: the zones to refresh; ``None`` refreshes every zone.

    Returns:
        How many zones were refreshed. A zone with no member imported yet gets NULL.
    """
    codes = (
        sorted(set(zone_codes))
        if zone_codes is not None
        else list(conn.execute(select(metro_zones.c.code)).scalars())
    )
    for code in codes:
        rows = conn.execute(
            select(municipalities.c.geom)
            .join(metro_zone_members, metro_zone_members.c.cvegeo == municipalities.c.cvegeo)
            .where(metro_zone_members.c.zone_code == code)
        ).scalars()
        shapes = [g for g in (from_db(r) for r in rows) if g is not None]
        outline = dissolve(shapes)
        conn.execute(
            update(metro_zones)
            .where(metro_zones.c.code == code)
            .values(geom=to_db([outline])[0] if outline is not None else None)
        )
    return len(codes)


def zones_with_members(conn: Connection, cvegeos: Iterable[str]) -> set[str]:
    keys = list(set(cvegeos))
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            conn.execute(
                select(metro_zone_members.c.zone_code).where(
                    metro_zone_members.c.cvegeo.in_(keys[start : start + 500])
                )
            ).scalars()
        )
    return found
