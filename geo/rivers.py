"""Linear referencing of points against river lines, vectorised (Shapely 2 / GEOS).

Everything here works in a projected, metric CRS (Linde uses EPSG:6372); callers
project lon/lat first.

Direction: a river line is taken to run **downstream in the direction it is
stored** (first vertex = upstream end). That is how Natural Earth digitises its
river centrelines (the Atoyac line starts at (-96.918, 17.301), north of Oaxaca
city, and runs south with the flow). So the chainage of a point is the length
along the line from its first vertex to the point's projection on it, and the
bank side is the side of the line the point lies on when looking along it (left
bank / right bank, the hydrographic convention of looking downstream). A source
digitised against the flow must be reversed before it is imported. For a
MultiLineString the parts are measured one after another in stored order, as
GEOS does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: inspection points farther than this from a river line are not part of its map
DEFAULT_NEAR_M = 1000.0


@dataclass(frozen=True)
class RiverMeasures:
    """For each point: which line is nearest and where the point lies against it.

    Arrays have one entry per input point; ``line`` is -1 (and the floats NaN,
    ``side`` empty) where no line lies within the search distance.
    """

    line: np.ndarray  # int index into the lines given
    distance_m: np.ndarray
    chainage_m: np.ndarray
    #: "left" / "right" looking downstream; "" on the line itself or with no line
    side: np.ndarray


class RiverNetwork:
    """River lines cut into straight segments under an STRtree, built once, asked many times.

    Building costs about as much as measuring thousands of points, so a caller that
    measures a point at a time (``/lookup``, one inspection) keeps a network while
    the lines do not change.

    Args:
        lines: LineStrings / MultiLineStrings in a metric CRS, stored downstream.
    """

    def __init__(self, lines: np.ndarray | Sequence[BaseGeometry]) -> None:
        arr = np.asarray(lines, dtype=object)
        self.size = int(arr.size)
        self._seg = _segments(arr) if arr.size else None
        self._tree: shapely.STRtree | None = None
        if self._seg is not None and self._seg.start.shape[0]:
            segments = shapely.linestrings(np.stack([self._seg.start, self._seg.end], axis=1))
            self._tree = shapely.STRtree(np.asarray(segments, dtype=object))

    def measure(
        self, points: np.ndarray | Sequence[BaseGeometry], *, max_distance_m: float
    ) -> RiverMeasures:
        """Nearest line, distance, chainage from the upstream end and bank side of each point.

        Args:
            points: Points in the lines' CRS. Empty or missing points get no river.
            max_distance_m: Lines farther than this from a point are not considered.

        Returns:
            :class:`RiverMeasures`. Ties between equally near lines go to one of them.

        The nearest segment of each point is found with the STRtree: a
        point-to-segment distance is constant work, where a point-to-line distance
        walks the whole line. Where the nearest place is a vertex, the side is taken
        against the bisector of the two segments meeting there, so a point off a bend
        gets the side it visibly lies on.
        """
        pts = np.asarray(points, dtype=object)
        n = pts.size
        line_idx = np.full(n, -1, dtype=np.int64)
        distance = np.full(n, np.nan)
        chainage = np.full(n, np.nan)
        side = np.full(n, "", dtype=object)
        seg, tree = self._seg, self._tree
        if n == 0 or seg is None or tree is None:
            return RiverMeasures(line_idx, distance, chainage, side)
        ip, iseg = tree.query_nearest(
            pts, max_distance=max_distance_m, all_matches=False, return_distance=False
        )
        if ip.size == 0:
            return RiverMeasures(line_idx, distance, chainage, side)
        q = shapely.get_coordinates(pts[ip])
        a, b = seg.start[iseg], seg.end[iseg]
        d = b - a
        length2 = np.einsum("ij,ij->i", d, d)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(np.einsum("ij,ij->i", q - a, d) / length2, 0.0, 1.0)
        t = np.where(length2 > 0, t, 0.0)
        foot = a + d * t[:, None]
        dist = np.hypot(q[:, 0] - foot[:, 0], q[:, 1] - foot[:, 1])
        seg_len = np.sqrt(length2)
        unit = np.divide(d, seg_len[:, None], out=np.zeros_like(d), where=seg_len[:, None] > 0)
        # at a vertex, look along the bisector of the segments meeting there
        direction = unit.copy()
        at_end = (t >= 1.0) & seg.has_next[iseg]
        at_start = (t <= 0.0) & seg.has_prev[iseg]
        direction[at_end] += _unit(seg.end[iseg[at_end] + 1] - seg.start[iseg[at_end] + 1])
        direction[at_start] += _unit(seg.end[iseg[at_start] - 1] - seg.start[iseg[at_start] - 1])
        v = q - foot
        cross = direction[:, 0] * v[:, 1] - direction[:, 1] * v[:, 0]

        line_idx[ip] = seg.line[iseg]
        distance[ip] = dist
        chainage[ip] = seg.offset[iseg] + t * seg_len
        side[ip] = np.where(dist <= 1e-9, "", np.where(cross > 0, "left", "right"))
        return RiverMeasures(line_idx, distance, chainage, side)

    def measure_point(
        self, x: float, y: float, *, max_distance_m: float
    ) -> tuple[int, float, float, str] | None:
        """``measure`` for one point, in plain floats: (line, distance_m, chainage_m, side).

        ``None`` when no line lies within ``max_distance_m``. The same arithmetic as
        ``measure`` without arrays: for one point NumPy's per-call overhead is most of
        the cost, and ``/lookup`` asks one point per request.
        """
        seg, tree = self._seg, self._tree
        if seg is None or tree is None:
            return None
        hit = tree.query_nearest(
            shapely.Point(x, y), max_distance=max_distance_m, all_matches=False
        )
        if hit.size == 0:
            return None
        i = int(hit[0])
        ax, ay = float(seg.start[i, 0]), float(seg.start[i, 1])
        dx, dy = float(seg.end[i, 0]) - ax, float(seg.end[i, 1]) - ay
        length2 = dx * dx + dy * dy
        t = min(max(((x - ax) * dx + (y - ay) * dy) / length2, 0.0), 1.0) if length2 > 0 else 0.0
        fx, fy = ax + dx * t, ay + dy * t
        dist = math.hypot(x - fx, y - fy)
        seg_len = math.sqrt(length2)
        ux, uy = (dx / seg_len, dy / seg_len) if seg_len > 0 else (0.0, 0.0)
        # at a vertex, look along the bisector of the segments meeting there
        if t >= 1.0 and seg.has_next[i]:
            nx, ny = _unit_xy(seg.end[i + 1] - seg.start[i + 1])
            ux, uy = ux + nx, uy + ny
        elif t <= 0.0 and seg.has_prev[i]:
            px, py = _unit_xy(seg.end[i - 1] - seg.start[i - 1])
            ux, uy = ux + px, uy + py
        cross = ux * (y - fy) - uy * (x - fx)
        side = "" if dist <= 1e-9 else ("left" if cross > 0 else "right")
        return int(seg.line[i]), dist, float(seg.offset[i]) + t * seg_len, side


def measure_against_rivers(
    points: np.ndarray | Sequence[BaseGeometry],
    lines: np.ndarray | Sequence[BaseGeometry],
    *,
    max_distance_m: float,
) -> RiverMeasures:
    """``RiverNetwork(lines).measure(points, max_distance_m=…)``, for a one-off question."""
    return RiverNetwork(lines).measure(points, max_distance_m=max_distance_m)


@dataclass(frozen=True)
class _Segments:
    start: np.ndarray  # (m, 2)
    end: np.ndarray  # (m, 2)
    line: np.ndarray  # index of the line each segment belongs to
    offset: np.ndarray  # length along its line up to the segment's start
    has_prev: np.ndarray  # the previous segment continues the same part
    has_next: np.ndarray


def _segments(lines: np.ndarray) -> _Segments:
    """Every straight segment of every line, parts measured one after another."""
    parts, part_line = shapely.get_parts(lines, return_index=True)
    coords, vertex_part = shapely.get_coordinates(parts, return_index=True)
    same = vertex_part[1:] == vertex_part[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    seg_part = vertex_part[:-1][same]
    line = part_line[seg_part]
    length = np.hypot(end[:, 0] - start[:, 0], end[:, 1] - start[:, 1])
    offset = np.zeros(len(length))
    if len(length):
        cumulative = np.cumsum(length) - length  # running total over all lines
        first_of_line = np.concatenate(([True], line[1:] != line[:-1]))
        line_start = np.maximum.accumulate(np.where(first_of_line, np.arange(len(line)), 0))
        offset = cumulative - cumulative[line_start]
    has_prev = np.concatenate(([False], seg_part[1:] == seg_part[:-1]))
    has_next = np.concatenate((seg_part[1:] == seg_part[:-1], [False]))
    return _Segments(start, end, line, offset, has_prev, has_next)


def _unit_xy(d: np.ndarray) -> tuple[float, float]:
    norm = math.hypot(float(d[0]), float(d[1]))
    return (float(d[0]) / norm, float(d[1]) / norm) if norm > 0 else (0.0, 0.0)


def _unit(d: np.ndarray) -> np.ndarray:
    norm = np.hypot(d[:, 0], d[:, 1])[:, None]
    return np.divide(d, norm, out=np.zeros_like(d), where=norm > 0)
