"""Boundary claims: each municipality's claimed line, as versions that are never overwritten."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from geo.errors import Conflict, InvalidInput, NotFound, Problem
from geo.metric import to_lonlat, to_metric
from geo.validation import to_multi
from geo.zone_decisions import diff_claims
from layers import audit, reference_changes
from layers.claim_rows import ClaimDiff, ClaimKey, ClaimRow, OfficialClaimsRecorded
from layers.dialects import as_wkb
from layers.engine import write_connection
from layers.geometry_io import from_db, to_db
from layers.inspections.reference_layers import geometry_bbox
from layers.schema import SRID, claims, municipalities


class ClaimSource(StrEnum):
    inegi = "inegi"  # INEGI Marco Geoestadístico (the official line)
    decree = "decree"  # decreto del Congreso del Estado
    agreement = "agreement"  # convenio entre municipios
    cadastre = "cadastre"  # catastro municipal
    survey = "survey"  # levantamiento topográfico
    decision = "decision"  # resolución de la Comisión de Límites sobre una zona en disputa


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
    valid_from_given: bool = True,
) -> ClaimRow:
    """Record a new claimed boundary for a municipality and close the one in force.

    The geometry must already be checked (``geo.validation``). The previous version's
    ``valid_to`` becomes this one's ``valid_from``; nothing is overwritten.

    ``valid_from_given=False``: the caller sent no start, ``valid_from`` is "now".

    Raises:
        InvalidInput: unknown source, or a given validity start before the one in force
            (or, when the municipality's claim was withdrawn, before the withdrawal).
        NotFound: no municipality with that key.
        Conflict: another claim for the municipality was recorded at the same moment.
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
        key = record_claim(
            conn,
            cvegeo=cvegeo,
            geom=geom,
            source=parsed_source,
            valid_from=valid_from,
            recorded_by=recorded_by,
            source_reference=source_reference,
            notes=notes,
            valid_from_given=valid_from_given,
        )
        return get_claim(conn, key["id"])


def _raced(cvegeo: str, *, withdrawn: bool = False) -> Conflict:
    what, reason = (
        (f"the claim of {cvegeo} was withdrawn", "its claim was withdrawn at the same moment")
        if withdrawn
        else (
            f"another claim for {cvegeo} was recorded",
            "a claim for it was recorded at the same moment",
        )
    )
    return Conflict(
        f"{what} at the same moment as this one, which was not recorded; load the claims "
        f"of {cvegeo} again (GET /claims?cvegeo={cvegeo}) and, if yours still applies, "
        "send it again",
        problems=[Problem("cvegeo", reason)],
    )


def record_claim(
    conn: Connection,
    *,
    cvegeo: str,
    geom: BaseGeometry,
    source: ClaimSource,
    valid_from: datetime,
    recorded_by: str,
    source_reference: str | None = None,
    notes: str | None = None,
    valid_from_given: bool = True,
) -> ClaimKey:
    """``add_claim`` inside the caller's write transaction (a decision writes several);
    returns the new claim's id, municipality and version (:func:`get_claim` reads it).
    Claims for one municipality are recorded one at a time (its row is locked). One
    whose start is "now" (``valid_from_given=False``) that finds a claim in force from
    a later moment (recorded meanwhile) gets ``Conflict`` and writes nothing, its whole
    transaction rolled back by the caller."""
    lock_municipality(conn, cvegeo)
    previous = conn.execute(
        select(claims.c.id, claims.c.version, claims.c.valid_from).where(
            claims.c.cvegeo == cvegeo, claims.c.valid_to.is_(None)
        )
    ).first()
    last = conn.execute(
        select(func.max(claims.c.version), func.max(claims.c.valid_to)).where(
            claims.c.cvegeo == cvegeo
        )
    ).one()
    last_version = last[0] or 0
    if previous is None and last[1] is not None and valid_from < last[1]:
        # the series was withdrawn: a new claim starts after that, never inside a past version
        if not valid_from_given:  # "now" was taken before a withdrawal recorded meanwhile
            raise _raced(cvegeo, withdrawn=True)
        raise InvalidInput(
            f"valid_from must be on or after {last[1]:%Y-%m-%d %H:%M} UTC, when the claim of "
            f"{cvegeo} was withdrawn",
            problems=[Problem("valid_from", "before the withdrawal of the last claim")],
        )
    if previous is not None:
        if previous.valid_from >= valid_from and not valid_from_given:
            # "now" is not after the claim in force: that claim was recorded meanwhile
            raise _raced(cvegeo)
        if previous.valid_from >= valid_from:
            raise InvalidInput(
                f"valid_from must be after {previous.valid_from:%Y-%m-%d}, when the claim in "
                "force began",
                problems=[Problem("valid_from", "not after the claim in force")],
            )
        conn.execute(update(claims).where(claims.c.id == previous.id).values(valid_to=valid_from))
    try:
        result = _insert_claim(
            conn,
            cvegeo=cvegeo,
            version=last_version + 1,
            source=source.value,
            source_reference=source_reference,
            valid_from=valid_from,
            valid_to=None,
            recorded_by=recorded_by,
            recorded_at=audit.now(),
            notes=notes,
            geom=to_db(to_multi([geom]))[0],
        )
    except IntegrityError as error:
        if "uq_claims_cvegeo_version" in str(error.orig) or "claims.version" in str(error.orig):
            raise _raced(cvegeo) from None
        raise
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
            "source": source.value,
            "closed": previous.id if previous else None,
        },
    )
    # the claims in force at each inspection's observation time may have changed here
    reference_changes.changed(conn, bboxes=[geometry_bbox(geom)], claim_keys=[cvegeo])
    return ClaimKey(id=claim_id, cvegeo=cvegeo, version=last_version + 1)


