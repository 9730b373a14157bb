"""CQL2's function-like parts, mixed into the compiler: CASEI and ACCENTI, arithmetic,
and the spatial, temporal and array functions. Each gets its arguments already walked
(``layers.cql2.operands``) and gives an operand or a condition.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Table, false, literal, true
from sqlalchemy.engine import Dialect

from layers.cql2 import backend, spatial, temporal
from layers.cql2.operands import Array, Expr, Geom, Interval, Lit, describe
from layers.cql2.source import Source, fail

#: numbers in arithmetic beyond this size could overflow the databases' reals
MAX_ARITHMETIC = 1e100
ARITHMETIC = "an arithmetic expression"
ARRAY_CONVERSE = {"a_contains": "a_containedby", "a_containedby": "a_contains"}


def moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)  # DATE: midnight UTC


class Functions:
    """The handlers of functions; ``Compiler`` provides the walk and the binding."""

    source: Source
    dialect: Dialect
    table: Table
    arrays: frozenset[str]

    def scalar(self, operand: Any, role: str) -> Expr | Lit:
        raise NotImplementedError

    @staticmethod
    def _arity(name: str, values: list[Any], n: int) -> None:
        if len(values) != n:
            fail(f"{name} takes {n} argument{'s' if n > 1 else ''}, not {len(values)}")

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
                at = moment(value.value)
                intervals.append(Interval(at, at))
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
            a, b, name = b, a, ARRAY_CONVERSE.get(name, name)
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
