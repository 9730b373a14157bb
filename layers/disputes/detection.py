"""Detection runs: compare the claims in force in a scope and keep the zones up to date.

A run reads the claims in force (a municipality with none stands at its official
line), hands them to ``geo.disputes.detect`` in EPSG:6372, and then, in one write
transaction, matches what it found with the zones still open from earlier runs:
a zone that is still there keeps its id (its geometry history grows when the land
changed), a new one is created as ``detected``, and one that is gone is closed as
``resolved`` with a note in its case file. Unchanged claims give a run that writes
nothing but its own record.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from sqlalchemy import Connection, Engine, insert, select, update

from geo.disputes import (
    CLOSED,
    DEFAULT_MIN_AREA_M2,
    Zone,
    ZoneKind,
    ZoneStatus,
    change,
    detect,
    match_zones,
    same_geometry,
)
from geo.errors import InvalidInput, NotFound, Problem
from geo.measures import measure
from geo.metric import to_lonlat, to_metric
from layers import audit
from layers.claims import claims_from_official, geometries_in_force, official_geometries
from layers.dialects import as_wkb, geometry_from_wkb
from layers.engine import write_connection
from layers.geometry_io import from_db, to_db, to_wkb
from layers.inspections import annotate as inspection_notes
from layers.schema import (
    SRID,
    case_events,
    detection_runs,
    disputed_zone_geometries,
    disputed_zone_parties,
    disputed_zones,
    metro_zone_members,
    metro_zones,
    municipalities,
)


@dataclass(frozen=True)
class Scope:
    key: str  # "zone:20.1.01", "state:20", "set:<digest>"
    label: str
    cvegeos: tuple[str, ...]


def resolve_scope(
    conn: Connection,
    *,
    zone: str | None = None,
    state: str | None = None,
    cvegeos: Sequence[str] | None = None,
    at_least: int = 2,
) -> Scope:
    """The municipalities a run compares: a metro zone's members, a state, or a list.

    Raises:
        InvalidInput: none or several of the three given, or a scope with no
            municipality imported.
        NotFound: an unknown metro zone or municipality key.
    """
    given = [x for x in (zone, state, cvegeos) if x]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of zone (metro zone code), state (2-digit code) or cvegeos",
            problems=[Problem("scope", "exactly one of zone, state, cvegeos")],
        )
    if zone:
        row = conn.execute(
            select(metro_zones.c.name).where(metro_zones.c.code == zone)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(
                f"no metro zone {zone}; import a delimitation first (linde import metro-zones)",
                problems=[Problem("zone", "unknown metro zone")],
            )
        keys = conn.execute(
            select(municipalities.c.cvegeo)
            .join(metro_zone_members, metro_zone_members.c.cvegeo == municipalities.c.cvegeo)
            .where(metro_zone_members.c.zone_code == zone)
            .order_by(municipalities.c.cvegeo)
        ).scalars()
        found = tuple(keys)
        label = f"{row} ({zone})"
        key = f"zone:{zone}"
    elif state:
        found = tuple(
            conn.execute(
                select(municipalities.c.cvegeo)
                .where(municipalities.c.state_code == state)
                .order_by(municipalities.c.cvegeo)
            ).scalars()
        )
        label = f"state {state}"
        key = f"state:{state}"
    else:
        assert cvegeos is not None
        wanted = sorted(set(cvegeos))
        found = tuple(
            conn.execute(
                select(municipalities.c.cvegeo)
                .where(municipalities.c.cvegeo.in_(wanted))
                .order_by(municipalities.c.cvegeo)
            ).scalars()
        )
        unknown = sorted(set(wanted) - set(found))
        if unknown:
            raise NotFound(
                f"no municipality with cvegeo {', '.join(unknown[:10])}",
                problems=[Problem("cvegeos", f"unknown: {', '.join(unknown[:10])}")],
            )
        digest = hashlib.sha256(",".join(wanted).encode()).hexdigest()[:16]
        label = ", ".join(wanted[:8]) + (" …" if len(wanted) > 8 else "")
        key = f"set:{digest}"
    if len(found) < at_least:
        raise InvalidInput(
            f"{label}: fewer than {at_least} of its municipalities are imported; "
            "nothing to compare",
            problems=[Problem("scope", "fewer than two municipalities imported")],
        )
    return Scope(key, f"{label}, {len(found)} municipalities", found)


def official_claims_in_scope(
    engine: Engine,
    *,
    valid_from: datetime,
    recorded_by: str,
    zone: str | None = None,
    state: str | None = None,
    cvegeos: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``claims.claims_from_official`` for every municipality of a scope."""
    with engine.connect() as conn:
        scope = resolve_scope(conn, zone=zone, state=state, cvegeos=cvegeos, at_least=1)
    done = claims_from_official(
        engine, scope.cvegeos, valid_from=valid_from, recorded_by=recorded_by
    )
    return {"scope": scope.key, "scope_label": scope.label, **done}


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


