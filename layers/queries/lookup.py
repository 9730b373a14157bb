"""``/lookup``: what Linde knows about one point."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypedDict

from sqlalchemy import Connection, Engine, Float, Select, bindparam, func, literal_column, select
from sqlalchemy.engine import Dialect

from layers import audit
from layers.claims import in_force
from layers.dialects import intersects_point, json_rows
from layers.engine import AsyncReader, DriverStatement, on_read_connection
from layers.inspections.reference_layers import (
    CLOSED_DISPUTE_STATUSES,
    RiverAt,
    RiverSet,
    cached_rivers,
    dispute_text,
    held_rivers,
    river_at,
)
from layers.schema import (
    claims,
    disputed_zone_parties,
    disputed_zones,
    layer_versions,
    metro_zone_members,
    metro_zones,
    municipalities,
)


@lru_cache(maxsize=4)
def _driver_statement(dialect: Dialect) -> DriverStatement:
    """The lookup compiled once per dialect, run on the driver (see ``DriverStatement``)."""
    return DriverStatement(_statement(dialect), dialect)


@lru_cache(maxsize=4)
def _statement(dialect: Dialect) -> Select[Any]:
    """The whole lookup as one statement, built once per dialect and run with bound values.

    The municipalities at the point, the metro zones of the first of them and the
    claims in force there come back as three JSON arrays in one row: one round trip
    instead of three (``/lookup`` is the hottest route; each round trip with its
    SQLAlchemy overhead cost about a fifth of a request). Building a statement costs
    more than running it, so it is built once and only bound.
    """
    lon: Any = bindparam("lon", type_=Float)
    lat: Any = bindparam("lat", type_=Float)
    at: Any = bindparam("at", type_=claims.c.valid_from.type)
    found = (
        select(
            municipalities.c.cvegeo,
            municipalities.c.name,
            municipalities.c.state_code,
            municipalities.c.state_name,
            municipalities.c.version,
        )
        .where(intersects_point(dialect, municipalities, lon, lat))
        .cte("found")
    )
    first_found = select(func.min(found.c.cvegeo)).scalar_subquery()
    zones = (
        select(
            metro_zones.c.code,
            metro_zones.c.name,
            metro_zones.c.delimitation_year,
            metro_zones.c.kind,
        )
        .join(metro_zone_members, metro_zone_members.c.zone_code == metro_zones.c.code)
        .where(metro_zone_members.c.cvegeo == first_found)
    )
    in_claims = (
        select(
            claims.c.id,
            claims.c.cvegeo,
            municipalities.c.name.label("municipality"),
            claims.c.version,
            claims.c.source,
            claims.c.source_reference,
            claims.c.valid_from,
        )
        .join(municipalities, municipalities.c.cvegeo == claims.c.cvegeo)
        .where(intersects_point(dialect, claims, lon, lat), in_force(at))
    )
    open_disputes = (
        select(
            disputed_zones.c.id,
            disputed_zone_parties.c.cvegeo,
            municipalities.c.name,
        )
        .join(disputed_zone_parties, disputed_zone_parties.c.zone_id == disputed_zones.c.id)
        .join(municipalities, municipalities.c.cvegeo == disputed_zone_parties.c.cvegeo)
        .where(
            intersects_point(dialect, disputed_zones, lon, lat),
            # literal values: an expanding IN would re-render the statement per request
            *(disputed_zones.c.status != literal_column(f"'{s}'") for s in CLOSED_DISPUTE_STATUSES),
        )
    )
    rivers_version = (
        select(layer_versions.c.version).where(layer_versions.c.layer == "rivers").scalar_subquery()
    )
    return select(
        json_rows(dialect, select(found)).label("found"),
        json_rows(dialect, zones).label("zones"),
        json_rows(dialect, in_claims).label("claims"),
        json_rows(dialect, open_disputes).label("disputes"),
        rivers_version.label("rivers_version"),
    )


def _utc(text: str) -> datetime:
    """A timestamp as the JSON of either engine gives it, as an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Values(TypedDict):
    """The values the statement binds."""

    lon: float
    lat: float
    at: datetime


def _values(lon: float, lat: float) -> _Values:
    return _Values(lon=lon, lat=lat, at=audit.now())


class LonLat(TypedDict):
    lon: float
    lat: float


class State(TypedDict):
    code: str
    name: str


