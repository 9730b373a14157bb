"""CQL2's predicates, mixed into the compiler: NOT, the comparisons, BETWEEN, IN, IS NULL
and LIKE. Each gets its arguments as the compiler walks them (``layers.cql2.operands``)
and gives a condition; a comparison of literals only is decided here, without SQL.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    not_,
    or_,
    true,
)
from sqlalchemy.engine import Dialect

from layers import dialects
from layers.cql2 import backend
from layers.cql2.functions import moment
from layers.cql2.operands import (
    Array,
    Expr,
    Lit,
    describe,
)
from layers.cql2.source import (
    Source,
    fail,
)

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Predicates:
    """The handlers of predicates; ``Compiler`` provides the walk and the binding."""

    source: Source
    dialect: Dialect

    @staticmethod
    def _arity(name: str, values: list[Any], n: int) -> None:
        raise NotImplementedError

    def condition(self, value: Any, where: str) -> ColumnElement[bool]:
        raise NotImplementedError

    def value(self, operand: Any, role: str) -> Expr | Lit:
        raise NotImplementedError

    def against(self, expr: Expr, other: Expr | Lit) -> ColumnElement[Any]:
        raise NotImplementedError

    @staticmethod
    def constant(test: Callable[..., Any], *lits: Lit) -> ColumnElement[bool]:
        """A comparison of literals only, decided here (no SQL needed)."""
        kinds = {"datetime" if lit.kind == "date" else lit.kind for lit in lits}
        if "null" in kinds:
            return false()  # NULL compares as unknown: never true
        if len(kinds) > 1:
            fail("cannot compare " + " with ".join(lit.describe() for lit in lits))
        values = [moment(lit.value) if lit.kind == "date" else lit.value for lit in lits]
        return true() if test(*values) else false()

    def negation(self, values: list[Any]) -> ColumnElement[bool]:
        self._arity("NOT", values, 1)
        return not_(self.condition(values[0], "NOT"))

    def comparison(self, op: str, values: list[Any]) -> ColumnElement[bool]:
        self._arity(op, values, 2)
        test = COMPARISONS[op]
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
