"""CQL2's temporal functions (T_AFTER … T_STARTS) over instants and intervals.

An instant is an interval that starts and ends at once. Each function is the
standard's relation between the ends of its two intervals (Allen's interval
algebra, CQL2 1.0 §7.10), written with ``<``/``=`` on those ends. An end may be a
row's value (SQL), a moment from the filter, or open (``..``): comparisons with an
open end are decided here, without SQL. Dates are midnight UTC.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal, or_, true

from layers.cql2.operands import Bound, Expr, Interval
from layers.schema import UTCDateTime

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "=": operator.eq,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_OPEN_START, _OPEN_END = "-inf", "+inf"
End = ColumnElement[Any] | datetime | str


def _end(bound: Bound, open_as: str) -> End:
    if bound is None:
        return open_as
    if isinstance(bound, Expr):
        return bound.sql
    return bound


def _compare(a: End, op: str, b: End) -> ColumnElement[bool]:
    """``a op b`` where an open end is below (start) or above (end) every moment."""
    if isinstance(a, str) or isinstance(b, str):
        rank = {_OPEN_START: -1, _OPEN_END: 1}
        ra = rank[a] if isinstance(a, str) else 0
        rb = rank[b] if isinstance(b, str) else 0
        if ra == rb == 0:  # unreachable: one of them is open
            raise AssertionError
        return true() if _OPS[op](ra, rb) else false()
    if isinstance(a, datetime) and isinstance(b, datetime):
        return true() if _OPS[op](a, b) else false()
    left = a if not isinstance(a, datetime) else literal(a, type_=UTCDateTime())
    right = b if not isinstance(b, datetime) else literal(b, type_=UTCDateTime())
    return _OPS[op](left, right)


def _relation(name: str, s1: End, e1: End, s2: End, e2: End) -> ColumnElement[bool]:
    c = _compare
    relations: dict[str, Callable[[], ColumnElement[bool]]] = {
        "t_after": lambda: c(s1, ">", e2),
        "t_before": lambda: c(e1, "<", s2),
        "t_contains": lambda: and_(c(s1, "<", s2), c(e1, ">", e2)),
        "t_disjoint": lambda: or_(c(e1, "<", s2), c(s1, ">", e2)),
        "t_during": lambda: and_(c(s1, ">", s2), c(e1, "<", e2)),
        "t_equals": lambda: and_(c(s1, "=", s2), c(e1, "=", e2)),
        "t_finishedby": lambda: and_(c(s1, "<", s2), c(e1, "=", e2)),
        "t_finishes": lambda: and_(c(s1, ">", s2), c(e1, "=", e2)),
        "t_intersects": lambda: and_(c(s1, "<=", e2), c(e1, ">=", s2)),
        "t_meets": lambda: c(e1, "=", s2),
        "t_metby": lambda: c(s1, "=", e2),
        "t_overlappedby": lambda: and_(c(s1, ">", s2), c(s1, "<", e2), c(e1, ">", e2)),
        "t_overlaps": lambda: and_(c(s1, "<", s2), c(e1, ">", s2), c(e1, "<", e2)),
        "t_startedby": lambda: and_(c(s1, "=", s2), c(e1, ">", e2)),
        "t_starts": lambda: and_(c(s1, "=", s2), c(e1, "<", e2)),
    }
    return relations[name]()


NAMES = (
    "t_after",
    "t_before",
    "t_contains",
    "t_disjoint",
    "t_during",
    "t_equals",
    "t_finishedby",
    "t_finishes",
    "t_intersects",
    "t_meets",
    "t_metby",
    "t_overlappedby",
    "t_overlaps",
    "t_startedby",
    "t_starts",
)


def predicate(name: str, a: Interval, b: Interval) -> ColumnElement[bool]:
    """The temporal function ``name`` (lower case) between two intervals (instants as
    intervals of one moment)."""
    s1, e1 = _end(a.start, _OPEN_START), _end(a.end, _OPEN_END)
    s2, e2 = _end(b.start, _OPEN_START), _end(b.end, _OPEN_END)
    return _relation(name, s1, e1, s2, e2)