class LookupMunicipality(TypedDict):
    cvegeo: str
    name: str
    state: State
    boundary_version: int


class LookupMetroZone(TypedDict):
    code: str
    name: str
    delimitation_year: int
    kind: str


class LookupClaim(TypedDict):
    id: int
    cvegeo: str
    municipality: str
    version: int
    source: str
    source_reference: str | None
    valid_from: datetime


class DisputeAt(TypedDict):
    zone_id: int
    text: str


class LookupAnswer(TypedDict):
    """What ``/lookup`` answers (``api.routes.lookup.LookupAnswer`` documents it)."""

    point: LonLat
    municipality: LookupMunicipality | None
    on_boundary_of: list[str]
    metro_zones: list[LookupMetroZone]
    claims: list[LookupClaim]
    river: RiverAt | None
    disputed_zone: DisputeAt | None


def lookup_point(conn: Connection, lon: float, lat: float) -> LookupAnswer:
    """The municipality officially holding (lon, lat), its metro zones, the claims in
    force, the nearest river (distance, chainage, bank side, federal zone; ``None``
    beyond 25 km) and the open disputed zone holding the point (``None`` if none).

    A point on a shared boundary belongs to both neighbours: the first by key is
    given as ``municipality`` and all of them in ``on_boundary_of``. A point
    outside every municipality gives ``municipality: None`` and empty lists. Metro
    zones come newest delimitation first; claims by municipality and version.
    """
    row = _driver_statement(conn.dialect).one(conn, _values(lon, lat))
    return _answer(lon, lat, row, cached_rivers(conn, row[4]))


async def lookup_point_async(
    reader: AsyncReader, engine: Engine, lon: float, lat: float
) -> LookupAnswer:
    """:func:`lookup_point` read on the event loop without blocking it (PostgreSQL).

    The rivers are measured against this process's copy; when the layer changed
    since it was read, it is read again in a worker thread, on a connection of its
    own.
    """
    row = await reader.one(_driver_statement(engine.dialect), _values(lon, lat))
    river_set = held_rivers(engine, row[4])
    if river_set is None:
        version = row[4]
        river_set = await asyncio.to_thread(
            on_read_connection, engine, lambda conn: cached_rivers(conn, version)
        )
    return _answer(lon, lat, row, river_set)


def _answer(lon: float, lat: float, row: tuple[Any, ...], river_set: RiverSet) -> LookupAnswer:
    """The answer from the statement's row (four JSON arrays and the rivers' counter)."""
    found_rows, zone_rows, claim_rows, dispute_rows, _rivers_version = row
    found = sorted(found_rows, key=lambda m: m["cvegeo"])
    municipality = None
    if found:
        first = found[0]
        municipality = LookupMunicipality(
            cvegeo=first["cvegeo"],
            name=first["name"],
            state=State(code=first["state_code"], name=first["state_name"]),
            boundary_version=first["version"],
        )
    zones = [
        LookupMetroZone(
            code=z["code"], name=z["name"], delimitation_year=z["delimitation_year"], kind=z["kind"]
        )
        for z in sorted(zone_rows, key=lambda z: (-z["delimitation_year"], z["code"]))
    ]
    claims_in_force = [
        LookupClaim(
            id=c["id"],
            cvegeo=c["cvegeo"],
            municipality=c["municipality"],
            version=c["version"],
            source=c["source"],
            source_reference=c["source_reference"],
            valid_from=_utc(c["valid_from"]),
        )
        for c in sorted(claim_rows, key=lambda c: (c["cvegeo"], c["version"]))
    ]
    # the nearest river, measured against this process's copy of the rivers (checked
    # against the layer's change counter read in the same statement)
    river = river_at(river_set, lon, lat)
    # the open zone with the lowest id when zones overlap (as inspections are annotated)
    dispute = None
    if dispute_rows:
        zone_id = min(d["id"] for d in dispute_rows)
        parties = sorted((d["cvegeo"], d["name"]) for d in dispute_rows if d["id"] == zone_id)
        dispute = DisputeAt(zone_id=zone_id, text=dispute_text([name for _, name in parties]))
    return LookupAnswer(
        point=LonLat(lon=lon, lat=lat),
        municipality=municipality,
        on_boundary_of=[m["cvegeo"] for m in found] if len(found) > 1 else [],
        metro_zones=zones if found else [],
        claims=claims_in_force,
        river=river,
        disputed_zone=dispute,
    )
