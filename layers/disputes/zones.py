"""Disputed zones as the commission sees them, and the writes of their case files.

Every edit of a zone is guarded by its ``version`` (the ETag): the statement that
changes the zone carries ``WHERE version = <what the caller read>``, so of two
people who read version 3, the first write wins and the second gets
``PreconditionFailed`` instead of silently overwriting (on both engines: the check
and the change are one statement). The case file only ever grows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, func, insert, select, update

from geo.access import RowScope
from geo.disputes import (
    CLOSED,
    ZoneKind,
    ZoneStatus,
    apply_parts,
    as_valid_multipolygon,
    check_move,
    check_partition,
    official_line,
    split_by_official,
)
from geo.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Problem,
)
from geo.measures import outlines, population_inside, zone_measures
from geo.metric import to_lonlat, to_metric
from geo.validation import POLYGONAL, check_geometries
from layers import audit
from layers.access import row_condition
from layers.claims import ClaimSource, geometries_in_force, official_geometries, record_claim
from layers.dialects import bbox_candidates
from layers.engine import write_connection
from layers.geometry_io import from_db, to_db
from layers.inspections import annotate as inspection_notes
from layers.schema import (
    case_events,
    disputed_zone_geometries,
    disputed_zone_parties,
    disputed_zones,
    inspections,
    localities,
    municipalities,
)

#: kinds of case events a person may append (the others are written by Linde itself)
EVENT_KINDS = ("meeting", "evidence", "proposal", "agreement", "note")
SYSTEM_KINDS = ("detection", "registered", "status", "decision", "edit")

_z = disputed_zones.c
#: a locality sharing less than this with a zone only touches it
LOCALITY_MIN_M2 = 1.0


def etag(zone_id: int, version: int) -> str:
    return f'"zone-{zone_id}-v{version}"'


def parse_if_match(value: str | None, zone_id: int, *, required: bool = True) -> int | None:
    """The zone version named by an ``If-Match`` header (``None`` if absent and optional).

    Raises:
        PreconditionRequired: absent while required (HTTP 428).
        PreconditionFailed: an ETag of another zone, or ``*`` (never matches a version).
    """
    if value is None or not value.strip():
        if required:
            raise PreconditionRequired(
                "editing a disputed zone needs If-Match with the ETag you read "
                "(GET /disputes/{id}), so a stale edit cannot overwrite someone else's",
                problems=[Problem("If-Match", "missing")],
            )
        return None
    tag = value.strip().removeprefix("W/")
    prefix = f'"zone-{zone_id}-v'
    if not (tag.startswith(prefix) and tag.endswith('"') and tag[len(prefix) : -1].isdigit()):
        raise PreconditionFailed(
            f"If-Match {value} is not an ETag of zone {zone_id}",
            problems=[Problem("If-Match", "not this zone's ETag")],
        )
    return int(tag[len(prefix) : -1])


# --- reading ----------------------------------------------------------------------------


def _row(conn: Connection, zone_id: int) -> Any:
    row = conn.execute(select(disputed_zones).where(_z.id == zone_id)).first()
    if row is None:
        raise NotFound(f"no disputed zone {zone_id}", problems=[Problem("zone_id", "unknown")])
    return row


def _parties(conn: Connection, zone_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            disputed_zone_parties.c.cvegeo,
            municipalities.c.name,
            disputed_zone_parties.c.claim_id,
        )
        .join(municipalities, municipalities.c.cvegeo == disputed_zone_parties.c.cvegeo)
        .where(disputed_zone_parties.c.zone_id == zone_id)
        .order_by(disputed_zone_parties.c.cvegeo)
    ).mappings()
    return [dict(r) for r in rows]


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


def _summary(row: Any) -> dict[str, Any]:
    out = {c.name: getattr(row, c.name) for c in _SUMMARY}
    out["parties"] = out.pop("parties_key").split(",") if row.parties_key else []
    out["etag"] = etag(row.id, row.version)
    return out


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
) -> list[dict[str, Any]]:
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


def get_zone(conn: Connection, zone_id: int, *, detail: bool = True) -> dict[str, Any]:
    """A zone with its parties, geometry and, with ``detail``, what lies in it.

    Detail: the localities that intersect it (with the share of each inside), the
    inspection points inside, and the official line through it (GeoJSON + length).
    """
    row = _row(conn, zone_id)
    out = _summary(row)
    out["parties"] = _parties(conn, zone_id)
    geom = from_db(row.geom)
    assert geom is not None
    out["geometry"] = shapely.geometry.mapping(shapely.orient_polygons(geom))  # RFC 7946
    if not detail:
        return out
    zone_m = to_metric(geom)
    official = official_geometries(conn, [p["cvegeo"] for p in out["parties"]])
    official_m = dict(zip(official, to_metric(np.array(list(official.values()))), strict=True))
    line = official_line(zone_m, list(official_m.values()))
    out["official_line"] = {
        "length_m": round(float(line.length), 2),
        "geometry": shapely.geometry.mapping(to_lonlat(line)) if not line.is_empty else None,
    }
    out["localities"] = localities_in(conn, geom, zone_m)
    out["population_estimate"] = population_inside(out["localities"])
    out["inspections"] = _inspections(conn, zone_id, geom)
    out["case_events"] = conn.execute(
        select(func.count()).select_from(case_events).where(case_events.c.zone_id == zone_id)
    ).scalar_one()
    return out


def localities_in(
    conn: Connection, geom: BaseGeometry, zone_m: BaseGeometry
) -> list[dict[str, Any]]:
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
    out = []
    for r, shape, area_in in zip(rows, shapes, inside, strict=True):
        if area_in < LOCALITY_MIN_M2:  # touching along an edge, or float noise
            continue
        out.append(
            {
                "cvegeo": r.cvegeo,
                "name": r.name,
                "municipality": r.municipality_cvegeo,
                "population": r.population,
                "area_inside_m2": round(float(area_in), 2),
                "share_inside": round(float(area_in / shape.area), 4),
            }
        )
    return sorted(out, key=lambda d: -d["area_inside_m2"])


def _inspections(conn: Connection, zone_id: int, geom: BaseGeometry) -> list[dict[str, Any]]:
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
    ).mappings()
    return [dict(r) for r in rows]


def geometry_history(conn: Connection, zone_id: int) -> list[dict[str, Any]]:
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
    ).mappings()
    return [{**r, "geometry": json.loads(r["geometry"]) if r["geometry"] else None} for r in rows]


def list_events(conn: Connection, zone_id: int) -> list[dict[str, Any]]:
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
    ).mappings()
    return [_with_measures(r) for r in rows]


def _with_measures(row: Any) -> dict[str, Any]:
    """A case event as read, with the area (m²) or length (m) of its geometry in
    EPSG:6372, so a proposal shows how much land it draws."""
    out = {
        **row,
        "details": json.loads(row["details"]) if row["details"] else None,
        "geometry": json.loads(row["geometry"]) if row["geometry"] else None,
        "area_m2": None,
        "length_m": None,
    }
    if out["geometry"] is not None:
        shape = to_metric(shapely.geometry.shape(out["geometry"]))
        if shape.area > 0:
            out["area_m2"] = round(float(shape.area), 2)
        else:
            out["length_m"] = round(float(shape.length), 2)
    return out


# --- writing ----------------------------------------------------------------------------


def _bump(conn: Connection, zone_id: int, expected: int | None, **values: Any) -> int:
    """Raise the zone's version (and set ``values``) if it is still ``expected``.

    Returns the new version. ``expected`` None (an append that did not send If-Match)
    takes whatever version is current.
    """
    current = _row(conn, zone_id)
    if expected is not None and current.version != expected:
        raise PreconditionFailed(
            f"zone {zone_id} changed since you read it (you have version {expected}, it is "
            f"now {current.version}); read it again and redo your change",
            problems=[Problem("If-Match", f"stale: current ETag {etag(zone_id, current.version)}")],
        )
    base = expected if expected is not None else current.version
    result = conn.execute(
        update(disputed_zones)
        .where(_z.id == zone_id, _z.version == base)
        .values(version=base + 1, updated_at=audit.now(), **values)
    )
    if result.rowcount != 1:  # another writer got in between the read and this statement
        raise PreconditionFailed(
            f"zone {zone_id} changed while you were editing it; read it again",
            problems=[Problem("If-Match", "stale")],
        )
    if "status" in values or "geom" in values:  # inspections' dispute annotation follows
        inspection_notes.refresh_for_zones(conn, [zone_id])
    return base + 1


def _event(
    conn: Connection,
    zone_id: int,
    *,
    kind: str,
    actor: str,
    version: int,
    occurred_at: datetime | None = None,
    summary: str | None = None,
    details: Mapping[str, Any] | None = None,
    geom: BaseGeometry | None = None,
) -> int:
    now = audit.now()
    pk = conn.execute(
        insert(case_events).values(
            zone_id=zone_id,
            kind=kind,
            occurred_at=occurred_at or now,
            recorded_by=actor,
            recorded_at=now,
            summary=summary,
            details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
            zone_version=version,
            geom=to_db([geom])[0] if geom is not None else None,
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def register_zone(
    engine: Engine,
    *,
    name: str,
    geom: BaseGeometry,
    parties: Sequence[str],
    actor: str,
    notes: str | None = None,
) -> dict[str, Any]:
    """Register a named zone by hand (``kind='manual'``, status ``open``).

    Raises:
        InvalidInput: an empty name or fewer than one party.
        NotFound: a party that is not an imported municipality.
    """
    keys = sorted(set(parties))
    if not name.strip():
        raise InvalidInput("a registered zone needs a name", problems=[Problem("name", "empty")])
    if not keys:
        raise InvalidInput(
            "a registered zone needs its parties", problems=[Problem("parties", "empty")]
        )
    multi = MultiPolygon(list(shapely.get_parts(geom)))
    with write_connection(engine) as conn:
        official = official_geometries(conn, keys)
        unknown = sorted(set(keys) - set(official))
        if unknown:
            raise NotFound(
                f"no municipality with cvegeo {', '.join(unknown)}",
                problems=[Problem("parties", f"unknown: {', '.join(unknown)}")],
            )
        now = audit.now()
        claims = geometries_in_force(conn, keys, now)
        lines = {k: (claims[k][1] if k in claims else official[k]) for k in keys}
        lines_m = dict(zip(lines, to_metric(np.array(list(lines.values()))), strict=True))
        zone_m = to_metric(multi)
        measures = zone_measures(zone_m, keys, outlines(lines_m))
        pk = conn.execute(
            insert(disputed_zones).values(
                name=name.strip(),
                kind=ZoneKind.manual.value,
                status=ZoneStatus.open.value,
                parties_key=",".join(keys),
                scope=None,
                **measures,
                version=1,
                geom_revision=1,
                created_by=actor,
                created_at=now,
                updated_at=now,
                notes=notes,
                geom=to_db([multi])[0],
            )
        ).inserted_primary_key
        assert pk is not None
        zone_id = int(pk[0])
        conn.execute(
            insert(disputed_zone_parties),
            [
                {"zone_id": zone_id, "cvegeo": k, "claim_id": claims.get(k, (None,))[0]}
                for k in keys
            ],
        )
        conn.execute(
            insert(disputed_zone_geometries).values(
                zone_id=zone_id,
                revision=1,
                change="registered",
                recorded_by=actor,
                recorded_at=now,
                area_m2=measures["area_m2"],
                gained_m2=measures["area_m2"],
                lost_m2=0.0,
                geom=to_db([multi])[0],
            )
        )
        inspection_notes.refresh_for_zones(conn, [zone_id])
        _event(
            conn,
            zone_id,
            kind="registered",
            actor=actor,
            version=1,
            summary=f"registrada a mano por la comisión: {name.strip()}",
        )
        audit.record(
            conn, actor, "dispute.registered", "disputed_zone", str(zone_id), {"name": name}
        )
        return get_zone(conn, zone_id, detail=False)


def edit_zone(
    engine: Engine,
    zone_id: int,
    *,
    actor: str,
    expected_version: int,
    name: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    """Rename a zone or change its notes (If-Match guarded)."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name.strip() or None
    if notes is not None:
        values["notes"] = notes
    if not values:
        raise InvalidInput("nothing to change: give name or notes")
    with write_connection(engine) as conn:
        version = _bump(conn, zone_id, expected_version, **values)
        _event(conn, zone_id, kind="edit", actor=actor, version=version, details=values)
        audit.record(conn, actor, "dispute.edited", "disputed_zone", str(zone_id), values)
        return get_zone(conn, zone_id, detail=False)


