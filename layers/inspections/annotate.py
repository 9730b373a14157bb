"""Annotating inspection points against the reference layers, many points at a time.

An annotation says, for one point: the municipality that officially holds it, the
municipalities whose claim in force at the observation time contains it, the
disputed zone it falls in (with the parties), the metro zones of its municipality,
and the nearest river with distance, chainage, bank side and whether the point is
inside that river's federal zone (see ``geo.rivers`` for the direction rule).

The reference layers are read once per call for the points' bounding box and the
point-in-polygon and nearest-line work is done vectorised with Shapely (prepared
polygons asked about coordinate arrays; an STRtree of river segments),
so annotating 100,000 points costs a handful of queries, not 100,000. Reading the
disputed zones and the rivers, and measuring along rivers, is in
``layers.inspections.reference_layers``.

Consistency: annotations are written in the same transaction as the inspection,
and ``refresh`` is called by every write that changes a reference layer
(municipality import, metro-zone import, claims, river import, disputed zones)
inside that write's own transaction. A reader therefore sees either the old
boundaries with the old annotations or the new with the new, never a mix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, bindparam, or_, select, update

from layers import audit
from layers.dialects import BBox, bbox_candidates
from layers.inspections.reference_layers import (
    RIVER_COLUMNS,
    RIVER_ROW_COLUMNS,
    RIVER_SEARCH_RADIUS_M,
    Columns,
    DisputedZone,
    RiverSet,
    bbox_around,
    dispute_text,
    geometry_bbox,
    load_disputed_zones,
    river_columns,
    shapes_from_db,
)
from layers.schema import (
    claims,
    disputed_zones,
    inspections,
    metro_zone_members,
    metro_zones,
    municipalities,
    rivers,
)

#: The annotation columns of ``inspections``, in the order ``annotate`` fills them.
COLUMNS = (
    "municipality_cvegeo",
    "municipality_name",
    "claim_cvegeos",
    "metro_zone_codes",
    "disputed_zone_id",
    "dispute",
    *RIVER_COLUMNS,
)


def _holding(
    polygons: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(point index, polygon index) pairs where a polygon holds the point, edges included.

    Few polygons, many points: each polygon is prepared once and asked about the
    coordinates inside its bounding box (``intersects_xy``), with no Point objects made.
    """
    found_points: list[np.ndarray] = []
    found_polygons: list[np.ndarray] = []
    for g, polygon in enumerate(polygons):
        x0, y0, x1, y1 = polygon.bounds
        candidates = np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
        if candidates.size == 0:
            continue
        shapely.prepare(polygon)
        inside = candidates[shapely.intersects_xy(polygon, lon[candidates], lat[candidates])]
        found_points.append(inside)
        found_polygons.append(np.full(inside.size, g, dtype=np.int64))
    if not found_points:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(found_points), np.concatenate(found_polygons)