def lock_municipality(conn: Connection, cvegeo: str) -> None:
    """Lock the municipality's row until the transaction ends, so that the writes to its
    claims (a new version, a withdrawal) happen one after the other, each reading the
    claim in force that the one before left (PostgreSQL; SQLite lets one writer in at
    a time anyway).

    Raises:
        NotFound: no municipality with that key.
    """
    if (
        conn.execute(
            select(municipalities.c.cvegeo)
            .where(municipalities.c.cvegeo == cvegeo)
            .with_for_update()
        ).first()
        is None
    ):
        raise NotFound(
            f"no municipality with cvegeo {cvegeo}; import the official boundaries first",
            problems=[Problem("cvegeo", "unknown municipality")],
        )


def _insert_claim(conn: Connection, **values: Any) -> Any:
    return conn.execute(insert(claims).values(**values))


def add_claims(
    engine: Engine,
    geoms: Mapping[str, BaseGeometry],
    *,
    source: str,
    valid_from: datetime,
    recorded_by: str,
    source_reference: str | None = None,
) -> list[int]:
    """Record many claims (cvegeo -> checked lon/lat geometry) in one transaction.

    Every claim obeys the rules of ``add_claim``; one refusal writes nothing.
    Returns the new claim ids in key order.
    """
    try:
        parsed = ClaimSource(source)
    except ValueError:
        raise InvalidInput(
            f"source must be one of {', '.join(s.value for s in ClaimSource)}",
            problems=[Problem("source", "unknown source")],
        ) from None
    with write_connection(engine) as conn:
        return [
            int(
                record_claim(
                    conn,
                    cvegeo=key,
                    geom=geoms[key],
                    source=parsed,
                    valid_from=valid_from,
                    recorded_by=recorded_by,
                    source_reference=source_reference,
                )["id"]
            )
            for key in sorted(geoms)
        ]


def in_force(at: datetime) -> ColumnElement[bool]:
    """Claims valid at the moment ``at``: started at or before it, not yet closed."""
    return and_(claims.c.valid_from <= at, or_(claims.c.valid_to.is_(None), claims.c.valid_to > at))


