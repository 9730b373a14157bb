"""The SQL of filters that differs between PostgreSQL and SQLite, chosen by dialect name.

- Case folding: PostgreSQL's ``lower()`` folds every script in a UTF-8 database;
  SQLite's folds ASCII only, so SQLite gets ``linde_lower`` (Python's ``str.lower``).
- Accents: the ``unaccent`` extension may not be installed, so PostgreSQL uses
  ``translate()`` with a table made here from Unicode's decompositions; SQLite gets
  ``linde_unaccent``, the same rule in Python.
- Arrays: a key-list property (``"20067,20157"``) is an array of text. PostgreSQL
  splits it with ``string_to_array`` and uses its array operators; SQLite reads it as
  a JSON array with ``json_each``.
- Arithmetic: every operation in floating point, a division by zero is NULL and a
  power that would overflow is NULL, so no row's values can make the query fail.

The SQLite functions are registered on every new connection by
``register_sqlite_functions`` (``layers.engine``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Numeric,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect

ArrayOp = str  # "a_equals", "a_contains", "a_containedby", "a_overlaps"


def strip_accents(value: str) -> str:
    """``value`` without diacritics (``'Juárez'`` -> ``'Juarez'``); case is kept."""
    decomposed = unicodedata.normalize("NFD", value)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", kept)


def fold_case(value: str) -> str:
    return value.lower()


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """The functions filters need on a SQLite connection (deterministic, NULL-safe)."""

    def lower(value: Any) -> Any:
        return fold_case(value) if isinstance(value, str) else value

    def unaccent(value: Any) -> Any:
        return strip_accents(value) if isinstance(value, str) else value

    def like(value: Any, pattern: Any) -> Any:
        if not isinstance(value, str) or not isinstance(pattern, str):
            return None
        return like_regex(pattern).fullmatch(value) is not None

    dbapi_conn.create_function("linde_lower", 1, lower, deterministic=True)
    dbapi_conn.create_function("linde_like", 2, like, deterministic=True)
    dbapi_conn.create_function("linde_unaccent", 1, unaccent, deterministic=True)


@lru_cache(maxsize=256)
def like_regex(pattern: str) -> re.Pattern[str]:
    """A CQL2 LIKE pattern (``%``, ``_``, ``\\`` escaping the next character) as a regex."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def like_column(
    dialect: Dialect, value: ColumnElement[Any], pattern: ColumnElement[Any]
) -> ColumnElement[bool]:
    """``value LIKE pattern`` where the pattern is a row's value, case-sensitive on both
    engines (SQLite's own LIKE folds ASCII case; its GLOB needs a literal to translate)."""
    if dialect.name == "postgresql":
        return value.like(pattern, escape="\\")
    return func.linde_like(value, pattern, type_=Boolean()) == literal(True, type_=Boolean())


@lru_cache(maxsize=1)
def _accent_table() -> tuple[str, str]:
    """(from, to) for ``translate()``: every precomposed letter of Latin-1, Latin
    Extended-A/B, Greek and Latin Extended Additional that loses its accents."""
    source, target = [], []
    for lo, hi in ((0xC0, 0x250), (0x370, 0x400), (0x1E00, 0x1F00)):
        for code in range(lo, hi):
            ch = chr(code)
            bare = strip_accents(ch)
            if len(bare) == 1 and bare != ch:
                source.append(ch)
                target.append(bare)
    return "".join(source), "".join(target)


def casei(dialect: Dialect, expr: ColumnElement[Any]) -> ColumnElement[str]:
    if dialect.name == "postgresql":
        return func.lower(expr, type_=Text())
    return func.linde_lower(expr, type_=Text())


def accenti(dialect: Dialect, expr: ColumnElement[Any]) -> ColumnElement[str]:
    if dialect.name == "postgresql":
        source, target = _accent_table()
        return func.translate(
            expr, literal(source, type_=Text()), literal(target, type_=Text()), type_=Text()
        )
    return func.linde_unaccent(expr, type_=Text())


# --- arrays (key lists) ----------------------------------------------------------------------


Keys = ColumnElement[Any] | list[str]


