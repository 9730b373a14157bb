"""Reading the reference layers an inspection annotation needs, and measuring along rivers.

The disputed zones still open around a bounding box (with their parties' names), the
rivers as one segment index in EPSG:6372 (``RiverSet``; kept per process while the
rivers layer's change counter is unchanged, ``cached_rivers``), the river columns of
many points at once, and the bounding boxes a reference change touches. The
annotation itself (``layers.inspections.annotate``) combines these with the
municipalities, claims and metro zones.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import Connection, Engine, select

from geo.rivers import RiverNetwork
from layers.dialects import BBox, bbox_candidates
from layers.geometry_io import from_db
from layers.schema import (
    disputed_zone_parties,
    disputed_zones,
    layer_versions,
    municipalities,
    rivers,
)

#: The river columns of an annotation, in the order ``river_columns`` fills them.
RIVER_COLUMNS = (
    "river_id",
    "river_name",
    "river_distance_m",
    "chainage_m",
    "bank_side",
    "in_federal_zone",
)

#: A river farther than this from a point is not "its" river (no river is given).
RIVER_SEARCH_RADIUS_M = 25_000.0

_TO_METRIC = Transformer.from_crs(4326, 6372, always_xy=True)

#: Annotations of many points: column name -> one value per point.
Columns = dict[str, list[Any]]


@dataclass(frozen=True)
class DisputedZone:
    id: int
    geom: Any  # shapely, lon/lat
    parties: tuple[str, ...]  # municipality names


#: Zone statuses that no longer make a point's responsibility disputed.
CLOSED_DISPUTE_STATUSES = ("resolved", "dismissed")


def load_disputed_zones(conn: Connection, bbox: BBox) -> list[DisputedZone]:
    """Disputed zones still open (status not resolved/dismissed) meeting ``bbox``,
    each with its parties' names ordered by municipal key."""
    z, p = disputed_zones.c, disputed_zone_parties.c
    rows = conn.execute(
        select(z.id, z.geom)
        .where(
            bbox_candidates(conn.dialect, disputed_zones, bbox),
            z.status.not_in(CLOSED_DISPUTE_STATUSES),
        )
        .order_by(z.id)
    ).all()
    if not rows:
        return []
    names: dict[int, list[str]] = defaultdict(list)
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        for party in conn.execute(
            select(p.zone_id, municipalities.c.name)
            .join(municipalities, municipalities.c.cvegeo == p.cvegeo)
            .where(p.zone_id.in_(ids[start : start + 500]))
            .order_by(p.zone_id, p.cvegeo)
        ):
            names[party.zone_id].append(party.name)
    geoms = shapes_from_db([r.geom for r in rows])
    return [
        DisputedZone(r.id, g, tuple(names[r.id]))
        for r, g in zip(rows, geoms, strict=True)
        if names[r.id]
    ]


def dispute_text(parties: Sequence[str]) -> str:
    """``"responsabilidad en disputa entre A y B"`` (``"A, B y C"`` for three)."""
    names = list(parties)
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} y {names[-1]}"
    return f"responsabilidad en disputa entre {joined}"


@dataclass(frozen=True)
class RiverSet:
    """Rivers with their lines in EPSG:6372 under one segment index (``RiverNetwork``)."""

    ids: np.ndarray
    names: np.ndarray
    widths: np.ndarray  # federal zone width, m
    network: RiverNetwork

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> RiverSet:
        return cls(
            ids=np.asarray([r.id for r in rows], dtype=object),
            names=np.asarray([r.name for r in rows], dtype=object),
            widths=np.asarray([r.federal_zone_width_m for r in rows], dtype=float),
            network=RiverNetwork(
                np.asarray(
                    shapely.transform(shapes_from_db([r.geom for r in rows]), to_metric),
                    dtype=object,
                )
            ),
        )


RIVER_ROW_COLUMNS = (rivers.c.id, rivers.c.name, rivers.c.federal_zone_width_m, rivers.c.geom)
_RIVERS_VERSION = select(layer_versions.c.version).where(layer_versions.c.layer == "rivers")

#: database URL -> (the rivers layer's change counter, every river of it)
_river_sets: dict[str, tuple[int, RiverSet]] = {}


