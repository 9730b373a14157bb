"""Writes of a disputed zone: registering one by hand, renaming it, moving its status,
appending to its case file.

Every edit of a zone is guarded by its ``version``: the statement that changes the
zone carries ``WHERE version = <what the caller read>``, so of two people who read
version 3, the first write wins and the second gets ``StaleVersion`` instead of
silently overwriting (on both engines: the check and the change are one statement).
The case file only ever grows (``case_file.append``). The front doors turn their own
way of naming a version (HTTP's ``If-Match``, see ``api.concurrency``) into the
``expected_version`` integer these functions take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, insert, update

from geo.disputes import CLOSED, ZoneKind, ZoneStatus, check_move
from geo.errors import Conflict, InvalidInput, NotFound, Problem, StaleVersion
from geo.measures import outlines, zone_measures
from geo.metric import to_metric
from layers import audit, reference_changes
from layers.claims import geometries_in_force, official_geometries
from layers.disputes import case_file
from layers.disputes.case_file import EVENT_KINDS, CaseEvent
from layers.disputes.rows import CaseEventRow, Zone
from layers.disputes.zones import _row, get_zone, list_events
from layers.engine import write_connection
from layers.geometry_io import to_db
from layers.schema import disputed_zone_geometries, disputed_zone_parties, disputed_zones

_z = disputed_zones.c


def _bump(conn: Connection, zone_id: int, expected: int | None, **values: Any) -> int:
    """Raise the zone's version (and set ``values``) if it is still ``expected``.

    Returns the new version. ``expected`` None (an append that named no version)
    takes whatever version is current.
    """
    current = _row(conn, zone_id)
    if expected is not None and current.version != expected:
        raise StaleVersion(
            f"zone {zone_id} changed since you read it (you have version {expected}, it is "
            f"now {current.version}); read it again and redo your change",
            current_version=current.version,
            problems=[Problem("version", "stale")],
        )
    base = expected if expected is not None else current.version
    result = conn.execute(
        update(disputed_zones)
        .where(_z.id == zone_id, _z.version == base)
        .values(version=base + 1, updated_at=audit.now(), **values)
    )
    if result.rowcount != 1:  # another writer got in between the read and this statement
        raise StaleVersion(
            f"zone {zone_id} changed while you were editing it; read it again",
            current_version=None,
            problems=[Problem("version", "stale")],
        )
    if "status" in values or "geom" in values:  # inspections' dispute annotation follows
        reference_changes.changed(conn, disputed_zone_ids=[zone_id])
    return base + 1


def _event(conn: Connection, zone_id: int, **entry: Any) -> int:
    """One entry in the zone's case file, through the one writer (``case_file``)."""
    return case_file.append_one(conn, CaseEvent(zone_id=zone_id, **entry))


def register_zone(
    engine: Engine,
    *,
    name: str,
    geom: BaseGeometry,
    parties: Sequence[str],
    actor: str,
    notes: str | None = None,
) -> Zone:
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
        reference_changes.changed(conn, disputed_zone_ids=[zone_id])
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
) -> Zone:
    """Rename a zone or change its notes (guarded by the version the caller read)."""
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
) -> Zone:
    """Move a zone to another status by the rules of ``geo.disputes.MOVES``.

    Raises:
        InvalidInput: an unknown status.
        Conflict: a move the rules do not allow (the message lists the allowed ones).
        StaleVersion: the zone changed since the caller read it.
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
            _bump(conn, zone_id, expected_version)  # raises StaleVersion with the current one
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
) -> CaseEventRow:
    """Append a meeting, evidence, proposal, agreement or note to a zone's case file.

    Rules: a meeting needs ``details.place`` and ``details.attendees`` (a non-empty
    list); evidence needs ``details.document``; a proposal needs a geometry (a
    dividing line or the land proposed for one party); an agreement and a note need
    a summary. A closed zone takes only notes and evidence.

    Raises:
        InvalidInput: naming the missing field.
        Conflict: a meeting, proposal or agreement on a closed zone.
        StaleVersion: ``expected_version`` given and stale.
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