def get_claim(conn: Connection, claim_id: int) -> ClaimRow:
    row = conn.execute(
        select(
            *_columns(),
            func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(claims.c.geom)).label("geometry"),
        )
        .join(municipalities, municipalities.c.cvegeo == claims.c.cvegeo)
        .where(claims.c.id == claim_id)
    ).first()
    if row is None:
        raise NotFound(f"no claim {claim_id}")
    return _claim_row(row)


def list_claims(
    conn: Connection,
    *,
    cvegeo: str | None = None,
    as_of: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ClaimRow]:
    """Claims, newest first; ``as_of`` keeps the ones in force at that moment."""
    query = (
        select(
            *_columns(), func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(claims.c.geom)).label("geometry")
        )
        .join(municipalities, municipalities.c.cvegeo == claims.c.cvegeo)
        .order_by(claims.c.cvegeo, claims.c.version.desc())
        .limit(limit)
        .offset(offset)
    )
    if cvegeo:
        query = query.where(claims.c.cvegeo == cvegeo)
    if as_of is not None:
        query = query.where(in_force(as_of))
    return [_claim_row(r) for r in conn.execute(query)]


def _claim_row(r: Any) -> ClaimRow:
    return ClaimRow(
        id=r.id,
        cvegeo=r.cvegeo,
        municipality=r.municipality,
        version=r.version,
        source=r.source,
        source_reference=r.source_reference,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        recorded_by=r.recorded_by,
        recorded_at=r.recorded_at,
        notes=r.notes,
        geometry=r.geometry,
    )


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


# --- reading geometries for comparisons ---------------------------------------------------
# Read as plain WKB made by the database (``dialects.as_wkb``): GeoAlchemy2's default
# for SpatiaLite is hex EWKB text, slow for a country's worth of vertices.


def geometries_in_force(
    conn: Connection, cvegeos: Sequence[str], at: datetime
) -> dict[str, tuple[int, BaseGeometry]]:
    """cvegeo -> (claim id, lon/lat geometry) of the claims in force at ``at``."""
    out: dict[str, tuple[int, BaseGeometry]] = {}
    for chunk in _chunks(list(cvegeos)):
        rows = conn.execute(
            select(claims.c.cvegeo, claims.c.id, as_wkb(conn.dialect, claims.c.geom, SRID)).where(
                claims.c.cvegeo.in_(chunk), in_force(at)
            )
        )
        for cvegeo, claim_id, geom in rows:
            shape = from_db(geom)
            assert shape is not None
            out[cvegeo] = (int(claim_id), shape)
    return out


def official_geometries(conn: Connection, cvegeos: Sequence[str]) -> dict[str, BaseGeometry]:
    """cvegeo -> the official (INEGI) polygon in force, lon/lat."""
    out: dict[str, BaseGeometry] = {}
    for chunk in _chunks(list(cvegeos)):
        rows = conn.execute(
            select(
                municipalities.c.cvegeo, as_wkb(conn.dialect, municipalities.c.geom, SRID)
            ).where(municipalities.c.cvegeo.in_(chunk))
        )
        for cvegeo, geom in rows:
            shape = from_db(geom)
            assert shape is not None
            out[cvegeo] = shape
    return out


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def claim_geometry(conn: Connection, claim_id: int) -> tuple[str, BaseGeometry]:
    """(cvegeo, lon/lat geometry) of one claim; ``NotFound`` when there is none."""
    row = conn.execute(
        select(claims.c.cvegeo, claims.c.geom).where(claims.c.id == claim_id)
    ).first()
    if row is None:
        raise NotFound(f"no claim {claim_id}", problems=[Problem("claim_id", "unknown claim")])
    shape = from_db(row.geom)
    assert shape is not None
    return str(row.cvegeo), shape