def key_array(dialect: Dialect, a: Keys, op: ArrayOp, b: Keys) -> ColumnElement[bool]:
    """``op`` between two arrays of text keys, as sets (CQL2's array functions).

    Each side is a comma-separated key list (a column or expression) or a list of
    keys from the filter (bound as one parameter).
    """
    if dialect.name == "postgresql":
        left, right = _pg_array(a), _pg_array(b)
        contains = left.op("@>", is_comparison=True)(right)
        contained = left.op("<@", is_comparison=True)(right)
        return {
            "a_equals": lambda: and_(contains, contained),
            "a_contains": lambda: contains,
            "a_containedby": lambda: contained,
            "a_overlaps": lambda: left.op("&&", is_comparison=True)(right),
        }[op]()
    left_json, right_json = _json_array(a), _json_array(b)

    def all_in(x: ColumnElement[str], y: ColumnElement[str]) -> ColumnElement[bool]:
        xs, ys = func.json_each(x).table_valued("value"), func.json_each(y).table_valued("value")
        return not_(exists(select(xs.c.value).where(xs.c.value.not_in(select(ys.c.value)))))

    left_each = func.json_each(left_json).table_valued("value")
    right_each = func.json_each(right_json).table_valued("value")
    known = and_(*(side.is_not(None) for side in (a, b) if not isinstance(side, list)))
    return {
        "a_equals": lambda: and_(
            known, all_in(left_json, right_json), all_in(right_json, left_json)
        ),
        "a_contains": lambda: and_(known, all_in(right_json, left_json)),
        "a_containedby": lambda: and_(known, all_in(left_json, right_json)),
        "a_overlaps": lambda: and_(
            known,
            exists(
                select(left_each.c.value).where(left_each.c.value.in_(select(right_each.c.value)))
            ),
        ),
    }[op]()


def _pg_array(keys: Keys) -> ColumnElement[Any]:
    if isinstance(keys, list):
        return literal(keys, type_=ARRAY(Text()))
    return func.string_to_array(keys, ",", type_=ARRAY(Text()))


def _json_array(keys: Keys) -> ColumnElement[str]:
    """A key list as a JSON array for SQLite's ``json_each`` (keys hold no quotes)."""
    if isinstance(keys, list):
        return literal(json.dumps(keys), type_=Text())
    return case(
        (keys == "", literal("[]", type_=Text())),
        else_=literal('["', type_=Text())
        + func.replace(keys, ",", '","')
        + literal('"]', type_=Text()),
    )


# --- arithmetic ------------------------------------------------------------------------------


#: results beyond this size are NULL: they would not fit a double (PostgreSQL errors)
ARITHMETIC_LIMIT = 1e300


def _real(dialect: Dialect, expr: ColumnElement[Any]) -> ColumnElement[Any]:
    # PostgreSQL: NUMERIC, whose range no nesting of filters' arithmetic can leave (a
    # double precision overflow is an error there); SQLite: REAL, which gives Inf.
    return cast(expr, Numeric() if dialect.name == "postgresql" else Float())


def bounded(dialect: Dialect, expr: ColumnElement[Any]) -> ColumnElement[float]:
    """The result of an arithmetic expression, as a double; NULL beyond ±1e300."""
    numeric = dialect.name == "postgresql"
    limit = literal(
        Decimal("1e300") if numeric else ARITHMETIC_LIMIT, Numeric() if numeric else Float()
    )
    return cast(case((func.abs(expr) < limit, expr), else_=null()), Float())


def arithmetic(
    dialect: Dialect, op: str, a: ColumnElement[Any], b: ColumnElement[Any]
) -> ColumnElement[Any]:
    """``a op b`` on both engines, never an error; NULL where it is undefined.

    ``/`` divides as reals (never integer division), ``div`` truncates the quotient,
    ``%`` is the remainder of that (``a - b * trunc(a / b)``), ``^`` is a power. A zero
    divisor, a negative base with a fractional exponent and a power beyond ±1e300 give
    NULL. Compare the outermost result through ``bounded``.
    """
    x, y = _real(dialect, a), _real(dialect, b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    quotient = x / func.nullif(y, 0)
    if op == "/":
        return quotient
    if op == "div":
        return func.trunc(quotient)
    if op == "%":
        return x - y * func.trunc(quotient)
    if op == "^":
        return _power(x, y)
    raise ValueError(op)


def _power(x: ColumnElement[Any], y: ColumnElement[Any]) -> ColumnElement[Any]:
    # Nested CASEs: PostgreSQL does not promise the order in which AND evaluates, and
    # ln() of zero or power() past the range are errors there.
    limit = 690.0  # e**690 ~ 1e300
    positive = case((func.abs(y * func.ln(x)) <= limit, func.power(x, y)), else_=null())
    negative = case(
        (
            y == func.trunc(y),
            case(
                (func.abs(y * func.ln(-x)) <= limit, func.power(x, y)),
                else_=null(),
            ),
        ),
        else_=null(),
    )
    return case(
        (x > 0, positive),
        (x < 0, negative),
        (and_(x == 0, y > 0), literal(0)),
        (and_(x == 0, y == 0), literal(1)),
        else_=null(),
    )
