"""Proposals drawn on a zone's map: their balance per party, and their recording.

The page draws the land one party would receive; :func:`preview` says, per party, what
it would receive and gain or lose against the official line (``geo.proposals``), and
:func:`record` puts the proposal in the case file with that balance and the drawing,
guarded by the zone version the page read. :func:`parts_of` turns a recorded proposal
into the parts of a decision, so adopting it runs the ordinary decision.
"""

from __future__ import annotations

import json

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, select

from geo.errors import InvalidInput, NotFound, Problem
from geo.metric import to_lonlat, to_metric
from geo.proposals import balance, proposal_parts
from layers.claims import official_geometries
from layers.disputes import zone_edits, zones
from layers.disputes.rows import CaseEventRow, PartyBalance, ProposalPreview
from layers.engine import on_read_connection
from layers.geometry_io import from_db
from layers.schema import case_events, disputed_zones


def _zone(conn: Connection, zone_id: int) -> tuple[BaseGeometry, list[str]]:
    row = conn.execute(
        select(disputed_zones.c.geom, disputed_zones.c.parties_key).where(
            disputed_zones.c.id == zone_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no disputed zone {zone_id}", problems=[Problem("zone_id", "unknown")])
    geom = from_db(row.geom)
    assert geom is not None
    return geom, row.parties_key.split(",") if row.parties_key else []


def preview(conn: Connection, zone_id: int, proposed: BaseGeometry, party: str) -> ProposalPreview:
    """What each party would receive under a proposal giving ``party`` the zone inside
    ``proposed`` (lon/lat polygon), against the official line.

    Returns:
        ``{"party", "parties": [{cvegeo, name, receives_m2, official_m2, gains_m2,
        loses_m2}], "parts": {cvegeo: GeoJSON}}``.

    Raises:
        InvalidInput: see ``geo.proposals.proposal_parts``.
        NotFound: no such zone.
    """
    zone, keys = _zone(conn, zone_id)
    official = official_geometries(conn, keys)
    order = list(keys)
    metric = to_metric(np.array([zone, proposed] + [official[k] for k in order], dtype=object))
    zone_m, proposed_m = metric[0], metric[1]
    official_m = dict(zip(order, metric[2:], strict=True))
    parts_m = proposal_parts(zone_m, proposed_m, party, order)
    sums = balance(zone_m, official_m, parts_m)
    names = {p["cvegeo"]: p["name"] for p in zones.get_zone(conn, zone_id, detail=False)["parties"]}
    return ProposalPreview(
        party=party,
        parties=[
            PartyBalance(
                cvegeo=k,
                name=names.get(k, k),
                receives_m2=sums[k]["receives_m2"],
                official_m2=sums[k]["official_m2"],
                gains_m2=sums[k]["gains_m2"],
                loses_m2=sums[k]["loses_m2"],
            )
            for k in order
        ],
        parts={
            k: shapely.geometry.mapping(shapely.orient_polygons(to_lonlat(g)))
            for k, g in parts_m.items()
            if not g.is_empty
        },
    )


def record(
    engine: Engine,
    zone_id: int,
    *,
    proposed: BaseGeometry,
    party: str,
    actor: str,
    expected_version: int,
    summary: str | None = None,
) -> CaseEventRow:
    """Append the proposal to the case file (``kind='proposal'``): the drawing as its
    geometry, ``details.party`` and ``details.balance`` as :func:`preview` measured them.

    Raises:
        InvalidInput, NotFound: as :func:`preview`.
        StaleVersion: the zone changed since ``expected_version`` was read.
        Conflict: the zone is closed.
    """
    seen = on_read_connection(engine, lambda conn: preview(conn, zone_id, proposed, party))
    return zone_edits.add_event(
        engine,
        zone_id,
        kind="proposal",
        actor=actor,
        expected_version=expected_version,
        summary=summary,
        details={"party": party, "balance": seen["parties"]},
        geom=proposed,
    )


def parts_of(conn: Connection, zone_id: int, event_id: int) -> dict[str, BaseGeometry]:
    """The decision parts (cvegeo -> lon/lat land) of the zone's proposal ``event_id``.

    Raises:
        NotFound: the zone has no proposal with that id.
        InvalidInput: the proposal is a line or names no party (recorded through the
            API without a drawing): it cannot be adopted as it is.
    """
    t = case_events.c
    row = conn.execute(
        select(t.details, t.geom).where(
            t.id == event_id, t.zone_id == zone_id, t.kind == "proposal"
        )
    ).first()
    if row is None:
        raise NotFound(
            f"zone {zone_id} has no proposal {event_id}",
            problems=[Problem("proposal_id", "unknown")],
        )
    details = json.loads(row.details) if row.details else {}
    drawn = from_db(row.geom) if row.geom is not None else None
    party = details.get("party")
    if drawn is None or drawn.area == 0 or not party:
        raise InvalidInput(
            f"proposal {event_id} gives no land to a named party; adopt a drawn proposal",
            problems=[Problem("proposal_id", "not a drawn proposal")],
        )
    zone, keys = _zone(conn, zone_id)
    metric = to_metric(np.array([zone, drawn], dtype=object))
    parts_m = proposal_parts(metric[0], metric[1], str(party), keys)
    return {k: to_lonlat(g) for k, g in parts_m.items() if not g.is_empty}
