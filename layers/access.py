"""The row scopes of ``geo.access`` as SQL: the one place a caller's reach becomes a
``WHERE`` condition, for lists, collections, exports and single rows alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, false, or_, select

from geo.access import Reach, RowScope, allows
from layers.schema import claims, disputed_zone_parties, disputed_zones, inspections


def row_condition(table: Table, rows: RowScope | None) -> ColumnElement[bool] | None:
    """The condition that keeps only the rows of ``table`` that ``rows`` reaches;
    ``None`` when it reaches them all.

    Raises:
        ValueError: a scope that names the caller's municipality on a table that has
            none (a programming error: the specification and this mapping disagree).
    """
    if rows is None or rows.reach is Reach.all:
        return None
    if rows.reach is Reach.none:
        return false()
    if table is disputed_zones and rows.reach is Reach.party:
        return disputed_zones.c.id.in_(
            select(disputed_zone_parties.c.zone_id).where(
                disputed_zone_parties.c.cvegeo == rows.cvegeo
            )
        )
    if table is inspections and rows.reach is Reach.municipality:
        return inspections.c.municipality_cvegeo == rows.cvegeo
    if table is inspections and rows.reach is Reach.own_or_municipality:
        return or_(
            inspections.c.recorded_by == rows.user_name,
            inspections.c.municipality_cvegeo == rows.cvegeo,
        )
    if table is claims and rows.reach is Reach.municipality:
        return claims.c.cvegeo == rows.cvegeo
    raise ValueError(f"no row condition for {rows.reach} on {table.name}")


def zone_reached(conn: Connection, zone_id: int, rows: RowScope) -> bool:
    """Whether the zone ``zone_id`` is within ``rows`` (False also when it does not exist
    and the scope is not ``all``: the caller cannot tell the two apart)."""
    if rows.reach is Reach.all:
        return True
    parties = conn.execute(
        select(disputed_zone_parties.c.cvegeo).where(disputed_zone_parties.c.zone_id == zone_id)
    ).scalars()
    return allows(rows, parties=list(parties))


def inspection_reached(conn: Connection, inspection_id: str, rows: RowScope) -> bool:
    """Whether the inspection is within ``rows`` (see :func:`zone_reached`)."""
    if rows.reach is Reach.all:
        return True
    row: Any = conn.execute(
        select(inspections.c.municipality_cvegeo, inspections.c.recorded_by).where(
            inspections.c.id == inspection_id
        )
    ).first()
    return row is not None and allows(
        rows, cvegeo=row.municipality_cvegeo, recorded_by=row.recorded_by
    )
