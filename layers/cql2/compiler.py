"""Linde's compiler from CQL2-JSON (as ``cql2`` reads it) to a SQLAlchemy condition.

No name or value from the filter reaches SQL as text: a property name is only a
key into the queryables, every literal is a bound parameter, a geometry travels as
WKT in a bound parameter. Kinds are checked before any SQL is built, so a
mismatch is a 400 naming the property, the value and where, never a database error.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
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
    not_,
    or_,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from geo.crs import Crs
from layers import dialects
from layers.cql2 import backend, spatial, temporal
from layers.cql2.operands import (
    Array,
    Expr,
    Geom,
    Interval,
    Lit,
    describe,
    kind_of,
)
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
#: numbers in arithmetic beyond this size could overflow the databases' reals
MAX_ARITHMETIC = 1e100
GEOMETRY_NAMES = ("geometry", "geom")
ARITHMETIC = "an arithmetic expression"
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
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC = ("+", "-", "*", "/", "%", "div", "^")
_ARRAY_OPS = ("a_equals", "a_contains", "a_containedby", "a_overlaps")
#: written between their operands in cql2-text: no function name to point at
_OPERATORS = frozenset(
    ["and", "or", "not", "like", "between", "in", "isnull", *_COMPARISONS, *_ARITHMETIC]
)
_ARRAY_CONVERSE = {"a_contains": "a_containedby", "a_containedby": "a_contains"}


def _moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)  # DATE: midnight UTC


class Compiler:
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
        if name in _COMPARISONS:
            return self.comparison(name, values)
        if name in _ARITHMETIC:
            return self.arithmetic(name, values)
        fail(
            f"unknown function '{shorten(op)}'{self.source.at(offset)}; Linde's filters know "
            "CASEI, ACCENTI, the S_, T_ and A_ functions, and no others"
        )

    def _combination(self, word: str, args: list[Any]) -> ColumnElement[bool]:
        # A chain of one operator is walked as a flat list, so a long AND chain is no
        # deeper than one condition.
        items: list[Any] = []
        stack = list(reversed(args))
        while stack:
            item = stack.pop()
            if isinstance(item, dict) and str(item.get("op", "")).lower() == word:
                stack += list(reversed(item.get("args", [])))
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

    @staticmethod
    def _arity(name: str, values: list[Any], n: int) -> None:
        if len(values) != n:
            fail(f"{name} takes {n} argument{'s' if n > 1 else ''}, not {len(values)}")

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
                bounds.append(_moment(value.value))
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
            value = _moment(value)
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

    @staticmethod
    def constant(test: Callable[..., Any], *lits: Lit) -> ColumnElement[bool]:
        """A comparison of literals only, decided here (no SQL needed)."""
        kinds = {"datetime" if lit.kind == "date" else lit.kind for lit in lits}
        if "null" in kinds:
            return false()  # NULL compares as unknown: never true
        if len(kinds) > 1:
            fail("cannot compare " + " with ".join(lit.describe() for lit in lits))
        values = [_moment(lit.value) if lit.kind == "date" else lit.value for lit in lits]
        return true() if test(*values) else false()

    # predicates -------------------------------------------------------------------------

    def negation(self, values: list[Any]) -> ColumnElement[bool]:
        self._arity("NOT", values, 1)
        return not_(self.condition(values[0], "NOT"))

    def comparison(self, op: str, values: list[Any]) -> ColumnElement[bool]:
        self._arity(op, values, 2)
        test = _COMPARISONS[op]
        a, b = (self.value(side, f"a side of {op}") for side in values)
        if isinstance(a, Expr):
            return test(a.sql, self.against(a, b))
        if isinstance(b, Expr):
            return test(self.against(b, a), b.sql)
        return self.constant(test, a, b)

    def between(self, values: list[Any]) -> ColumnElement[bool]:
        self._arity("BETWEEN", values, 3)
        value, *bounds = (self.value(v, "a term of BETWEEN") for v in values)
        if isinstance(value, Lit) and all(isinstance(b, Lit) for b in bounds):
            return self.constant(lambda v, lo, hi: lo <= v <= hi, value, *bounds)  # type: ignore[arg-type]
        if not isinstance(value, Expr):  # a value between two row values
            low, high = bounds
            return and_(self.comparison(">=", [value, low]), self.comparison("<=", [value, high]))
        lo, hi = (self.against(value, bound) for bound in bounds)
        return value.sql.between(lo, hi)

    def in_list(self, values: list[Any]) -> ColumnElement[bool]:
        self._arity("IN", values, 2)
        value = self.value(values[0], "the value of IN")
        options = values[1]
        if not isinstance(options, Array):
            fail("IN needs a list in parentheses: name IN ('a', 'b')")
        items = [self.value(option, "an item of IN") for option in options.items]
        if isinstance(value, Lit) and all(isinstance(i, Lit) for i in items):
            return self.constant(lambda v, *opts: v in opts, value, *items)  # type: ignore[arg-type]
        if not isinstance(value, Expr):  # a value among row values
            return or_(*(self.comparison("=", [value, item]) for item in items))
        return value.sql.in_([self.against(value, item) for item in items])

    def is_null(self, values: list[Any]) -> ColumnElement[bool]:
        self._arity("IS NULL", values, 1)
        (value,) = values
        if isinstance(value, Lit):
            return true() if value.kind == "null" else false()
        if not isinstance(value, Expr):
            fail(f"IS NULL needs a property, not {describe(value)}")
        return value.sql.is_(None)

    def like(self, values: list[Any]) -> ColumnElement[bool]:
        self._arity("LIKE", values, 2)
        lhs, pattern = values
        if not isinstance(lhs, Expr) or lhs.kind != "text":
            where = self.source.at(lhs.offset) if isinstance(lhs, Expr) else ""
            fail(f"LIKE needs a text property on its left, not {describe(lhs)}{where}")
        if isinstance(pattern, Expr) and pattern.kind == "text":
            return backend.like_column(self.dialect, lhs.sql, pattern.sql)
        if not isinstance(pattern, Lit) or pattern.kind != "text":
            fail(
                f"LIKE{self.source.at(lhs.offset)} needs a quoted pattern such as 'San%', "
                f"not {describe(pattern)}"
            )
        sql_pattern = like_pattern(pattern.value)
        if sql_pattern is None:
            fail(
                f"the LIKE pattern for '{lhs.name}'{self.source.at(lhs.offset)} ends in a lone "
                "backslash; write \\\\ for a backslash"
            )
        return dialects.like(self.dialect, lhs.sql, sql_pattern)

    def fold(self, word: str, values: list[Any], offset: int | None) -> Expr | Lit:
        """CASEI or ACCENTI: of a text literal here, of a row value in SQL."""
        if len(values) != 1:
            fail(f"{word} takes one argument, not {len(values)}{self.source.at(offset)}")
        (value,) = values
        python = backend.fold_case if word == "CASEI" else backend.strip_accents
        if isinstance(value, Lit) and value.kind == "text":
            return Lit(python(value.value), "text")
        if isinstance(value, Expr) and value.kind == "text":
            sql = (backend.casei if word == "CASEI" else backend.accenti)(self.dialect, value.sql)
            return Expr(sql, "text", value.name, value.offset, value.label)
        fail(f"{word} needs text, not {describe(value)}{self.source.at(offset)}")

    # arithmetic --------------------------------------------------------------------------

    def arithmetic(self, op: str, values: list[Any]) -> Expr | Lit:
        self._arity(op, values, 2)
        a, b = (self.scalar(v, f"a term of {op}") for v in values)
        for side in (a, b):
            if side.kind != "number":
                where = self.source.at(side.offset) if isinstance(side, Expr) else ""
                fail(f"{op} needs numbers, not {side.describe()}{where}")
            if isinstance(side, Lit) and abs(side.value) > MAX_ARITHMETIC:
                fail(f"{op}: the number {side.value:g} is too large for arithmetic (at most 1e100)")
        if isinstance(a, Lit) and isinstance(b, Lit):
            return Lit(_evaluate(op, float(a.value), float(b.value)), "number")
        sql = backend.arithmetic(self.dialect, op, self._number_sql(a), self._number_sql(b))
        name = a.name if isinstance(a, Expr) else b.name  # type: ignore[union-attr]
        return Expr(sql, "number", name, None, label=ARITHMETIC)

    @staticmethod
    def _number_sql(side: Expr | Lit) -> ColumnElement[Any]:
        return side.sql if isinstance(side, Expr) else literal(float(side.value), type_=Float())

    # spatial, temporal, arrays -------------------------------------------------------------

    def spatial(self, op: spatial.SpatialOp, values: list[Any], offset: int | None) -> Any:
        where = f"{op.cql}{self.source.at(offset)}"
        if len(values) != 2:
            fail(f"{where} takes 2 arguments, not {len(values)}")
        a, b = values
        if isinstance(a, Geom) and isinstance(b, Geom):
            return true() if op.test(a.shape, b.shape) else false()
        if isinstance(a, Geom):
            a, b, op = b, a, spatial.OPS[op.converse.lower()]
        if not (isinstance(a, Expr) and a.kind == "geometry"):
            fail(f"{where} needs the geometry property on one side, not {describe(a)}")
        if isinstance(b, Expr) and b.kind == "geometry":
            return spatial.between_columns(op, a.sql, b.sql)
        if not isinstance(b, Geom):
            fail(
                f"{where} needs a geometry literal such as POINT(-96.72 17.06) or the "
                f"geometry property on the other side, not {describe(b)}"
            )
        return spatial.against_literal(self.dialect, self.table, op, a.sql, b.shape)

    def temporal(self, name: str, values: list[Any], offset: int | None) -> ColumnElement[bool]:
        where = f"{name.upper()}{self.source.at(offset)}"
        if len(values) != 2:
            fail(f"{where} takes 2 arguments, not {len(values)}")
        intervals: list[Interval] = []
        for value in values:
            if isinstance(value, Interval):
                intervals.append(value)
            elif isinstance(value, Lit) and value.kind in ("date", "datetime"):
                moment = _moment(value.value)
                intervals.append(Interval(moment, moment))
            elif isinstance(value, Expr) and value.kind in ("date", "datetime"):
                intervals.append(Interval(value, value))
            else:
                fail(
                    f"{where} compares timestamps, dates and intervals, not {describe(value)}; "
                    "write e.g. T_BEFORE(valid_from, TIMESTAMP('2024-01-31T12:00:00Z'))"
                )
        return temporal.predicate(name, *intervals)

    def array(self, name: str, values: list[Any], offset: int | None) -> ColumnElement[bool]:
        where = f"{name.upper()}{self.source.at(offset)}"
        if len(values) != 2:
            fail(f"{where} takes 2 arguments, not {len(values)}")
        a, b = values
        if isinstance(a, Array) and isinstance(b, Array):
            left, right = (self._keys(x, where, any_kind=True) for x in (a, b))
            return true() if _set_test(name, set(left), set(right)) else false()
        if isinstance(a, Array):
            a, b, name = b, a, _ARRAY_CONVERSE.get(name, name)
        if not (isinstance(a, Expr) and a.kind == "array"):
            arrays = ", ".join(sorted(self.arrays)) or "none in this collection"
            fail(f"{where} needs an array property ({arrays}) on one side, not {describe(a)}")
        if isinstance(b, Expr) and b.kind == "array":
            return backend.key_array(self.dialect, a.sql, name, b.sql)
        if not isinstance(b, Array):
            fail(
                f"{where} needs a list of values such as ('20067', '20157') or another array "
                f"property, not {describe(b)}"
            )
        return backend.key_array(self.dialect, a.sql, name, self._keys(b, where))

    def _keys(self, array: Array, where: str, *, any_kind: bool = False) -> list[Any]:
        keys: list[Any] = []
        for item in array.items:
            if not isinstance(item, Lit) or (item.kind != "text" and not any_kind):
                fail(f"{where}: the list must hold text keys such as '20067', not {describe(item)}")
            keys.append(item.value)
        return keys


def _set_test(name: str, a: set[Any], b: set[Any]) -> bool:
    return {
        "a_equals": a == b,
        "a_contains": a >= b,
        "a_containedby": a <= b,
        "a_overlaps": bool(a & b),
    }[name]


def _evaluate(op: str, a: float, b: float) -> float:
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif op == "/":
            result = a / b
        elif op == "div":
            result = float(math.trunc(a / b))
        elif op == "%":
            result = a - b * math.trunc(a / b)
        else:
            result = a**b
    except ZeroDivisionError:
        fail(f"{op}: division by zero")
    except (OverflowError, ValueError):
        fail(f"{op}: the result is out of range")
    if isinstance(result, complex) or not math.isfinite(result):
        fail(f"{op}: the result is out of range")
    return result


def like_pattern(pattern: str) -> str | None:
    """CQL2 LIKE pattern -> SQL LIKE pattern with backslash escapes; None if it ends in ``\\``.

    CQL2 uses ``%`` and ``_`` as SQL does and a backslash to take the next character
    literally.
    """
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            if nxt is None:
                return None
            out.append("\\" + nxt if nxt in "%_\\" else nxt)
        else:
            out.append(ch)
    return "".join(out)