def run_detection(
    engine: Engine,
    *,
    actor: str,
    zone: str | None = None,
    state: str | None = None,
    cvegeos: Sequence[str] | None = None,
    as_of: datetime | None = None,
    min_area_m2: float = DEFAULT_MIN_AREA_M2,
) -> dict[str, Any]:
    """Detect overlaps and gaps in a scope and bring the disputed zones up to date.

    Args:
        actor: who runs it (recorded in the run, the zones' case files and the audit).
        zone, state, cvegeos: the scope (exactly one).
        as_of: compare the claims in force at this moment (default: now).
        min_area_m2: pieces smaller than this are slivers, ignored.

    Returns:
        The run's record: counts of zones created, changed, unchanged and vanished,
        and the zones found (id, kind, parties, area).

    Raises:
        InvalidInput / NotFound: a bad scope or threshold; nothing is written.
    """
    if not (min_area_m2 >= 0):
        raise InvalidInput(
            "min_area_m2 must be a number of square metres, 0 or more",
            problems=[Problem("min_area_m2", "must be >= 0")],
        )
    started = time.perf_counter()
    at = as_of or audit.now()
    if at.tzinfo is None:
        raise InvalidInput("as_of needs a time zone", problems=[Problem("as_of", "no time zone")])
    with engine.connect() as conn:
        scope = resolve_scope(conn, zone=zone, state=state, cvegeos=cvegeos)
        inputs = read_inputs(conn, scope, at)
    found = detect(inputs.keys, inputs.claims_m, inputs.official_m, min_area_m2=min_area_m2)
    zones = found.zones
    measures = measure(zones, dict(zip(inputs.keys, inputs.claims_m, strict=True)))
    lonlat = to_lonlat(np.array([z.geom for z in zones], dtype=object)) if zones else []
    multi = [MultiPolygon([g]) for g in lonlat]
    stored = to_db(multi) if multi else []
    wkb = to_wkb(multi) if multi else []
    compute_s = time.perf_counter() - started
    claim_of = dict(zip(inputs.keys, inputs.claim_ids, strict=True))

    with write_connection(engine) as conn:
        now = audit.now()
        run_id = _insert_pk(
            conn,
            insert(detection_runs).values(
                scope=scope.key,
                scope_label=scope.label,
                as_of=at,
                min_area_m2=min_area_m2,
                actor=actor,
                started_at=now,
                municipalities=len(inputs.keys),
                official_fallbacks=sum(1 for c in inputs.claim_ids if c is None),
                overlaps=len(found.overlaps),
                gaps=len(found.gaps),
                slivers_ignored=found.slivers_ignored,
            ),
        )
        previous = _open_zones(conn, set(scope.cvegeos))
        match = match_zones([(p[0], p[1], p[2], p[3]) for p in previous], zones)
        prev_by_id = {p[0]: p for p in previous}
        created: list[int] = []
        changed: list[int] = []
        unchanged = 0
        new_rows: list[dict[str, Any]] = []
        new_index: list[int] = []
        for i, zone_ in enumerate(zones):
            zone_id = match.previous.get(i)
            if zone_id is None:
                new_index.append(i)
                new_rows.append(
                    {
                        "name": None,
                        "kind": zone_.kind.value,
                        "status": ZoneStatus.detected.value,
                        "parties_key": zone_.parties_key,
                        "scope": scope.key,
                        **measures[i],
                        "version": 1,
                        "geom_revision": 1,
                        "detection_run_id": run_id,
                        "created_by": actor,
                        "created_at": now,
                        "updated_at": now,
                        "geom_wkb": wkb[i],
                    }
                )
                continue
            old = prev_by_id[zone_id]
            # the same computation on the same claims gives the same coordinates: compare
            # what would be stored first, and measure land only when that differs
            if shapely.equals_exact(
                shapely.normalize(multi[i]), shapely.normalize(old[7]), 1e-12
            ) or same_geometry(old[3], zone_.geom):
                unchanged += 1
                # same land; the claims around it may be new versions (a line moved
                # elsewhere): keep the measures and the parties' claim ids current
                if old[8] != measures[i]["contested_length_m"]:
                    conn.execute(
                        update(disputed_zones)
                        .where(disputed_zones.c.id == zone_id)
                        .values(contested_length_m=measures[i]["contested_length_m"])
                    )
                _refresh_claims(conn, zone_id, zone_.parties, old[9], claim_of)
                continue
            _refresh_claims(conn, zone_id, zone_.parties, old[9], claim_of)
            gained, lost = change(old[3], zone_.geom)
            version, revision = old[4] + 1, old[5] + 1
            conn.execute(
                update(disputed_zones)
                .where(disputed_zones.c.id == zone_id)
                .values(
                    **measures[i],
                    version=version,
                    geom_revision=revision,
                    detection_run_id=run_id,
                    updated_at=now,
                    geom=stored[i],
                )
            )
            conn.execute(
                insert(disputed_zone_geometries).values(
                    zone_id=zone_id,
                    revision=revision,
                    change="changed",
                    detection_run_id=run_id,
                    recorded_by=actor,
                    recorded_at=now,
                    area_m2=measures[i]["area_m2"],
                    gained_m2=round(gained, 2),
                    lost_m2=round(lost, 2),
                    geom=stored[i],
                )
            )
            conn.execute(
                insert(case_events).values(
                    zone_id=zone_id,
                    kind="detection",
                    occurred_at=now,
                    recorded_by=actor,
                    recorded_at=now,
                    summary=f"detección {run_id}: la zona cambió, "
                    f"+{gained:,.0f} m² / -{lost:,.0f} m²",
                    details=_json(
                        {"run": run_id, "gained_m2": round(gained, 2), "lost_m2": round(lost, 2)}
                    ),
                    zone_version=version,
                )
            )
            changed.append(zone_id)

        if new_rows:
            # geometries bound as WKB bytes (many and large: the WKT path is slow)
            geom_value = geometry_from_wkb(conn.dialect, "geom_wkb")
            result = conn.execute(
                insert(disputed_zones)
                .values(geom=geom_value)
                .returning(disputed_zones.c.id, sort_by_parameter_order=True),
                new_rows,
            )
            created = [int(r[0]) for r in result]
            conn.execute(
                insert(disputed_zone_parties),
                [
                    {"zone_id": zid, "cvegeo": key, "claim_id": claim_of.get(key)}
                    for zid, i in zip(created, new_index, strict=True)
                    for key in zones[i].parties
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
                    for zid, row in zip(created, new_rows, strict=True)
                ],
            )
            conn.execute(
                insert(case_events),
                [
                    {
                        "zone_id": zid,
                        "kind": "detection",
                        "occurred_at": now,
                        "recorded_by": actor,
                        "recorded_at": now,
                        "summary": f"detección {run_id}: {_describe(zones[i])}, "
                        f"{row['area_ha']:,.2f} ha",
                        "details": _json({"run": run_id, "scope": scope.key}),
                        "zone_version": 1,
                        "geom": None,
                    }
                    for zid, i, row in zip(created, new_index, new_rows, strict=True)
                ],
            )

        for zone_id in match.vanished:
            old = prev_by_id[zone_id]
            version, revision = old[4] + 1, old[5] + 1
            conn.execute(
                update(disputed_zones)
                .where(disputed_zones.c.id == zone_id)
                .values(
                    status=ZoneStatus.resolved.value,
                    version=version,
                    geom_revision=revision,
                    detection_run_id=run_id,
                    updated_at=now,
                    closed_at=now,
                )
            )
            conn.execute(
                insert(disputed_zone_geometries).values(
                    zone_id=zone_id,
                    revision=revision,
                    change="vanished",
                    detection_run_id=run_id,
                    recorded_by=actor,
                    recorded_at=now,
                    area_m2=0.0,
                    gained_m2=0.0,
                    lost_m2=round(float(shapely.area(old[3])), 2),
                    geom=None,
                )
            )
            conn.execute(
                insert(case_events).values(
                    zone_id=zone_id,
                    kind="detection",
                    occurred_at=now,
                    recorded_by=actor,
                    recorded_at=now,
                    summary=f"detección {run_id}: los reclamos vigentes ya no dejan esta zona; "
                    "se cierra como resuelta",
                    details=_json({"run": run_id, "from": old[6], "to": "resolved"}),
                    zone_version=version,
                )
            )

        conn.execute(
            update(detection_runs)
            .where(detection_runs.c.id == run_id)
            .values(
                finished_at=audit.now(),
                zones_created=len(created),
                zones_changed=len(changed),
                zones_unchanged=unchanged,
                zones_vanished=len(match.vanished),
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
                "vanished": match.vanished[:200],
                "unchanged": unchanged,
            },
        )
        ids_by_index = dict(zip(new_index, created, strict=True))
        ids_by_index.update(match.previous)
        # inspections' dispute annotation follows the zones, in this same transaction
        inspection_notes.refresh_for_zones(conn, [*created, *changed, *match.vanished])
        run = get_run(conn, run_id)
    run["zones"] = [
        {
            "id": ids_by_index[i],
            "kind": z.kind.value,
            "parties": list(z.parties),
            "area_m2": measures[i]["area_m2"],
            "area_ha": measures[i]["area_ha"],
            "contested_length_m": measures[i]["contested_length_m"],
        }
        for i, z in enumerate(zones)
    ]
    # which zones this run made, moved or closed, so a page can point at them
    run["created"], run["changed"], run["vanished"] = created, changed, list(match.vanished)
    run["seconds"] = round(time.perf_counter() - started, 3)
    return run