def cached_rivers(conn: Connection, version: int | None = None) -> RiverSet:
    """Every river of the database, kept in this process while the rivers layer is unchanged.

    Reading and indexing the rivers costs milliseconds, a point's measure microseconds:
    ``/lookup`` and inspection saves measure against this copy. It is checked
    against the layer's change counter (``layer_versions``, bumped by a trigger on
    every write, from any process), passed in as ``version`` when the caller read it
    in its own statement; so a copy is never used after the rivers changed.

    Only for connections that have not written rivers themselves in an open
    transaction (a rolled-back change would leave a copy under a counter value that
    a later, different change reaches again): river imports use ``Reference.load``
    without it.
    """
    if version is None:
        version = int(conn.execute(_RIVERS_VERSION).scalar_one())
    held = held_rivers(conn.engine, version)
    if held is not None:
        return held
    # counter first, then the rows: at worst the copy is newer than its counter and
    # is simply loaded again once the counter catches up
    river_set = RiverSet.from_rows(
        conn.execute(select(*RIVER_ROW_COLUMNS).order_by(rivers.c.id)).all()
    )
    _river_sets[_database_key(conn.engine)] = (version, river_set)
    return river_set


def held_rivers(engine: Engine, version: int) -> RiverSet | None:
    """This process's copy of the rivers if it was read at change counter ``version``
    (see :func:`cached_rivers`); ``None`` when it must be read again."""
    held = _river_sets.get(_database_key(engine))
    return held[1] if held is not None and held[0] == version else None


def _database_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def river_columns(river_set: RiverSet, lon: np.ndarray, lat: np.ndarray) -> Columns:
    """The river annotation columns of lon/lat points: nearest river within
    ``RIVER_SEARCH_RADIUS_M``, distance and chainage (m, EPSG:6372), bank side and
    whether the point lies in that river's federal zone; None where no river is near."""
    n = len(lon)
    out: Columns = {c: [None] * n for c in RIVER_COLUMNS}
    x, y = _TO_METRIC.transform(lon, lat)
    measures = river_set.network.measure(
        np.asarray(shapely.points(x, y), dtype=object), max_distance_m=RIVER_SEARCH_RADIUS_M
    )
    found = np.flatnonzero(measures.line >= 0)
    if found.size == 0:
        return out
    which = measures.line[found]
    distance = measures.distance_m[found]
    values = {
        "river_id": river_set.ids[which],
        "river_name": river_set.names[which],
        "river_distance_m": np.round(distance, 2),
        "chainage_m": np.round(measures.chainage_m[found], 2),
        "bank_side": np.asarray([side or None for side in measures.side[found]], dtype=object),
        "in_federal_zone": distance <= river_set.widths[which],
    }
    for column, column_values in values.items():
        filled = np.full(n, None, dtype=object)
        filled[found] = column_values
        out[column] = filled.tolist()
    return out


class RiverAt(TypedDict):
    """The nearest river to a point, as ``/lookup`` gives it."""

    id: int
    name: str
    distance_m: float
    chainage_m: float
    bank_side: str | None
    in_federal_zone: bool


def river_at(river_set: RiverSet, lon: float, lat: float) -> RiverAt | None:
    """``river_columns`` for one lon/lat point, as ``/lookup`` gives it: the nearest river
    within ``RIVER_SEARCH_RADIUS_M`` (id, name, distance_m, chainage_m, bank_side,
    in_federal_zone), or None."""
    x, y = _TO_METRIC.transform(lon, lat)
    measured = river_set.network.measure_point(x, y, max_distance_m=RIVER_SEARCH_RADIUS_M)
    if measured is None:
        return None
    line, distance, chainage, side = measured
    return RiverAt(
        id=int(river_set.ids[line]),
        name=str(river_set.names[line]),
        distance_m=round(distance, 2),
        chainage_m=round(chainage, 2),
        bank_side=side or None,
        in_federal_zone=bool(distance <= river_set.widths[line]),
    )


def bbox_around(lon: np.ndarray, lat: np.ndarray, margin_m: float = 0.0) -> BBox:
    dlat = margin_m / 110_574.0
    dlon = margin_m / (111_320.0 * max(math.cos(math.radians(float(np.max(np.abs(lat))))), 0.1))
    return (
        float(lon.min()) - dlon,
        float(lat.min()) - dlat,
        float(lon.max()) + dlon,
        float(lat.max()) + dlat,
    )


def shapes_from_db(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [from_db(v) for v in values]
    return out


def to_metric(xy: np.ndarray) -> np.ndarray:
    return np.column_stack(_TO_METRIC.transform(xy[:, 0], xy[:, 1]))


def river_bbox(geom: Any) -> BBox:
    """The bounding box of a river line (lon/lat) widened by the river search radius."""
    x0, y0, x1, y1 = shapely.bounds(geom)
    return bbox_around(np.array([x0, x1]), np.array([y0, y1]), RIVER_SEARCH_RADIUS_M)


def geometry_bbox(geom: Any) -> BBox:
    x0, y0, x1, y1 = (float(v) for v in shapely.bounds(geom))
    return (x0, y0, x1, y1)
