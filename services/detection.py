"""The "run detection" use case: read, decide (pure), write.

``POST /detection-runs``, ``linde disputes detect`` and the demo all call
``run_detection``. The steps are one function each: ``layers.disputes.detection``
reads the scope, the claims in force and the zones still open; ``geo.disputes.detect``
finds overlaps and gaps; ``geo.detection_plan.plan`` says which zones appear, change
or vanish; ``layers.disputes.detection.apply_plan`` writes that in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

import numpy as np
from shapely.geometry import MultiPolygon
from sqlalchemy import Engine

from geo.detection_plan import FoundZone, plan
from geo.disputes import DEFAULT_MIN_AREA_M2, detect
from geo.errors import InvalidInput, Problem
from geo.measures import measure
from geo.metric import to_lonlat
from layers import audit
from layers.disputes import detection as store
from layers.disputes.scopes import resolve_scope
from layers.engine import write_connection


class FoundZoneRow(TypedDict):
    """A zone a run found, by the id it has now (``api.wire.disputes.FoundZone``)."""

    id: int
    kind: str
    parties: list[str]
    area_m2: float
    area_ha: float
    contested_length_m: float


class DetectionResult(store.DetectionRun):
    """The run's row, the zones it found and what it did to them
    (``api.wire.disputes.DetectionResult``)."""

    zones: list[FoundZoneRow]
    created: list[int]
    changed: list[int]
    vanished: list[int]
    seconds: float


def run_detection(
    engine: Engine,
    *,
    actor: str,
    zone: str | None = None,
    state: str | None = None,
    cvegeos: Sequence[str] | None = None,
    as_of: datetime | None = None,
    min_area_m2: float = DEFAULT_MIN_AREA_M2,
) -> DetectionResult:
    """Detect overlaps and gaps in a scope and bring the disputed zones up to date.

    Args:
        actor: who runs it (recorded in the run, the zones' case files and the audit).
        zone, state, cvegeos: the scope (exactly one).
        as_of: compare the claims in force at this moment (default: now).
        min_area_m2: pieces smaller than this are slivers, ignored.

    Returns:
        The run's record: counts of zones created, changed, unchanged and vanished,
        the zones found (id, kind, parties, area) and the ids created, changed and
        vanished.

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
        inputs = store.read_inputs(conn, scope, at)
    detected = detect(inputs.keys, inputs.claims_m, inputs.official_m, min_area_m2=min_area_m2)
    zones = detected.zones
    measures = measure(zones, dict(zip(inputs.keys, inputs.claims_m, strict=True)))
    lonlat = to_lonlat(np.array([z.geom for z in zones], dtype=object)) if zones else []
    found = [
        FoundZone(z, m, MultiPolygon([g])) for z, m, g in zip(zones, measures, lonlat, strict=True)
    ]
    compute_s = time.perf_counter() - started
    claim_of = dict(zip(inputs.keys, inputs.claim_ids, strict=True))

    with write_connection(engine) as conn:
        run_id = store.start_run(
            conn,
            store.RunStart(
                scope=scope,
                as_of=at,
                min_area_m2=min_area_m2,
                actor=actor,
                municipalities=len(inputs.keys),
                official_fallbacks=sum(1 for c in inputs.claim_ids if c is None),
                overlaps=len(detected.overlaps),
                gaps=len(detected.gaps),
                slivers_ignored=detected.slivers_ignored,
            ),
        )
        # the open zones are read in the write transaction, so two runs cannot both
        # continue (or both close) the same zone
        planned = plan(store.open_zones(conn, set(scope.cvegeos)), found, claim_of)
        applied = store.apply_plan(
            conn, run_id, scope, actor, found, planned, claim_of, compute_s=compute_s
        )
        run = store.get_run(conn, run_id)
    return DetectionResult(
        **run,
        zones=[
            FoundZoneRow(
                id=applied.ids_by_index[i],
                kind=f.zone.kind.value,
                parties=list(f.zone.parties),
                area_m2=f.measures["area_m2"],
                area_ha=f.measures["area_ha"],
                contested_length_m=f.measures["contested_length_m"],
            )
            for i, f in enumerate(found)
        ],
        # which zones this run made, moved or closed, so a page can point at them
        created=applied.created,
        changed=applied.changed,
        vanished=applied.vanished,
        seconds=round(time.perf_counter() - started, 3),
    )
