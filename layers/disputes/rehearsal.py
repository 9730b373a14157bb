"""A decision rehearsed before it is confirmed: the very ``decisions.apply_decision``, run
in a transaction that is rolled back.

The preview the commission sees is therefore what confirming would do, checks and
refusals included (a stale version, parts that miss the zone, a claim that would be
invalid): it is the same code on the same rows, stopped before the commit. Nothing of
a rehearsal stays: the new claims, the case-file entry, the audit row and the zone's
version all go with the rollback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
import shapely
from sqlalchemy import Connection, Engine, select

from geo.metric import to_metric
from layers.claims import geometries_in_force
from layers.disputes import decisions
from layers.disputes.rows import DecisionPart, DecisionPreview, Zone
from layers.disputes.zones import get_zone
from layers.engine import write_connection
from layers.geometry_io import from_db
from layers.schema import case_events, claims, disputed_zones, municipalities


class _Rehearsed(Exception):
    """Carries the outcome out of the transaction it rolls back."""

    def __init__(self, outcome: DecisionPreview) -> None:
        super().__init__("rehearsal")
        self.outcome = outcome


class _OneConnection:
    """Stands in for the engine: ``write_connection`` on it yields the rehearsal's own
    connection, inside the transaction the rehearsal will roll back."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execution_options(self, **_options: Any) -> _OneConnection:
        return self

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        yield self._conn


def preview_decision(engine: Engine, zone_id: int, **decision: Any) -> DecisionPreview:
    """What ``decisions.apply_decision(engine, zone_id, **decision)`` would do, undone.

    Returns:
        ``{"zone": <the zone as it would be>, "parties": [{cvegeo, name, part_m2,
        claim_before_m2, claim_after_m2}], "parts": {cvegeo: GeoJSON}}``: per party
        the land it would receive and the area of its claim in force before and after.

    Raises:
        Whatever ``apply_decision`` raises for the same input (nothing is written).
    """
    try:
        with write_connection(engine) as conn:
            keys = _parties(conn, zone_id)
            found = geometries_in_force(conn, keys, decision["valid_from"])
            before = _areas({k: geom for k, (_, geom) in found.items()})
            decided = decisions.apply_decision(
                cast(Engine, _OneConnection(conn)), zone_id, **decision
            )
            # the zone as the decision left it, read again in the same transaction
            zone = get_zone(conn, zone_id, detail=False)
            raise _Rehearsed(_outcome(conn, zone_id, zone, decided["new_claims"], before))
    except _Rehearsed as done:
        return done.outcome


def _parties(conn: Connection, zone_id: int) -> list[str]:
    key = conn.execute(
        select(disputed_zones.c.parties_key).where(disputed_zones.c.id == zone_id)
    ).scalar()
    return key.split(",") if key else []  # no zone: apply_decision says so


def _areas(geoms: dict[str, Any]) -> dict[str, float]:
    keys = list(geoms)
    metric = to_metric(np.array([geoms[k] for k in keys], dtype=object)) if keys else []
    return {k: round(float(g.area), 2) for k, g in zip(keys, metric, strict=True)}


def _outcome(
    conn: Connection,
    zone_id: int,
    zone: Zone,
    created: dict[str, int],
    before: dict[str, float],
) -> DecisionPreview:
    t = case_events.c
    details = json.loads(
        conn.execute(
            select(t.details)
            .where(t.zone_id == zone_id, t.kind == "decision")
            .order_by(t.id.desc())
            .limit(1)
        ).scalar_one()
    )
    rows = conn.execute(
        select(claims.c.cvegeo, claims.c.geom, municipalities.c.name)
        .join(municipalities, municipalities.c.cvegeo == claims.c.cvegeo)
        .where(claims.c.id.in_(list(created.values())))
    ).all()
    after = _areas({r.cvegeo: from_db(r.geom) for r in rows})
    names = {r.cvegeo: r.name for r in rows}
    parties = [
        DecisionPart(
            cvegeo=key,
            name=names.get(key, key),
            part_m2=details["parts_m2"].get(key, 0.0),
            claim_before_m2=before.get(key),
            claim_after_m2=after.get(key),
        )
        for key in sorted(created)
    ]
    return DecisionPreview(
        zone=zone,
        parties=parties,
        parts={
            k: shapely.geometry.mapping(shapely.orient_polygons(shapely.geometry.shape(g)))
            for k, g in details["parts"].items()
        },
        split_along_official_line=details["split_along_official_line"],
    )