def diff(conn: Connection, claim_id: int, against: str = "previous") -> ClaimDiff:
    """What a claim gains and loses compared with another version or the official line.

    Args:
        claim_id: the claim read as "new".
        against: ``"previous"`` (the version before it), ``"official"`` (the INEGI
            polygon in force) or the id of another claim, read as "old".

    Returns:
        Areas gained and lost (m², ha, computed in EPSG:6372) and both pieces of land
        as GeoJSON MultiPolygons in lon/lat.

    Raises:
        NotFound: an unknown claim, or no previous version.
        InvalidInput: ``against`` is none of the above.
    """
    cvegeo, new = claim_geometry(conn, claim_id)
    label: str
    if against == "official":
        official = official_geometries(conn, [cvegeo])
        old = official[cvegeo]
        label = "official"
    elif against == "previous":
        version = int(
            conn.execute(select(claims.c.version).where(claims.c.id == claim_id)).scalar_one()
        )
        prev_id = conn.execute(
            select(claims.c.id).where(claims.c.cvegeo == cvegeo, claims.c.version == version - 1)
        ).scalar()
        if prev_id is None:
            raise NotFound(
                f"claim {claim_id} is the first version of {cvegeo}; compare it with "
                "against=official",
                problems=[Problem("against", "no previous version")],
            )
        _c, old = claim_geometry(conn, int(prev_id))
        label = f"claim {prev_id}"
    elif against.isdigit():
        _c, old = claim_geometry(conn, int(against))
        label = f"claim {against}"
    else:
        raise InvalidInput(
            "against must be previous, official or a claim id",
            problems=[Problem("against", "previous, official or a claim id")],
        )
    old_m, new_m = to_metric(np.array([old, new], dtype=object))
    gained, lost = diff_claims(old_m, new_m)
    gained_ll, lost_ll = to_lonlat(np.array([gained, lost], dtype=object))
    return ClaimDiff(
        claim_id=claim_id,
        cvegeo=cvegeo,
        against=label,
        gained_m2=round(float(gained.area), 2),
        lost_m2=round(float(lost.area), 2),
        gained_ha=round(float(gained.area) / 1e4, 4),
        lost_ha=round(float(lost.area) / 1e4, 4),
        net_m2=round(float(gained.area - lost.area), 2),
        gained=shapely.geometry.mapping(gained_ll),
        lost=shapely.geometry.mapping(lost_ll),
    )


def claims_from_official(
    engine: Engine,
    cvegeos: Sequence[str],
    *,
    valid_from: datetime,
    recorded_by: str,
    source_reference: str | None = "INEGI, Marco Geoestadístico",
) -> OfficialClaimsRecorded:
    """Record the official INEGI polygon as the claim of each municipality, in one transaction.

    A municipality whose claim in force is already its official polygon is left alone,
    so repeating this changes nothing.

    Returns:
        ``{"created": [...], "unchanged": [...]}`` cvegeos.

    Raises:
        NotFound: a key with no official boundary (nothing is written).
    """
    created: list[str] = []
    unchanged: list[str] = []
    with write_connection(engine) as conn:
        official = official_geometries(conn, cvegeos)
        unknown = sorted(set(cvegeos) - set(official))
        if unknown:
            raise NotFound(
                f"no official boundary for {', '.join(unknown[:10])}; import municipalities first",
                problems=[Problem("cvegeo", f"unknown: {', '.join(unknown[:10])}")],
            )
        current = geometries_in_force(conn, list(official), valid_from)
        for cvegeo in sorted(official):
            geom = official[cvegeo]
            if cvegeo in current and shapely.equals_exact(
                shapely.normalize(current[cvegeo][1]), shapely.normalize(geom), 0.0
            ):
                unchanged.append(cvegeo)
                continue
            record_claim(
                conn,
                cvegeo=cvegeo,
                geom=geom,
                source=ClaimSource.inegi,
                valid_from=valid_from,
                recorded_by=recorded_by,
                source_reference=source_reference,
                notes="official line (INEGI) recorded as the claim",
            )
            created.append(cvegeo)
    return OfficialClaimsRecorded(created=created, unchanged=unchanged)
