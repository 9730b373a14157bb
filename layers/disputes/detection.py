"""Detection runs in storage: the scope, the inputs, and writing a run's plan.

A run (``services.detection.run_detection``) reads the claims in force here
(``read_inputs``; a municipality with none stands at its official line) and the zones
still open (``open_zones``), lets ``geo.disputes.detect`` and ``geo.detection_plan.plan``
decide what changes, and hands the plan to ``apply_plan``, which writes it in one
transaction: a zone that is still there keeps its id (its geometry history grows when
the land changed), a new one is created as ``detected``, and one that is gone is closed
as ``resolved``, each with an entry in its case file. Unchanged claims give a run that
writes nothing but its own record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import numpy as np
from sqlalchemy import Connection, insert, select, update

from geo.detection_plan import (
    FoundZone,
    OpenZone,
    Plan,
    changed_summary,
    created_summary,
    vanished_summary,
)
from geo.disputes import CLOSED, ZoneKind, ZoneStatus
from geo.errors import NotFound
from geo.metric import to_metric
from layers import audit, reference_changes
from layers.claims import geometries_in_force, official_geometries
from layers.dialects import as_wkb, geometry_from_wkb
from layers.disputes import case_file
from layers.disputes.case_file import CaseEvent
from layers.disputes.scopes import Scope
from layers.geometry_io import from_db, to_db, to_wkb
from layers.schema import (
    SRID,
    detection_runs,
    disputed_zone_geometries,
    disputed_zone_parties,
    disputed_zones,
    municipalities,
)


@dataclass
class Inputs:
    keys: list[str]
    claim_ids: list[int | None]
    claims_m: np.ndarray
    official_m: np.ndarray


def read_inputs(conn: Connection, scope: Scope, as_of: datetime) -> Inputs:
    """The claims in force at ``as_of`` (official line where none) and official polygons."""
    official = official_geometries(conn, scope.cvegeos)
    claimed = geometries_in_force(conn, scope.cvegeos, as_of)
    keys = sorted(official)
    claim_ids = [claimed[k][0] if k in claimed else None for k in keys]
    geoms = [claimed[k][1] if k in claimed else official[k] for k in keys]
    # one projection call for both arrays
    metric = to_metric(np.array(geoms + [official[k] for k in keys], dtype=object))
    return Inputs(keys, claim_ids, metric[: len(keys)], metric[len(keys) :])


def open_zones(conn: Connection, scope: set[str]) -> list[OpenZone]:
    """Detected zones not closed whose parties all lie in ``scope``, with their land in
    lon/lat as stored and in EPSG:6372, and the claim version each party stood on."""
    rows = conn.execute(
        select(
            disputed_zones.c.id,
            disputed_zones.c.kind,
            disputed_zones.c.parties_key,
            as_wkb(conn.dialect, disputed_zones.c.geom, SRID).label("geom"),
            disputed_zones.c.version,
            disputed_zones.c.geom_revision,
            disputed_zones.c.status,
            disputed_zones.c.contested_length_m,
        )
        .where(
            disputed_zones.c.kind.in_([ZoneKind.overlap.value, ZoneKind.gap.value]),
            disputed_zones.c.status.not_in([s.value for s in CLOSED]),
        )
        .order_by(disputed_zones.c.id)
    ).all()
    keep = [r for r in rows if set(r.parties_key.split(",")) <= scope]
    if not keep:
        return []
    claim_ids: dict[int, dict[str, int | None]] = {}
    for chunk in range(0, len(keep), 500):
        ids = [r.id for r in keep[chunk : chunk + 500]]
        for zone_id, cvegeo, claim_id in conn.execute(
            select(
                disputed_zone_parties.c.zone_id,
                disputed_zone_parties.c.cvegeo,
                disputed_zone_parties.c.claim_id,
            ).where(disputed_zone_parties.c.zone_id.in_(ids))
        ):
            claim_ids.setdefault(int(zone_id), {})[str(cvegeo)] = claim_id
    lonlat = np.array([from_db(r.geom) for r in keep], dtype=object)
    geoms = to_metric(lonlat)
    return [
        OpenZone(
            id=int(r.id),
            kind=str(r.kind),
            parties_key=str(r.parties_key),
            geom_m=g,
            version=int(r.version),
            geom_revision=int(r.geom_revision),
            status=str(r.status),
            geom_lonlat=ll,
            contested_length_m=float(r.contested_length_m),
            claim_ids=claim_ids.get(int(r.id), {}),
        )
        for r, g, ll in zip(keep, geoms, lonlat, strict=True)
    ]


@dataclass(frozen=True)
class RunStart:
    """What a run records before it writes any zone."""

    scope: Scope
    as_of: datetime
    min_area_m2: float
    actor: str
    municipalities: int
    official_fallbacks: int
    overlaps: int
    gaps: int
    slivers_ignored: int


def start_run(conn: Connection, start: RunStart) -> int:
    """Insert the run's record (finished by ``apply_plan``); returns its id."""
    pk = conn.execute(
        insert(detection_runs).values(
            scope=start.scope.key,
            scope_label=start.scope.label,
            as_of=start.as_of,
            min_area_m2=start.min_area_m2,
            actor=start.actor,
            started_at=audit.now(),
            municipalities=start.municipalities,
            official_fallbacks=start.official_fallbacks,
            overlaps=start.overlaps,
            gaps=start.gaps,
            slivers_ignored=start.slivers_ignored,
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


@dataclass(frozen=True)
class Applied:
    """The ids ``apply_plan`` touched, and the id of every found zone by index."""

    created: list[int]
    changed: list[int]
    vanished: list[int]
    unchanged: int
    ids_by_index: dict[int, int]


def apply_plan(
    conn: Connection,
    run_id: int,
    scope: Scope,
    actor: str,
    found: Sequence[FoundZone],
    planned: Plan,
    claim_of: Mapping[str, int | None],
    *,
    compute_s: float,
) -> Applied:
    """Write a ``geo.detection_plan.Plan`` in the caller's transaction: new zones with
    their parties and first geometry, changed land with its history, vanished zones
    closed as resolved, each in its case file (through ``case_file.append``), the
    run's counts, the audit, and the inspections' dispute annotation."""
    now = audit.now()
    names = municipality_names(conn, sorted({k for f in found for k in f.zone.parties}))
    events: list[CaseEvent] = []
    for kept in planned.kept:
        if kept.contested_length_m is not None:
            conn.execute(
                update(disputed_zones)
                .where(disputed_zones.c.id == kept.zone_id)
                .values(contested_length_m=kept.contested_length_m)
            )
        _point_parties_at(conn, kept.zone_id, kept.claim_ids)
    stored = to_db([found[c.index].geom_lonlat for c in planned.changed])
    for moved, geom in zip(planned.changed, stored, strict=True):
        measures = found[moved.index].measures
        _point_parties_at(conn, moved.zone_id, moved.claim_ids)
        conn.execute(
            update(disputed_zones)
            .where(disputed_zones.c.id == moved.zone_id)
            .values(
                **measures,
                version=moved.version,
                geom_revision=moved.geom_revision,
                detection_run_id=run_id,
                updated_at=now,
                geom=geom,
            )
        )
        conn.execute(
            insert(disputed_zone_geometries).values(
                zone_id=moved.zone_id,
                revision=moved.geom_revision,
                change="changed",
                detection_run_id=run_id,
                recorded_by=actor,
                recorded_at=now,
                area_m2=measures["area_m2"],
                gained_m2=moved.gained_m2,
                lost_m2=moved.lost_m2,
                geom=geom,
            )
        )
        events.append(
            CaseEvent(
                moved.zone_id,
                "detection",
                actor,
                moved.version,
                summary=changed_summary(run_id, moved.gained_m2, moved.lost_m2),
                details={"run": run_id, "gained_m2": moved.gained_m2, "lost_m2": moved.lost_m2},
            )
        )
    created = _insert_new(
        conn, run_id, scope, actor, now, [found[i] for i in planned.created], claim_of
    )
    for zid, i in zip(created, planned.created, strict=True):
        new = found[i]
        events.append(
            CaseEvent(
                zid,
                "detection",
                actor,
                1,
                summary=created_summary(run_id, new.zone, new.measures["area_ha"], names),
                details={
                    "run": run_id,
                    "scope": scope.key,
                    "kind": new.zone.kind.value,
                    "parties": list(new.zone.parties),
                    "area_ha": new.measures["area_ha"],
                },
            )
        )
    for gone in planned.vanished:
        conn.execute(
            update(disputed_zones)
            .where(disputed_zones.c.id == gone.zone_id)
            .values(
                status=ZoneStatus.resolved.value,
                version=gone.version,
                geom_revision=gone.geom_revision,
                detection_run_id=run_id,
                updated_at=now,
                closed_at=now,
            )
        )
        conn.execute(
            insert(disputed_zone_geometries).values(
                zone_id=gone.zone_id,
                revision=gone.geom_revision,
                change="vanished",
                detection_run_id=run_id,
                recorded_by=actor,
                recorded_at=now,
                area_m2=0.0,
                gained_m2=0.0,
                lost_m2=gone.lost_m2,
                geom=None,
            )
        )
        events.append(
            CaseEvent(
                gone.zone_id,
                "detection",
                actor,
                gone.version,
                summary=vanished_summary(run_id),
                details={"run": run_id, "from": gone.from_status, "to": "resolved"},
            )
        )
    case_file.append(conn, events)
    changed = [c.zone_id for c in planned.changed]
    vanished = [v.zone_id for v in planned.vanished]
    conn.execute(
        update(detection_runs)
        .where(detection_runs.c.id == run_id)
        .values(
            finished_at=audit.now(),
            zones_created=len(created),
            zones_changed=len(changed),
            zones_unchanged=len(planned.kept),
            zones_vanished=len(vanished),
            compute_s=round(compute_s, 3),
        )
    )
    audit.record(
        conn,
        actor,
        "disputes.detected",
        "detection_run",
        str(run_id),
        {
            "scope": scope.key,
            "created": created[:200],
            "changed": changed[:200],
            "vanished": vanished[:200],
            "unchanged": len(planned.kept),
        },
    )
    # inspections' dispute annotation follows the zones before this transaction commits
    reference_changes.changed(conn, disputed_zone_ids=[*created, *changed, *vanished])
    ids_by_index = dict(zip(planned.created, created, strict=True))
    ids_by_index.update(planned.continues)
    return Applied(created, changed, vanished, len(planned.kept), ids_by_index)


def _insert_new(
    conn: Connection,
    run_id: int,
    scope: Scope,
    actor: str,
    now: datetime,
    new: Sequence[FoundZone],
    claim_of: Mapping[str, int | None],
) -> list[int]:
    """Insert new zones, their parties and first geometry revision; returns their ids."""
    if not new:
        return []
    wkb = to_wkb([f.geom_lonlat for f in new])
    rows = [
        {
            "name": None,
            "kind": f.zone.kind.value,
            "status": ZoneStatus.detected.value,
            "parties_key": f.zone.parties_key,
            "scope": scope.key,
            **f.measures,
            "version": 1,
            "geom_revision": 1,
            "detection_run_id": run_id,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "geom_wkb": w,
        }
        for f, w in zip(new, wkb, strict=True)
    ]
    # geometries bound as WKB bytes (many and large: the WKT path is slow)
    geom_value = geometry_from_wkb(conn.dialect, "geom_wkb")
    result = conn.execute(
        insert(disputed_zones)
        .values(geom=geom_value)
        .returning(disputed_zones.c.id, sort_by_parameter_order=True),
        rows,
    )
    created = [int(r[0]) for r in result]
    conn.execute(
        insert(disputed_zone_parties),
        [
            {"zone_id": zid, "cvegeo": key, "claim_id": claim_of.get(key)}
            for zid, f in zip(created, new, strict=True)
            for key in f.zone.parties
        ],
    )
    conn.execute(
        insert(disputed_zone_geometries).values(geom=geom_value),
        [
            {
                "zone_id": zid,
                "revision": 1,
                "change": "detected",
                "detection_run_id": run_id,
                "recorded_by": actor,
                "recorded_at": now,
                "area_m2": row["area_m2"],
                "gained_m2": row["area_m2"],
                "lost_m2": 0.0,
                "geom_wkb": row["geom_wkb"],
            }
            for zid, row in zip(created, rows, strict=True)
        ],
    )
    return created


def _point_parties_at(conn: Connection, zone_id: int, claim_ids: Mapping[str, int | None]) -> None:
    """Point a zone's parties at the claim versions now in force (only those that moved)."""
    for key, claim_id in claim_ids.items():
        conn.execute(
            update(disputed_zone_parties)
            .where(
                disputed_zone_parties.c.zone_id == zone_id,
                disputed_zone_parties.c.cvegeo == key,
            )
            .values(claim_id=claim_id)
        )


def municipality_names(conn: Connection, cvegeos: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        select(municipalities.c.cvegeo, municipalities.c.name).where(
            municipalities.c.cvegeo.in_(list(cvegeos))
        )
    )
    return {str(k): str(v) for k, v in rows}


class DetectionRun(TypedDict):
    """A row of ``detection_runs``, in its column order (``api.wire.disputes.DetectionRun``)."""

    id: int
    scope: str
    scope_label: str
    as_of: datetime
    min_area_m2: float
    actor: str
    started_at: datetime
    finished_at: datetime | None
    municipalities: int
    official_fallbacks: int
    overlaps: int
    gaps: int
    slivers_ignored: int
    zones_created: int
    zones_changed: int
    zones_unchanged: int
    zones_vanished: int
    compute_s: float | None


def _run(r: Any) -> DetectionRun:
    return DetectionRun(
        id=r.id,
        scope=r.scope,
        scope_label=r.scope_label,
        as_of=r.as_of,
        min_area_m2=r.min_area_m2,
        actor=r.actor,
        started_at=r.started_at,
        finished_at=r.finished_at,
        municipalities=r.municipalities,
        official_fallbacks=r.official_fallbacks,
        overlaps=r.overlaps,
        gaps=r.gaps,
        slivers_ignored=r.slivers_ignored,
        zones_created=r.zones_created,
        zones_changed=r.zones_changed,
        zones_unchanged=r.zones_unchanged,
        zones_vanished=r.zones_vanished,
        compute_s=r.compute_s,
    )


def get_run(conn: Connection, run_id: int) -> DetectionRun:
    row = conn.execute(select(detection_runs).where(detection_runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no detection run {run_id}")
    return _run(row)


def list_runs(conn: Connection, limit: int = 50, offset: int = 0) -> list[DetectionRun]:
    rows = conn.execute(
        select(detection_runs).order_by(detection_runs.c.id.desc()).limit(limit).offset(offset)
    )
    return [_run(r) for r in rows]