def move_status(
    engine: Engine,
    zone_id: int,
    target: str,
    *,
    actor: str,
    admin: bool,
    expected_version: int,
    note: str | None = None,
) -> dict[str, Any]:
    """Move a zone to another status by the rules of ``geo.disputes.MOVES``.

    Raises:
        InvalidInput: an unknown status.
        Conflict: a move the rules do not allow (the message lists the allowed ones).
        PreconditionFailed: the zone changed since the caller read it.
    """
    try:
        wanted = ZoneStatus(target)
    except ValueError:
        raise InvalidInput(
            f"status must be one of {', '.join(s.value for s in ZoneStatus)}",
            problems=[Problem("status", "unknown status")],
        ) from None
    with write_connection(engine) as conn:
        row = _row(conn, zone_id)
        if row.version != expected_version:
            _bump(conn, zone_id, expected_version)  # raises the 412 with the current ETag
        current = ZoneStatus(row.status)
        check_move(current, wanted, admin=admin)
        closing = {"closed_at": audit.now()} if wanted in CLOSED else {"closed_at": None}
        version = _bump(conn, zone_id, expected_version, status=wanted.value, **closing)
        _event(
            conn,
            zone_id,
            kind="status",
            actor=actor,
            version=version,
            summary=note,
            details={"from": current.value, "to": wanted.value},
        )
        audit.record(
            conn,
            actor,
            "dispute.status",
            "disputed_zone",
            str(zone_id),
            {"from": current.value, "to": wanted.value},
        )
        return get_zone(conn, zone_id, detail=False)


