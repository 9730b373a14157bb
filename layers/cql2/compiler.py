"""Linde's compiler from CQL2-JSON (as ``cql2`` reads it) to a SQLAlchemy condition.

No name or value from the filter reaches SQL as text: a property name is only a
key into the queryables, every literal is a bound parameter, a geometry travels as
WKT in a bound parameter. Kinds are checked before any SQL is built, so a
mismatch is a 400 naming the property, the value and where, never a database error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Float,
    Table,
    Text,
    and_,
    false,
    literal,
    or_,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from geo.crs import Crs
from layers.cql2 import backend, spatial, temporal
from layers.cql2.functions import ARITHMETIC, Functions, moment
from layers.cql2.operands import (
    Array,
    Expr,
    Geom,
    Interval,
    Lit,
    describe,
    kind_of,
)
from layers.cql2.predicates import COMPARISONS, Predicates
from layers.cql2.source import (
    Source,
    date_problem,
    fail,
    instant_problem,
    parse_timestamp,
    shorten,
    timestamp_problem,
)
from layers.schema import UTCDateTime

#: nesting of groups, NOT and functions; long AND/OR chains do not count
MAX_DEPTH = 32
#: properties, literals, predicates and list items, all told
MAX_TERMS = 2_000
GEOMETRY_NAMES = ("geometry", "geom")
TOO_DEEP = f"nested too deeply: at most {MAX_DEPTH} levels of grouped AND/OR, NOT and functions"

# literal kind -> the row kinds it may be compared with
_COMPATIBLE: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "number": ("number",),
    "boolean": ("boolean",),
    "datetime": ("datetime", "date"),
    "date": ("date", "datetime"),
}
_BIND_TYPES: dict[str, TypeEngine[Any]] = {
    # Generic types on purpose: binding as the column's VARCHAR(5) would make
    # PostgreSQL cut a longer value down to five characters before comparing.
    "text": Text(),
    "boolean": Boolean(),
    "datetime": UTCDateTime(),
    "date": Date(),
}
_ARITHMETIC = ("+", "-", "*", "/", "%", "div", "^")
_ARRAY_OPS = ("a_equals", "a_contains", "a_containedby", "a_overlaps")
#: written between their operands in cql2-text: no function name to point at
_OPERATORS = frozenset(
    ["and", "or", "not", "like", "between", "in", "isnull", *COMPARISONS, *_ARITHMETIC]
)
_KNOWN = frozenset(
    [
        *_OPERATORS,
        "casei",
        "accenti",
        *spatial.OPS,
        *temporal.NAMES,
        *_ARRAY_OPS,
    ]
)


class Compiler(Functions, Predicates):
    """Walks one filter's tree; ``compile`` gives the condition."""

    def __init__(
        self,
        source: Source,
        properties: Mapping[str, ColumnElement[Any]],
        geometry: ColumnElement[Any],
        table: Table,
        dialect: Dialect,
        crs: Crs,
        arrays: frozenset[str],
    ) -> None:
        self.source = source
        self.properties = properties
        self.geometry = geometry
        self.table = table
        self.dialect = dialect
        self.crs = crs
        self.arrays = arrays
        self.depth = 0
        self.terms = 0
        self.property_uses: dict[str, int] = {}
        self.function_uses: dict[str, int] = {}
        self.spatial_context: list[str] = []

    def compile(self) -> ColumnElement[bool]:
        return self.condition(self.walk(self.source.tree), "the filter")

    # walking ----------------------------------------------------------------------------

    def walk(self, node: Any) -> Any:
        self.terms += 1
        if self.terms > MAX_TERMS:
            fail(f"too complex: more than {MAX_TERMS:,} terms")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                fail(TOO_DEEP)
            return self._node(node)
        finally:
            self.depth -= 1

    def _node(self, node: Any) -> Any:
        if node is None:
            return Lit(None, "null")
        if isinstance(node, bool):
            return Lit(node, "boolean")
        if isinstance(node, int | float):
            if not math.isfinite(node):
                fail("a number is out of range (too large to be finite)")
            return Lit(node, "number")
        if isinstance(node, str):
            if "\x00" in node:  # possible in cql2-json ("\u0000"); PostgreSQL refuses it
                fail("text may not contain the NUL character (\\u0000)")
            return Lit(node, "text")
        if isinstance(node, list):
            return Array([self.walk(item) for item in node])
        if not isinstance(node, dict):
            fail("could not be read")
        if "property" in node:
            return self.property(str(node["property"]))
        if "timestamp" in node:
            return self._instant(node["timestamp"], "TIMESTAMP")
        if "date" in node:
            return self._instant(node["date"], "DATE")
        if "interval" in node:
            return self.interval(node["interval"])
        if "bbox" in node:
            return self.bbox(node["bbox"])
        if "type" in node:
            return Geom(spatial.from_geojson(node, self.crs, self._where_geometry()))
        if "op" in node:
            args = node.get("args", [])
            return self.operation(str(node["op"]), args if isinstance(args, list) else [args])
        fail(f"cannot read {shorten(str(node), 40)}")

    def _function_offset(self, name: str) -> int | None:
        key = name.lower()
        nth = self.function_uses.get(key, 0)
        self.function_uses[key] = nth + 1
        return self.source.function_at(key, nth)

    def _where_geometry(self) -> str:
        if self.spatial_context:
            return f"the geometry of {self.spatial_context[-1]}"
        return "a geometry literal"

    def operation(self, op: str, args: list[Any]) -> Any:
        name = op.lower()
        if name in ("and", "or"):
            return self._combination(name, args)
        offset = None if name in _OPERATORS else self._function_offset(name)
        if name not in _KNOWN:
            fail(
                f"unknown function '{shorten(op)}'{self.source.at(offset)}; Linde's filters "
                "know CASEI, ACCENTI, the S_, T_ and A_ functions, and no others"
            )
        if name in spatial.OPS:
            self.spatial_context.append(f"{name.upper()}{self.source.at(offset)}")
        try:
            values = [self.walk(arg) for arg in args]
        finally:
            if name in spatial.OPS:
                self.spatial_context.pop()
        if name in spatial.OPS:
            return self.spatial(spatial.OPS[name], values, offset)
        if name in temporal.NAMES:
            return self.temporal(name, values, offset)
        if name in _ARRAY_OPS:
            return self.array(name, values, offset)
        handler = {
            "not": self.negation,
            "like": self.like,
            "between": self.between,
            "in": self.in_list,
            "isnull": self.is_null,
            "casei": lambda v: self.fold("CASEI", v, offset),
            "accenti": lambda v: self.fold("ACCENTI", v, offset),
        }.get(name)
        if handler is not None:
            return handler(values)
        if name in COMPARISONS:
            return self.comparison(name, values)
        return self.arithmetic(name, values)

    def _combination(self, word: str, args: list[Any]) -> ColumnElement[bool]:
        # A chain of one operator is walked as a flat list, so a long AND chain is no
        # deeper than one condition.
        items: list[Any] = []
        stack = list(reversed(args))
        while stack:
            item = stack.pop()
            if isinstance(item, dict) and str(item.get("op", "")).lower() == word:
                inner = item.get("args", [])
                stack += list(reversed(inner)) if isinstance(inner, list) else [inner]
            else:
                items.append(item)
        if len(items) < 2:
            fail(f"{word.upper()} needs two or more conditions")
        where = f"each side of {word.upper()}"
        conditions = [self.condition(self.walk(item), where) for item in items]
        return and_(*conditions) if word == "and" else or_(*conditions)

    def condition(self, value: Any, where: str) -> ColumnElement[bool]:
        if isinstance(value, ColumnElement):
            return value
        if isinstance(value, Lit) and value.kind == "boolean":
            return true() if value.value else false()
        if isinstance(value, Expr) and value.kind == "boolean":
            return value.sql == literal(True, type_=Boolean())
        fail(f"{where} must be a condition, not {describe(value)}")

    # literals and names -----------------------------------------------------------------

    def property(self, name: str) -> Expr:
        nth = self.property_uses.get(name, 0)
        self.property_uses[name] = nth + 1
        offset = self.source.property_at(name, nth)
        if name in self.properties:
            column = self.properties[name]
            kind = "array" if name in self.arrays else kind_of(column.type)
            return Expr(column, kind, name, offset)
        if name in GEOMETRY_NAMES:
            return Expr(self.geometry, "geometry", name, offset)
        allowed = ", ".join(self.properties)
        fail(
            f"unknown property '{shorten(name, 40)}'{self.source.at(offset)}; queryable "
            f"properties: {allowed} (and geometry, in spatial functions)"
        )

    @staticmethod
    def _instant(value: Any, word: str) -> Lit:
        text = str(value)
        problem = date_problem(text) if word == "DATE" else timestamp_problem(text)
        if problem:
            fail(f"{word}('{shorten(text)}'): {problem}")
        if word == "DATE":
            return Lit(date.fromisoformat(text), "date")
        return Lit(parse_timestamp(text), "datetime")

    def interval(self, ends: Any) -> Interval:
        if not isinstance(ends, list) or len(ends) != 2:
            fail("INTERVAL takes two ends: INTERVAL('2024-01-01', '..') or INTERVAL(start, end)")
        bounds: list[Expr | datetime | None] = []
        for end in ends:
            if isinstance(end, str):
                problem = instant_problem(end)
                if problem:
                    fail(f"INTERVAL end '{shorten(end)}': {problem}")
                if end == "..":
                    bounds.append(None)
                    continue
                end = {"date": end} if len(end) == 10 else {"timestamp": end}
            value = self.walk(end)
            if isinstance(value, Lit) and value.kind in ("date", "datetime"):
                bounds.append(moment(value.value))
            elif isinstance(value, Expr) and value.kind in ("date", "datetime"):
                bounds.append(value)
            else:
                fail(f"an INTERVAL end must be a timestamp, a date or '..', not {describe(value)}")
        start, stop = bounds
        if isinstance(start, datetime) and isinstance(stop, datetime) and start > stop:
            fail(f"INTERVAL starts after it ends ({start.isoformat()} > {stop.isoformat()})")
        return Interval(start, stop)

    def bbox(self, args: Any) -> Any:
        offset = self._function_offset("bbox")
        where = f"BBOX{self.source.at(offset)}"
        if not isinstance(args, list):
            fail(f"{where} needs 4 numbers")
        if args and isinstance(args[0], dict) and "property" in args[0]:
            # BBOX(geometry, minx, miny, maxx, maxy[, crs]): the older predicate form
            geom, numbers = self.walk(args[0]), list(args[1:])
            crs_name = numbers.pop() if numbers and isinstance(numbers[-1], str) else "CRS84"
            if crs_name not in ("CRS84", "OGC:CRS84"):
                fail(
                    f"{where}: coordinates are in the filter-crs (CRS84 unless filter-crs says "
                    "otherwise); give no CRS inside BBOX"
                )
            box = Geom(spatial.from_bbox(numbers, self.crs, where))
            return self.spatial(spatial.OPS["s_intersects"], [geom, box], offset)
        return Geom(spatial.from_bbox(args, self.crs, where))

    # binding ----------------------------------------------------------------------------

    def _check(self, expr: Expr, lit: Lit) -> None:
        where = self.source.at(expr.offset)
        if expr.kind == "geometry":
            fail(
                f"{expr.name}{where} can only be used in spatial predicates such as "
                "S_INTERSECTS(geometry, POINT(-96.72 17.06))"
            )
        if lit.kind == "null":
            fail(f"compare {expr.describe()}{where} with NULL using IS NULL")
        if expr.kind not in _COMPATIBLE.get(lit.kind, ()):
            hints = {
                ("text", "number"): lambda: f"; quote the value: '{lit.value:g}'",
                ("datetime", "text"): lambda: (
                    "; write TIMESTAMP('2024-01-31T12:00:00Z') or DATE('2024-01-31')"
                ),
                ("date", "text"): lambda: "; write DATE('2024-01-31')",
                ("array", "text"): lambda: (
                    "; use A_CONTAINS, A_CONTAINEDBY, A_EQUALS or A_OVERLAPS"
                ),
            }
            hint = hints.get((expr.kind, lit.kind), lambda: "")()
            fail(f"cannot compare {expr.describe()}{where} with {lit.describe()}{hint}")

    def bind(self, lit: Lit, against: Expr) -> ColumnElement[Any]:
        """``lit`` as a bound parameter typed to compare with ``against``."""
        self._check(against, lit)
        value, kind = lit.value, against.kind
        if kind == "datetime":
            value = moment(value)
        if kind == "number":
            whole = float(value).is_integer() and abs(value) < 2**53
            type_: TypeEngine[Any] = BigInteger() if whole else Float()
            value = int(value) if whole else float(value)
        else:
            type_ = _BIND_TYPES[kind]
        return literal(value, type_=type_)

    def value(self, operand: Any, role: str) -> Expr | Lit:
        """An operand of a comparison, BETWEEN or IN: arithmetic bounded to doubles."""
        found = self.scalar(operand, role)
        if isinstance(found, Expr) and found.label == ARITHMETIC:
            return Expr(
                backend.bounded(self.dialect, found.sql), "number", found.name, None, ARITHMETIC
            )
        return found

    def scalar(self, operand: Any, role: str) -> Expr | Lit:
        if isinstance(operand, ColumnElement):
            return Expr(operand, "boolean", "", None, label="a condition")
        if isinstance(operand, Expr | Lit):
            return operand
        if isinstance(operand, Geom):
            fail(
                "a geometry literal can only be used in spatial predicates such as "
                f"S_INTERSECTS(geometry, …), not as {role}"
            )
        fail(f"{describe(operand)} cannot be used as {role}")

    def against(self, expr: Expr, other: Expr | Lit) -> ColumnElement[Any]:
        """``other`` as SQL to compare with ``expr``, once their kinds are known to agree."""
        if isinstance(other, Lit):
            return self.bind(other, expr)
        for side in (expr, other):
            if side.kind in ("geometry", "other", "array"):
                fail(f"{side.describe()}{self.source.at(side.offset)} cannot be compared")
        if {expr.kind, other.kind} - {"date", "datetime"} and expr.kind != other.kind:
            fail(
                f"cannot compare {expr.describe()}{self.source.at(expr.offset)} with "
                f"{other.describe()}{self.source.at(other.offset)}"
            )
        return other.sql
