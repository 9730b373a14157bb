"""Boundary claims: each municipality's claimed line, as versions that are never overwritten."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, Engine, and_, func, insert, or_, select, update

from geo.errors import InvalidInput, NotFound, Problem
from geo.validation import to_multi
from layers import audit
from layers.engine import write_connection
from layers.geometry_io import to_db
from layers.inspections import annotate as inspection_notes
from layers.schema import claims, municipalities


class ClaimSource(StrEnum):
    inegi = "inegi"  # INEGI Marco Geoestadístico (the official line)
    decree = "decree"  # decreto del Congreso del Estado
    agreement = "agreement"  # convenio entre municipios
    cadastre = "cadastre"  # catastro municipal
    survey = "survey"  # levantamiento topográfico


def add_claim(
    engine: Engine,
    *,
    cvegeo: str,
    geom: BaseGeometry,
    source: str,
    valid_from: datetime,
    recorded_by: str,
    source_reference: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    """Record a new claimed boundary for a municipality and close the one in force.

    The geometry must already be checked (``geo.validation``). The previous version's
    ``valid_to`` becomes this one's ``valid_from``; nothing is overwritten.

    Raises:
        InvalidInput: unknown source, or a validity start before the one in force.
        NotFound: no municipality with that key.
    """
    if valid_from.tzinfo is None:
        raise InvalidInput(
            "valid_from needs a time zone, e.g. 2024-05-01T00:00:00-06:00",
            problems=[Problem("valid_from", "no time zone")],
        )
    try:
        parsed_source = ClaimSource(source)
    except ValueError:
        raise InvalidInput(
            f"source must be one of {', '.join(s.value for s in ClaimSource)}",
            problems=[Problem("source", f"one of {', '.join(s.value for s in ClaimSource)}")],
        ) from None
    with write_connection(engine) as conn:
        if (
            conn.execute(
                select(municipalities.c.cvegeo).where(municipalities.c.cvegeo == cvegeo)
            ).first()
            is None
        ):
            raise NotFound(
                f"no municipality with cvegeo {cvegeo}; import the official boundaries first",
                problems=[Problem("cvegeo", "unknown municipality")],
            )
        previous = conn.execute(
            select(claims.c.id, claims.c.version, claims.c.valid_from).where(
                claims.c.cvegeo == cvegeo, claims.c.valid_to.is_(None)
            )
        ).first()
        last_version = (
            conn.execute(
                select(func.max(claims.c.version)).where(claims.c.cvegeo == cvegeo)
            ).scalar()
            or 0
        )
        if previous is not None:
            if previous.valid_from >= valid_from:
                raise InvalidInput(
                    f"valid_from must be after {previous.valid_from:%Y-%m-%d}, when the claim in "
                    "force began",
                    problems=[Problem("valid_from", "not after the claim in force")],
                )
            conn.execute(
                update(claims).where(claims.c.id == previous.id).values(valid_to=valid_from)
            )
        result = conn.execute(
            insert(claims).values(
                cvegeo=cvegeo,
                version=last_version + 1,
                source=parsed_source.value,
                source_reference=source_reference,
                valid_from=valid_from,
                valid_to=None,
                recorded_by=recorded_by,
                recorded_at=audit.now(),
                notes=notes,
                geom=to_db(to_multi([geom]))[0],
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        claim_id = int(pk[0])
        audit.record(
            conn,
            recorded_by,
            "claim.created",
            "claim",
            str(claim_id),
            {
                "cvegeo": cvegeo,
                "version": last_version + 1,
                "source": parsed_source.value,
                "closed": previous.id if previous else None,
            },
        )
        # claims in force at each inspection's observation time may have changed
        inspection_notes.refresh(
            conn, bboxes=[inspection_notes.geometry_bbox(geom)], claim_keys=[cvegeo]
        )
        return get_claim(conn, claim_id)


def in_force(at: datetime) -> ColumnElement[bool]:
    """Claims valid at the moment ``at``: started at or before it, not yet closed."""
    return and_(claims.c.valid_from <= at, or_(claims.c.valid_to.is_(None), claims.c.valid_to > at))


def get_claim(conn: Connection, claim_id: int) -> dict[str, Any]:
    row = (
        conn.execute(
            select(*_columns(), func.ST_AsGeoJSON(claims.c.geom).label("geometry"))
            .join(municipalities, municipalities.c.cvegeo == claims.c.cvegeo)
            .where(claims.c.id == claim_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no claim {claim_id}")
    return dict(row)


def list_claims(
    conn: Connection,
    *,
    cvegeo: str | None = None,
    as_of: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Claims, newest first; ``as_of`` keeps the ones in force at that moment."""
    query = (
        select(*_columns(), func.ST_AsGeoJSON(claims.c.geom).label("geometry"))
        .join(municipalities, municipalities.c.cvegeo == claims.c.cvegeo)
        .order_by(claims.c.cvegeo, claims.c.version.desc())
        .limit(limit)
        .offset(offset)
    )
    if cvegeo:
        query = query.where(claims.c.cvegeo == cvegeo)
    if as_of is not None:
        query = query.where(in_force(as_of))
    return [dict(r) for r in conn.execute(query).mappings()]


def _columns() -> list[Any]:
    return [
        claims.c.id,
        claims.c.cvegeo,
        municipalities.c.name.label("municipality"),
        claims.c.version,
        claims.c.source,
        claims.c.source_reference,
        claims.c.valid_from,
        claims.c.valid_to,
        claims.c.recorded_by,
        claims.c.recorded_at,
        claims.c.notes,
    ]