def _refresh_claims(
    conn: Connection,
    zone_id: int,
    parties: Sequence[str],
    stored: dict[str, int | None],
    current: dict[str, int | None],
) -> None:
    """Point a zone's parties at the claim versions now in force (only where they moved)."""
    for key in parties:
        if stored.get(key) != current.get(key):
            conn.execute(
                update(disputed_zone_parties)
                .where(
                    disputed_zone_parties.c.zone_id == zone_id,
                    disputed_zone_parties.c.cvegeo == key,
                )
                .values(claim_id=current.get(key))
            )


def _describe(zone: Zone) -> str:
    """The zone as Linde's case-file entry names it (in Spanish: commission members read it)."""
    if zone.kind is ZoneKind.overlap:
        return "traslape reclamado por " + ", ".join(zone.parties)
    return "hueco que nadie reclama, junto a " + ", ".join(zone.parties)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _insert_pk(conn: Connection, statement: Any) -> int:
    pk = conn.execute(statement).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def _open_zones(
    conn: Connection, scope: set[str]
) -> list[tuple[int, str, str, Any, int, int, str, Any, float, dict[str, int | None]]]:
    """Detected zones not closed whose parties all lie in the scope: (id, kind,
    parties_key, metric geom, version, geom_revision, status, lon/lat geom,
    contested_length_m, {party: claim id})."""
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
        (
            int(r.id),
            str(r.kind),
            str(r.parties_key),
            g,
            int(r.version),
            int(r.geom_revision),
            str(r.status),
            ll,
            float(r.contested_length_m),
            claim_ids.get(int(r.id), {}),
        )
        for r, g, ll in zip(keep, geoms, lonlat, strict=True)
    ]


def municipality_names(conn: Connection, cvegeos: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        select(municipalities.c.cvegeo, municipalities.c.name).where(
            municipalities.c.cvegeo.in_(list(cvegeos))
        )
    )
    return {str(k): str(v) for k, v in rows}


def get_run(conn: Connection, run_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(detection_runs).where(detection_runs.c.id == run_id)).mappings().first()
    )
    if row is None:
        raise NotFound(f"no detection run {run_id}")
    return dict(row)


def list_runs(conn: Connection, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(detection_runs).order_by(detection_runs.c.id.desc()).limit(limit).offset(offset)
    ).mappings()
    return [dict(r) for r in rows]