def add_event(
    engine: Engine,
    zone_id: int,
    *,
    kind: str,
    actor: str,
    expected_version: int | None,
    occurred_at: datetime | None = None,
    summary: str | None = None,
    details: Mapping[str, Any] | None = None,
    geom: BaseGeometry | None = None,
) -> dict[str, Any]:
    """Append a meeting, evidence, proposal, agreement or note to a zone's case file.

    Rules: a meeting needs ``details.place`` and ``details.attendees`` (a non-empty
    list); evidence needs ``details.document``; a proposal needs a geometry (a
    dividing line or the land proposed for one party); an agreement and a note need
    a summary. A closed zone takes only notes and evidence.

    Raises:
        InvalidInput: naming the missing field.
        Conflict: a meeting, proposal or agreement on a closed zone.
        PreconditionFailed: ``expected_version`` given and stale.
    """
    if kind not in EVENT_KINDS:
        raise InvalidInput(
            f"kind must be one of {', '.join(EVENT_KINDS)}",
            problems=[Problem("kind", f"one of {', '.join(EVENT_KINDS)}")],
        )
    info = dict(details or {})
    problems: list[Problem] = []
    if kind == "meeting":
        if not str(info.get("place") or "").strip():
            problems.append(Problem("details.place", "a meeting needs the place"))
        attendees = info.get("attendees")
        if not isinstance(attendees, list) or not attendees:
            problems.append(Problem("details.attendees", "a meeting needs a list of attendees"))
        if occurred_at is None:
            problems.append(Problem("occurred_at", "a meeting needs its date"))
    elif kind == "evidence":
        if not str(info.get("document") or "").strip():
            problems.append(Problem("details.document", "evidence needs a document reference"))
    elif kind == "proposal":
        if geom is None:
            problems.append(
                Problem("geometry", "a proposal needs a dividing line or an assignment polygon")
            )
    elif not (summary or "").strip():
        problems.append(Problem("summary", f"a {kind} needs a summary"))
    if problems:
        raise InvalidInput("; ".join(f"{p.field}: {p.reason}" for p in problems), problems=problems)
    with write_connection(engine) as conn:
        row = _row(conn, zone_id)
        if ZoneStatus(row.status) in CLOSED and kind not in ("note", "evidence"):
            raise Conflict(
                f"zone {zone_id} is {row.status}; its case file takes only notes and evidence",
                problems=[Problem("kind", "closed case")],
            )
        version = _bump(conn, zone_id, expected_version)
        event_id = _event(
            conn,
            zone_id,
            kind=kind,
            actor=actor,
            version=version,
            occurred_at=occurred_at,
            summary=summary,
            details=info,
            geom=geom,
        )
        audit.record(
            conn,
            actor,
            f"dispute.{kind}",
            "disputed_zone",
            str(zone_id),
            {"event": event_id, "summary": summary},
        )
        return next(e for e in list_events(conn, zone_id) if e["id"] == event_id)


