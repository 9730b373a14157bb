"""Where claimed boundaries collide: overlaps, gaps, and the rules of a zone's life.

Everything here works in metres (EPSG:6372, see ``geo.metric``) on Shapely arrays;
nothing touches a database. The heavy steps are GEOS's vectorised operations:
an STRtree finds the pairs of claims that meet, ``shapely.intersection`` runs over
all pairs at once, and only the few places where three or more claims pile up are
re-noded locally (``shapely.polygonize``).

Hand-written here, on purpose: the grouping of overlap pieces into faces by party
set (GeoPandas' ``overlay`` does pairs of layers, not n-way coverage of one layer),
and the greedy matching of new zones to old ones (a few lines, no library has it).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import Conflict, InvalidInput, Problem

DEFAULT_MIN_AREA_M2 = 100.0
#: pieces smaller than this are rounding noise of overlays, not counted as slivers
NOISE_M2 = 1.0
#: claims closer than this to a gap border it (overlay output is not bit-exact)
TOUCH_M = 0.01

_POLYGON = 3


class ZoneKind(StrEnum):
    overlap = "overlap"  # claimed by two or more municipalities
    gap = "gap"  # inside the scope, claimed by none
    manual = "manual"  # registered by the commission by hand


class ZoneStatus(StrEnum):
    detected = "detected"
    open = "open"
    under_review = "under_review"
    agreement = "agreement"
    resolved = "resolved"
    dismissed = "dismissed"


#: status -> the statuses a commission member may move it to
MOVES: dict[ZoneStatus, tuple[ZoneStatus, ...]] = {
    ZoneStatus.detected: (ZoneStatus.open, ZoneStatus.dismissed),
    ZoneStatus.open: (ZoneStatus.under_review, ZoneStatus.dismissed),
    ZoneStatus.under_review: (ZoneStatus.agreement, ZoneStatus.open, ZoneStatus.dismissed),
    ZoneStatus.agreement: (ZoneStatus.resolved, ZoneStatus.under_review),
    ZoneStatus.resolved: (),
    ZoneStatus.dismissed: (),
}
#: moves only an admin may make (re-opening a dismissed case)
ADMIN_MOVES: dict[ZoneStatus, tuple[ZoneStatus, ...]] = {
    ZoneStatus.dismissed: (ZoneStatus.open,),
}
CLOSED = (ZoneStatus.resolved, ZoneStatus.dismissed)


def allowed_moves(status: ZoneStatus, *, admin: bool) -> tuple[ZoneStatus, ...]:
    """Where a zone in ``status`` may go, for a commission member or an admin."""
    return MOVES[status] + (ADMIN_MOVES.get(status, ()) if admin else ())


def check_move(current: ZoneStatus, target: ZoneStatus, *, admin: bool) -> None:
    """Raises ``Conflict`` (with the allowed moves) when ``current -> target`` is illegal."""
    allowed = allowed_moves(current, admin=admin)
    if target not in allowed:
        listed = ", ".join(s.value for s in allowed) or "none (the case is closed)"
        raise Conflict(
            f"a zone cannot move from {current.value} to {target.value}; allowed: {listed}",
            problems=[Problem("status", f"allowed from {current.value}: {listed}")],
        )


@dataclass(frozen=True)
class Zone:
    """One detected zone: a connected piece of land with the same parties."""

    kind: ZoneKind
    parties: tuple[str, ...]
    geom: Polygon  # EPSG:6372

    @property
    def parties_key(self) -> str:
        return ",".join(self.parties)


@dataclass
class Detection:
    overlaps: list[Zone] = field(default_factory=list)
    gaps: list[Zone] = field(default_factory=list)
    slivers_ignored: int = 0

    @property
    def zones(self) -> list[Zone]:
        return self.overlaps + self.gaps


def polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of each geometry (collections flattened) and the index they came from."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    # a GeometryCollection may hold a MultiPolygon: flatten once more
    parts2, index2 = shapely.get_parts(parts, return_index=True)
    keep = shapely.get_type_id(parts2) == _POLYGON
    return parts2[keep], index[index2[keep]]


def detect(
    keys: Sequence[str],
    claims: Sequence[BaseGeometry] | np.ndarray,
    official: Sequence[BaseGeometry] | np.ndarray | None = None,
    *,
    min_area_m2: float = DEFAULT_MIN_AREA_M2,
) -> Detection:
    """Overlaps between claims, and gaps inside the official territory claimed by none.

    Args:
        keys: municipality keys (cvegeo), one per claim, distinct.
        claims: each municipality's claimed (Multi)Polygon in EPSG:6372; valid.
        official: the official polygons in the same order (EPSG:6372); their union is
            the territory in which gaps are sought. ``None``: no gap search.
        min_area_m2: connected pieces smaller than this are slivers and are dropped
            (counted in ``slivers_ignored``).

    Returns:
        Zones, each one connected polygon with its parties (sorted keys): for an
        overlap, the municipalities that claim it (two or more: where three claims
        pile up, that piece has three parties); for a gap, the municipalities whose
        official territory it lies in or whose claim borders it. The order is
        deterministic (by parties, then position), so unchanged input gives
        identical output.

    Raises:
        InvalidInput: keys not distinct or lengths that do not match.
    """
    key_arr = np.asarray(keys, dtype=object)
    claim_arr = np.asarray(claims, dtype=object)
    if len(set(keys)) != len(keys) or len(key_arr) != len(claim_arr):
        raise InvalidInput("detection needs one claim per distinct municipality key")
    out = Detection()
    if len(claim_arr) == 0:
        return out
    shapely.prepare(claim_arr)
    tree = shapely.STRtree(claim_arr)

    # --- overlaps: every pair of claims that meets, intersected in one vectorised call
    left, right = tree.query(claim_arr, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    pieces: list[tuple[tuple[str, ...], Polygon]] = []
    if len(left):
        shared = shapely.intersection(claim_arr[left], claim_arr[right])
        polys, which = polygon_parts(shared)
        nonzero = shapely.area(polys) > 0
        for poly, w in zip(polys[nonzero], which[nonzero], strict=True):
            parties = tuple(sorted((str(key_arr[left[w]]), str(key_arr[right[w]]))))
            pieces.append((parties, poly))
    for parties, poly in _split_multiparty(pieces):
        _keep(out.overlaps, out, ZoneKind.overlap, parties, poly, min_area_m2)

    # --- gaps: official land each claim left out, minus what the others reach into it
    if official is not None:
        official_arr = np.asarray(official, dtype=object)
        for kind_, parties, poly in _gaps(key_arr, claim_arr, official_arr, tree):
            _keep(out.gaps, out, kind_, parties, poly, min_area_m2)

    out.overlaps.sort(key=_order)
    out.gaps.sort(key=_order)
    return out


def _gaps(
    key_arr: np.ndarray, claim_arr: np.ndarray, official_arr: np.ndarray, tree: shapely.STRtree
) -> list[tuple[ZoneKind, tuple[str, ...], Polygon]]:
    """Connected land inside the official polygons that no claim covers.

    The official polygons are a coverage (INEGI's touch without overlapping), so the
    land of municipality *i* that another claim *j* covers is the part of *j*'s claim
    outside *j*'s own official polygon (its excess). Each claim's residual (official
    minus claim) is cut by the excesses that reach it: thin rims against thin rims,
    instead of rims against whole claims, which is what makes a national run fast.
    Where the official layer itself overlaps (INEGI: ~10 m² nationwide) a false gap
    of at most that size can appear; it falls below any sensible sliver threshold.
    """
    residual = shapely.difference(official_arr, claim_arr)
    excess = shapely.difference(claim_arr, official_arr)
    res_polys, res_owner = polygon_parts(residual)
    positive = shapely.area(res_polys) > 0
    res_polys, res_owner = res_polys[positive], res_owner[positive]
    if not len(res_polys):
        return []
    exc_polys, _ = polygon_parts(excess)
    exc_polys = exc_polys[shapely.area(exc_polys) > 0]
    reaching: dict[int, list[int]] = defaultdict(list)
    if len(exc_polys):
        r_idx, e_idx = shapely.STRtree(exc_polys).query(res_polys, predicate="intersects")
        for r, e in zip(r_idx, e_idx, strict=True):
            reaching[int(r)].append(int(e))

    def cut(i: int) -> BaseGeometry:
        poly = res_polys[i]
        if i not in reaching:
            return poly
        return shapely.difference(poly, shapely.union_all(exc_polys[reaching[i]]))

    # GEOS releases the GIL: the rims are cut on every core
    left = np.array(_parallel_map(cut, range(len(res_polys))), dtype=object)
    pieces, which = polygon_parts(left)
    positive = shapely.area(pieces) > 0
    pieces, owners = pieces[positive], res_owner[which[positive]]
    # pieces left on either side of an official line touch: they are one gap
    clusters = _clusters(pieces)
    merged: list[Polygon] = []
    parties_of: list[set[str]] = []
    for members in clusters:
        if len(members) == 1:
            polys = [pieces[members[0]]]
        else:
            polys = list(
                polygon_parts(np.array([shapely.union_all(pieces[members])], dtype=object))[0]
            )
        owned = {str(key_arr[owners[m]]) for m in members}
        for poly in polys:
            merged.append(poly)
            parties_of.append(set(owned))
    merged_arr = np.array(merged, dtype=object)
    near_g, near_c = tree.query(merged_arr, predicate="dwithin", distance=TOUCH_M)
    for g, c in zip(near_g, near_c, strict=True):
        parties_of[int(g)].add(str(key_arr[c]))
    return [(ZoneKind.gap, tuple(sorted(parties_of[i])), poly) for i, poly in enumerate(merged)]


def _parallel_map(func: Callable[[int], BaseGeometry], items: range) -> list[BaseGeometry]:
    workers = min(os.cpu_count() or 1, 8)
    if workers == 1 or len(items) < 16:
        return [func(i) for i in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items, chunksize=8))


def _clusters(geoms: np.ndarray, *, positive_overlap: bool = False) -> list[list[int]]:
    """Groups of geometries connected by touching (or, optionally, by shared area)."""
    parent = list(range(len(geoms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(geoms) > 1:
        a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        pair = a < b
        a, b = a[pair], b[pair]
        if positive_overlap and len(a):
            real = shapely.area(shapely.intersection(geoms[a], geoms[b])) > 1e-6
            a, b = a[real], b[real]
        for i, j in zip(a, b, strict=True):
            parent[find(int(i))] = find(int(j))
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(geoms)):
        groups[find(i)].append(i)
    return list(groups.values())


def _order(zone: Zone) -> tuple[str, float, float]:
    point = zone.geom.representative_point()
    return (zone.parties_key, round(point.x, 3), round(point.y, 3))


def _keep(
    into: list[Zone],
    out: Detection,
    kind: ZoneKind,
    parties: tuple[str, ...],
    poly: Polygon,
    min_area_m2: float,
) -> None:
    if poly.area < min_area_m2:
        if poly.area >= NOISE_M2:  # below that it is float noise of the overlay, not land
            out.slivers_ignored += 1
        return
    into.append(Zone(kind, parties, poly))


def _split_multiparty(
    pieces: list[tuple[tuple[str, ...], Polygon]],
) -> list[tuple[tuple[str, ...], Polygon]]:
    """Pairwise overlap pieces, re-cut where they overlap each other (3+ claims).

    Most pieces overlap no other piece and pass through. Clusters of pieces that do
    (with positive shared area) are re-noded: their outlines are polygonized into
    faces, each face gets the parties of every piece containing it, and faces with
    the same parties are merged into connected polygons.
    """
    if len(pieces) < 2:
        return pieces
    geoms = np.array([p for _, p in pieces], dtype=object)
    clusters = _clusters(geoms, positive_overlap=True)
    if len(clusters) == len(pieces):
        return pieces
    out: list[tuple[tuple[str, ...], Polygon]] = []
    for members in clusters:
        if len(members) == 1:
            out.append(pieces[members[0]])
            continue
        outlines = shapely.union_all(shapely.boundary(geoms[members]))
        faces, _ = polygon_parts(np.array([shapely.polygonize([outlines])], dtype=object))
        points = shapely.point_on_surface(faces)
        by_parties: dict[tuple[str, ...], list[Polygon]] = defaultdict(list)
        for face, point in zip(faces, points, strict=True):
            parties: set[str] = set()
            for m in members:
                if geoms[m].contains(point):
                    parties.update(pieces[m][0])
            if parties:
                by_parties[tuple(sorted(parties))].append(face)
        for parties_t, faces_t in by_parties.items():
            merged, _ = polygon_parts(np.array([shapely.union_all(faces_t)], dtype=object))
            out.extend((parties_t, poly) for poly in merged)
    return out


# --- what the commission reads of a zone ------------------------------------------------


def official_line(zone: BaseGeometry, official: Sequence[BaseGeometry]) -> BaseGeometry:
    """The official boundary lines of the given municipalities within 1 m of the zone.

    A line shared by two municipalities is counted once (INEGI's polygons share their
    vertices, so the union dissolves the duplicate).
    """
    reach = zone.buffer(1.0)
    minx, miny, maxx, maxy = reach.bounds
    lines = [
        shapely.intersection(
            shapely.clip_by_rect(shapely.boundary(g), minx, miny, maxx, maxy), reach
        )
        for g in official
    ]
    lines = [line for line in lines if not line.is_empty]
    if not lines:
        return shapely.MultiLineString()
    return shapely.line_merge(shapely.union_all(lines))


def same_geometry(a: BaseGeometry, b: BaseGeometry, tolerance_m2: float = 0.01) -> bool:
    """Whether two metric geometries are the same land (to ``tolerance_m2``)."""
    if shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), 1e-6):
        return True
    return bool(shapely.area(shapely.symmetric_difference(a, b)) <= tolerance_m2)


@dataclass(frozen=True)
class Match:
    previous: dict[int, int]  # index of a current zone -> id of the previous zone it continues
    vanished: list[int]  # ids of previous zones with no successor


def match_zones(
    previous: Sequence[tuple[int, str, str, BaseGeometry]],
    current: Sequence[Zone],
) -> Match:
    """Which new zone continues which old one, so a zone keeps its identity across runs.

    Args:
        previous: (id, kind, parties_key, metric geometry) of zones still open.
        current: zones just detected.

    A new zone continues an old one of the same kind and parties whose land it
    overlaps; when several do, the largest shared areas are paired first, one to one.
    """
    if not previous or not current:
        return Match({}, [p[0] for p in previous])
    prev_geoms = np.array([p[3] for p in previous], dtype=object)
    cur_geoms = np.array([z.geom for z in current], dtype=object)
    tree = shapely.STRtree(prev_geoms)
    c_idx, p_idx = tree.query(cur_geoms, predicate="intersects")
    candidates: list[tuple[float, int, int]] = []
    if len(c_idx):
        shared = shapely.area(shapely.intersection(cur_geoms[c_idx], prev_geoms[p_idx]))
        for c, p, area in zip(c_idx, p_idx, shared, strict=True):
            zone = current[int(c)]
            _pid, kind, parties_key, _g = previous[int(p)]
            if area > 0 and kind == zone.kind.value and parties_key == zone.parties_key:
                candidates.append((float(area), int(c), int(p)))
    candidates.sort(key=lambda t: (-t[0], t[1], t[2]))
    taken_c: dict[int, int] = {}
    taken_p: set[int] = set()
    for _area, c, p in candidates:
        if c in taken_c or p in taken_p:
            continue
        taken_c[c] = previous[p][0]
        taken_p.add(p)
    vanished = [previous[i][0] for i in range(len(previous)) if i not in taken_p]
    return Match(taken_c, vanished)


def change(old: BaseGeometry, new: BaseGeometry) -> tuple[float, float]:
    """(gained_m2, lost_m2) going from ``old`` to ``new`` (metric geometries)."""
    return (
        float(shapely.area(shapely.difference(new, old))),
        float(shapely.area(shapely.difference(old, new))),
    )