def _lowest_per_point(ip: np.ndarray, ig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For (point, polygon) pairs, the lowest polygon index of each point."""
    order = np.lexsort((ig, ip))
    ip, ig = ip[order], ig[order]
    first = np.concatenate(([True], ip[1:] != ip[:-1])) if ip.size else np.zeros(0, bool)
    return ip[first], ig[first]


@dataclass
class Reference:
    """The reference layers around a set of points, loaded once, queried many times.

    ``load`` reads what meets the points' bounding box (rivers: widened by the search
    radius); ``annotate`` then needs no database, so a large import can annotate batch
    after batch while earlier batches stream to the database.
    """

    muni_keys: np.ndarray
    muni_names: np.ndarray
    muni_zones: np.ndarray
    muni_geoms: np.ndarray
    claim_rows: list[Any]
    claim_geoms: np.ndarray
    zones: list[DisputedZone]
    rivers: RiverSet

    @classmethod
    def load(
        cls,
        conn: Connection,
        lon: np.ndarray,
        lat: np.ndarray,
        *,
        river_set: RiverSet | None = None,
    ) -> Reference:
        """Read the layers around the points.

        Args:
            river_set: the rivers to measure against (``cached_rivers``); by default
                those within ``RIVER_SEARCH_RADIUS_M`` of the points are read.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        empty = np.empty(0, dtype=object)
        if lon.size == 0:
            return cls(empty, empty, empty, empty, [], empty, [], RiverSet.from_rows([]))
        box = bbox_around(lon, lat)
        dialect = conn.dialect
        zones: dict[str, list[str]] = defaultdict(list)
        rows = list(
            conn.execute(
                select(municipalities.c.cvegeo, municipalities.c.name, municipalities.c.geom)
                .where(bbox_candidates(dialect, municipalities, box))
                .order_by(municipalities.c.cvegeo)
            ).all()
        )
        keys = [r.cvegeo for r in rows]
        for start in range(0, len(keys), 500):
            for member in conn.execute(
                select(metro_zone_members.c.cvegeo, metro_zones.c.code)
                .join(metro_zones, metro_zones.c.code == metro_zone_members.c.zone_code)
                .where(metro_zone_members.c.cvegeo.in_(keys[start : start + 500]))
                .order_by(metro_zones.c.delimitation_year.desc(), metro_zones.c.code)
            ):
                zones[member.cvegeo].append(member.code)
        claim_rows = list(
            conn.execute(
                select(
                    claims.c.cvegeo, claims.c.valid_from, claims.c.valid_to, claims.c.geom
                ).where(bbox_candidates(dialect, claims, box))
            ).all()
        )
        if river_set is None:
            river_set = RiverSet.from_rows(
                conn.execute(
                    select(*RIVER_ROW_COLUMNS)
                    .where(
                        bbox_candidates(
                            dialect, rivers, bbox_around(lon, lat, RIVER_SEARCH_RADIUS_M)
                        )
                    )
                    .order_by(rivers.c.id)
                ).all()
            )
        return cls(
            muni_keys=np.asarray([r.cvegeo for r in rows], dtype=object),
            muni_names=np.asarray([r.name for r in rows], dtype=object),
            muni_zones=np.asarray([",".join(zones[r.cvegeo]) or None for r in rows], dtype=object),
            muni_geoms=shapes_from_db([r.geom for r in rows]),
            claim_rows=claim_rows,
            claim_geoms=shapes_from_db([r.geom for r in claim_rows]),
            zones=load_disputed_zones(conn, box),
            rivers=river_set,
        )

    def annotate(
        self, lon: np.ndarray, lat: np.ndarray, observed_at: Sequence[datetime]
    ) -> Columns:
        """Annotation columns (``COLUMNS`` plus ``annotated_at``) for each point."""
        n = len(lon)
        out: Columns = {c: [None] * n for c in COLUMNS}
        out["annotated_at"] = [audit.now()] * n
        if n == 0:
            return out
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        # official municipality: the first by key among those holding the point (as /lookup)
        if self.muni_geoms.size:
            ip, ig = _lowest_per_point(*_holding(self.muni_geoms, lon, lat))
            for column, values in (
                ("municipality_cvegeo", self.muni_keys),
                ("municipality_name", self.muni_names),
                ("metro_zone_codes", self.muni_zones),
            ):
                filled = np.full(n, None, dtype=object)
                filled[ip] = values[ig]
                out[column] = filled.tolist()
        # claims in force at the observation time
        if self.claim_geoms.size:
            ip, ig = _holding(self.claim_geoms, lon, lat)
            held: dict[int, set[str]] = defaultdict(set)
            for p, g in zip(ip.tolist(), ig.tolist(), strict=True):
                claim = self.claim_rows[g]
                when = observed_at[p]
                if claim.valid_from <= when and (claim.valid_to is None or claim.valid_to > when):
                    held[p].add(claim.cvegeo)
            for p, keys_held in held.items():
                out["claim_cvegeos"][p] = ",".join(sorted(keys_held))
        # disputed zone (the one with the lowest id when zones overlap; zones come by id)
        if self.zones:
            ip, ig = _lowest_per_point(
                *_holding(np.asarray([z.geom for z in self.zones], dtype=object), lon, lat)
            )
            for p, g in zip(ip.tolist(), ig.tolist(), strict=True):
                out["disputed_zone_id"][p] = self.zones[g].id
                out["dispute"][p] = dispute_text(self.zones[g].parties)
        if self.rivers.network.size:
            out.update(river_columns(self.rivers, lon, lat))
        return out


