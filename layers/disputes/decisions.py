"""A commission's decision on a disputed zone: divide it between its parties, record
their new claims and close the zone, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine

from geo.disputes import ZoneStatus
from geo.errors import Conflict, InvalidInput, Problem
from geo.metric import to_lonlat, to_metric
from geo.validation import POLYGONAL, check_geometries
from geo.zone_decisions import (
    apply_parts,
    as_valid_multipolygon,
    check_partition,
    split_by_official,
)
from layers import audit
from layers.claims import ClaimSource, geometries_in_force, official_geometries, record_claim
from layers.disputes.rows import DecidedZone
from layers.disputes.zone_edits import _bump, _event
from layers.disputes.zones import _row, get_zone
from layers.engine import write_connection
from layers.geometry_io import from_db

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
) -> DecidedZone:
    """Divide a zone between its parties, record their new claims and close the zone.

    ``valid_from_given=False``: the caller sent no start and ``valid_from`` is "now"; a
    claim of a party recorded meanwhile is then a ``Conflict`` (repeat the decision),
    not a complaint about a start nobody sent.

    All in one transaction: the parts are checked (they must cover the zone and not
    overlap, within ``geo.zone_decisions.PARTITION_TOLERANCE_M2``), each party whose claim
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
        StaleVersion: ``expected_version`` is not the current one.
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
        return DecidedZone(**get_zone(conn, zone_id, detail=False), new_claims=created)