#: statuses from which a decision may be applied
DECIDABLE = (ZoneStatus.open, ZoneStatus.under_review, ZoneStatus.agreement)


def apply_decision(
    engine: Engine,
    zone_id: int,
    *,
    actor: str,
    expected_version: int,
    valid_from: datetime,
    parts: Mapping[str, BaseGeometry] | None = None,
    split_along_official_line: bool = False,
    source_reference: str | None = None,
    summary: str | None = None,
    valid_from_given: bool = True,
) -> dict[str, Any]:
    """Divide a zone between its parties, record their new claims and close the zone.

    ``valid_from_given=False``: the caller sent no start and ``valid_from`` is "now"; a
    claim of a party recorded meanwhile is then a ``Conflict`` (repeat the decision),
    not a complaint about a start nobody sent.

    All in one transaction: the parts are checked (they must cover the zone and not
    overlap, within ``geo.disputes.PARTITION_TOLERANCE_M2``), each party whose claim
    changes gets a new claim version (source ``decision``) equal to its claim in
    force without the zone plus its part (every party, even one whose land stays
    the same: the decision becomes the basis of its claim), the zone becomes ``resolved`` and the
    decision enters the case file with the parts as geometry.

    Args:
        parts: cvegeo -> the land it receives (lon/lat); parties left out receive
            nothing of the zone.
        split_along_official_line: instead of ``parts``, each party receives the
            part of the zone inside its official polygon.

    Raises:
        InvalidInput: no parts, a part for a non-party, or parts that miss, double or
            exceed the zone (with the areas).
        Conflict: the zone is not open, under review or in agreement.
        PreconditionFailed: stale ``If-Match``.
    """
    if (parts is None) == (not split_along_official_line):
        raise InvalidInput(
            "give either parts or split_along_official_line",
            problems=[Problem("parts", "parts or split_along_official_line, not both/none")],
        )
    with write_connection(engine) as conn:
        row = _row(conn, zone_id)
        status = ZoneStatus(row.status)
        if status not in DECIDABLE:
            raise Conflict(
                f"a decision applies to a zone that is {', '.join(s.value for s in DECIDABLE)}; "
                f"zone {zone_id} is {status.value}",
                problems=[Problem("status", status.value)],
            )
        version = _bump(
            conn,
            zone_id,
            expected_version,
            status=ZoneStatus.resolved.value,
            closed_at=audit.now(),
        )
        keys = row.parties_key.split(",")
        zone = from_db(row.geom)
        assert zone is not None
        official = official_geometries(conn, keys)
        claimed = geometries_in_force(conn, keys, valid_from)
        base = {k: claimed[k][1] if k in claimed else official[k] for k in keys}
        order = list(keys)
        metric = to_metric(
            np.array([zone] + [base[k] for k in order] + [official[k] for k in order], dtype=object)
        )
        zone_m = metric[0]
        base_m = dict(zip(order, metric[1 : 1 + len(order)], strict=True))
        official_m = dict(zip(order, metric[1 + len(order) :], strict=True))
        if split_along_official_line:
            parts_m = split_by_official(zone_m, official_m)
        else:
            assert parts is not None
            strangers = sorted(set(parts) - set(keys))
            if strangers:
                raise InvalidInput(
                    f"{', '.join(strangers)} is not a party of zone {zone_id} "
                    f"(parties: {', '.join(keys)})",
                    problems=[Problem("parts", f"not a party: {', '.join(strangers)}")],
                )
            parts_m = {k: to_metric(g) for k, g in parts.items()}
        partition = check_partition(zone_m, parts_m)
        new_claims = apply_parts(base_m, zone_m, parts_m)
        new_ll = dict(
            zip(
                new_claims,
                to_lonlat(np.array(list(new_claims.values()), dtype=object)),
                strict=True,
            )
        )
        created: dict[str, int] = {}
        # every party gets a new version, even one whose land does not change: the
        # decision is the new legal basis of both claims
        for key in order:
            geom = as_valid_multipolygon(new_ll[key])
            problems = check_geometries([geom], allowed_types=POLYGONAL)
            if problems:
                raise InvalidInput(
                    f"the new claim of {key} would be invalid: {problems.summary()}",
                    problems=problems.items,
                )
            claim = record_claim(
                conn,
                cvegeo=key,
                geom=geom,
                source=ClaimSource.decision,
                valid_from=valid_from,
                recorded_by=actor,
                source_reference=source_reference or f"disputed zone {zone_id}",
                notes=f"decision on disputed zone {zone_id}",
                valid_from_given=valid_from_given,
            )
            created[key] = int(claim["id"])
        parts_ll = {k: to_lonlat(g) for k, g in parts_m.items() if not g.is_empty}
        _event(
            conn,
            zone_id,
            kind="decision",
            actor=actor,
            version=version,
            summary=summary or "resolución aplicada; la zona queda resuelta",
            details={
                "parts_m2": {k: round(float(g.area), 2) for k, g in parts_m.items()},
                "parts": {k: shapely.geometry.mapping(g) for k, g in parts_ll.items()},
                "claims": created,
                "split_along_official_line": split_along_official_line,
                "missing_m2": round(partition.missing_m2, 3),
                "doubled_m2": round(partition.doubled_m2, 3),
                "source_reference": source_reference,
            },
            # every part together; which party got which is in details.parts
            geom=as_valid_multipolygon(shapely.union_all(list(parts_ll.values())))
            if parts_ll
            else None,
        )
        audit.record(
            conn,
            actor,
            "dispute.decided",
            "disputed_zone",
            str(zone_id),
            {"claims": created, "parts": sorted(parts_m)},
        )
        out = get_zone(conn, zone_id, detail=False)
        out["new_claims"] = created
        return out