def annotate(
    conn: Connection,
    lon: np.ndarray,
    lat: np.ndarray,
    observed_at: Sequence[datetime],
) -> Columns:
    """Annotation values (``COLUMNS`` plus ``annotated_at``) for each lon/lat point.

    Args:
        lon, lat: coordinates in EPSG:4326, already checked to lie in Mexico.
        observed_at: when each point was observed (UTC-aware); claims are taken as
            in force at that moment.

    Returns:
        Columns of one value per point. A point outside every municipality has
        ``municipality_cvegeo`` None; with no river within ``RIVER_SEARCH_RADIUS_M``
        the river fields are None.
    """
    return Reference.load(conn, lon, lat).annotate(lon, lat, observed_at)


def refresh(
    conn: Connection,
    *,
    bboxes: Sequence[BBox] = (),
    municipality_keys: Sequence[str] = (),
    claim_keys: Sequence[str] = (),
    river_ids: Sequence[int] = (),
    disputed_zone_ids: Sequence[int] = (),
    metro_zone_codes: Sequence[str] = (),
    unannotated: bool = False,
    everything: bool = False,
) -> int:
    """Recompute the annotations of the inspections a reference change may affect.

    Call it inside the transaction that made the change, after the change. The
    inspections considered are those in any of ``bboxes`` (give the old and the new
    extent of a changed geometry; rivers: widened by ``RIVER_SEARCH_RADIUS_M``, see
    ``river_bbox``) and those whose current annotation names one of the keys given.
    Only rows whose annotation actually changes are written.

    Returns:
        How many inspections got a new annotation.
    """
    i = inspections.c
    if len(bboxes) > 20:  # one envelope instead of a long OR
        bboxes = [
            (
                min(b[0] for b in bboxes),
                min(b[1] for b in bboxes),
                max(b[2] for b in bboxes),
                max(b[3] for b in bboxes),
            )
        ]
    conditions: list[Any] = [bbox_candidates(conn.dialect, inspections, b) for b in bboxes]
    if unannotated:
        conditions.append(i.annotated_at.is_(None))
    for code in sorted(set(metro_zone_codes)):
        conditions.append(i.metro_zone_codes.contains(code))
    if municipality_keys:
        conditions.append(i.municipality_cvegeo.in_(sorted(set(municipality_keys))))
    for key in sorted(set(claim_keys)):
        conditions.append(i.claim_cvegeos.contains(key))
    if river_ids:
        conditions.append(i.river_id.in_(sorted(set(river_ids))))
    if disputed_zone_ids:
        conditions.append(i.disputed_zone_id.in_(sorted(set(disputed_zone_ids))))
    if not conditions and not everything:
        return 0
    query = select(i.id, i.observed_at, i.geom, *(i[c] for c in COLUMNS))
    if not everything:
        query = query.where(or_(*conditions))
    current = conn.execute(query).all()
    if not current:
        return 0
    pts = shapes_from_db([r.geom for r in current])
    fresh = annotate(
        conn,
        shapely.get_x(pts),
        shapely.get_y(pts),
        [r.observed_at for r in current],
    )
    changed = []
    for k, row in enumerate(current):
        if unannotated or any(_differs(row._mapping[c], fresh[c][k]) for c in COLUMNS):
            changed.append(
                {"k": row.id, **{f"v_{c}": fresh[c][k] for c in (*COLUMNS, "annotated_at")}}
            )
    if changed:
        conn.execute(
            update(inspections)
            .where(i.id == bindparam("k"))
            .values({c: bindparam(f"v_{c}") for c in (*COLUMNS, "annotated_at")}),
            changed,
        )
    return len(changed)


def refresh_for_zones(conn: Connection, zone_ids: Sequence[int]) -> int:
    """``refresh`` after disputed zones were registered, moved, reshaped, closed or reopened.

    Takes the inspections stored against these zones (their old extent) and those in
    the zones' current extent; call it in the transaction of the change.
    """
    ids = sorted(set(zone_ids))
    if not ids:
        return 0
    geoms = conn.execute(
        select(disputed_zones.c.geom).where(
            disputed_zones.c.id.in_(ids), disputed_zones.c.geom.is_not(None)
        )
    ).scalars()
    bboxes = [geometry_bbox(g) for g in shapes_from_db(list(geoms)) if g is not None]
    return refresh(conn, bboxes=bboxes, disputed_zone_ids=ids)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return abs(old - new) > 0.005
    return bool(old != new)
