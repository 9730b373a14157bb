"""CQL2-text filters (OGC API - Features ``filter=``) compiled to SQLAlchemy Core.

pygeofilter's CQL2-text parser reads the text; this module walks its syntax tree
and builds a condition from the layer's own column objects and bound parameters.
No name or value from the filter ever reaches SQL as text: a property name is
only a key into the queryables, every literal is a bound parameter, geometry
literals travel as WKT in a bound parameter.

pygeofilter 0.4's grammar has a few gaps, worked around in the text before it is
parsed (a map back to the client's text keeps error columns true):

* ``''`` inside a quoted string (CQL2's escaped quote) and line breaks are not
  understood by its lexer; they are swapped for private-use characters and back.
* AND and OR get the same precedence there, so ``a OR b AND c`` would mean
  ``(a OR b) AND c``; such groups are parenthesised as CQL2 reads them
  (``a OR (b AND c)``) before parsing.
* ``TIMESTAMP``, ``DATE``, ``INTERVAL``, ``BBOX`` and the WKT keywords are case-
  sensitive there; a name directly followed by ``(`` is a function, never a
  property, so those are upper-cased.

Not available from the grammar: ``NOT (a OR b)`` (NOT takes one comparison:
write ``NOT a AND NOT b``), one-letter unquoted property names (quote them),
negative numbers in ``ENVELOPE``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, NoReturn

import shapely
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.cql2 import TEMPORAL_PREDICATES_MAP
from pygeofilter.parsers.cql2_text import parse
from pygeofilter.parsers.cql2_text import parser as _cql2_parser_module
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from geo.crs import CRS84, parse_crs
from geo.errors import InvalidParameter, Problem
from geo.validation import describe_invalid
from layers import dialects
from layers.schema import SRID, UTCDateTime

FIELD = "filter"
MAX_FILTER_CHARS = 8_000
#: nesting of groups, NOT and functions; long AND/OR chains do not count
MAX_DEPTH = 32
#: properties, literals, predicates and list items, all told
MAX_TERMS = 2_000
GEOMETRY_NAMES = ("geometry", "geom")
_TOO_DEEP = f"nested too deeply: at most {MAX_DEPTH} levels of grouped AND/OR, NOT and functions"

# pygeofilter's parser is built with debug=True, which prints the whole LALR state
# stack to stdout whenever a value fails to convert; that is noise in a server log.
_lalr = getattr(getattr(_cql2_parser_module.parser, "parser", None), "parser", None)
if _lalr is not None and hasattr(_lalr, "debug"):
    _lalr.debug = False

# Stand-ins, inside quoted strings, for what pygeofilter's lexer cannot read there.
_QUOTE_PAIR = "\ue000\ue001"  # '' (an escaped quote): two characters for two
_LINE_FEED = "\ue002"
_CARRIAGE_RETURN = "\ue003"
_STAND_INS = re.compile("[\ue000-\ue003]")

# Case-sensitive keywords of pygeofilter's grammar that CQL2 reads case-insensitively.
_UPPER_BEFORE_PAREN = frozenset(
    [
        "TIMESTAMP",
        "DATE",
        "INTERVAL",
        "BBOX",
        "RELATE",
        "POINT",
        "LINESTRING",
        "POLYGON",
        "MULTIPOINT",
        "MULTILINESTRING",
        "MULTIPOLYGON",
        "GEOMETRYCOLLECTION",
    ]
)
_SPATIAL_WORDS = frozenset(
    [
        "S_INTERSECTS",
        "S_DISJOINT",
        "S_CONTAINS",
        "S_WITHIN",
        "S_TOUCHES",
        "S_CROSSES",
        "S_OVERLAPS",
        "S_EQUALS",
        "BBOX",
    ]
)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?P<zone>Z|[+-]\d{2}:\d{2})?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Kind = Literal["text", "number", "boolean", "datetime", "date", "geometry", "other"]
_KIND_WORDS: dict[str, str] = {
    "text": "text",
    "number": "a number",
    "boolean": "a boolean",
    "datetime": "a timestamp",
    "date": "a date",
    "geometry": "a geometry",
    "other": "of a type filters cannot compare",
}
# literal kind -> the property kinds it may be compared with
_COMPATIBLE: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "number": ("number",),
    "boolean": ("boolean",),
    "datetime": ("datetime",),
    "date": ("date", "datetime"),
}
_BIND_TYPES: dict[str, TypeEngine[Any]] = {
    # Generic types on purpose: binding as the column's VARCHAR(5) would make
    # PostgreSQL cut a longer value down to five characters before comparing.
    "text": Text(),
    "number": Float(),
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
_TEMPORAL_NAMES = {cls: name.upper() for name, cls in TEMPORAL_PREDICATES_MAP.items()}


@dataclass(frozen=True)
class _SpatialOp:
    cql: str
    sql: str
    test: Callable[[BaseGeometry, BaseGeometry], bool]
    #: the same relation with the operands swapped
    converse: str
    indexed: bool = True


_SPATIAL: dict[type[Any], _SpatialOp] = {
    ast.GeometryIntersects: _SpatialOp(
        "S_INTERSECTS", "ST_Intersects", BaseGeometry.intersects, "S_INTERSECTS"
    ),
    ast.GeometryWithin: _SpatialOp("S_WITHIN", "ST_Within", BaseGeometry.within, "S_CONTAINS"),
    ast.GeometryContains: _SpatialOp(
        "S_CONTAINS", "ST_Contains", BaseGeometry.contains, "S_WITHIN"
    ),
    ast.GeometryDisjoint: _SpatialOp(
        "S_DISJOINT", "ST_Disjoint", BaseGeometry.disjoint, "S_DISJOINT", indexed=False
    ),
    ast.GeometryEquals: _SpatialOp("S_EQUALS", "ST_Equals", BaseGeometry.equals, "S_EQUALS"),
    ast.GeometryTouches: _SpatialOp("S_TOUCHES", "ST_Touches", BaseGeometry.touches, "S_TOUCHES"),
    ast.GeometryCrosses: _SpatialOp("S_CROSSES", "ST_Crosses", BaseGeometry.crosses, "S_CROSSES"),
    ast.GeometryOverlaps: _SpatialOp(
        "S_OVERLAPS", "ST_Overlaps", BaseGeometry.overlaps, "S_OVERLAPS"
    ),
}
_SPATIAL_BY_NAME = {op.cql: op for op in _SPATIAL.values()}


def compile_filter(
    text: str,
    properties: Mapping[str, ColumnElement[Any]],
    geometry: ColumnElement[Any],
    table: Table,
    dialect: Dialect,
) -> ColumnElement[bool]:
    """Compile a CQL2-text filter into a SQLAlchemy condition for ``select().where()``.

    Args:
        text: the filter, as the client sent it.
        properties: queryable name -> column or SQL expression. Names are case-
            sensitive; the kind of each (text, number, timestamp, boolean) is read
            from its SQL type and decides which literals it may be compared with.
        geometry: the layer's geometry column (EPSG:4326, lon/lat), named
            ``geometry`` or ``geom`` in the filter.
        table: the table holding ``geometry``; spatial predicates ask its spatial
            index for candidates (``layers.dialects.bbox_candidates``).
        dialect: the engine's dialect (``postgresql`` or ``sqlite``).

    Returns:
        A boolean SQL expression with every value in a bound parameter.

    Supported: ``=  <>  <  <=  >  >=``, AND, OR, NOT, [NOT] LIKE, [NOT] IN,
    [NOT] BETWEEN, IS [NOT] NULL, INCLUDE/EXCLUDE, ``CASEI()``, TIMESTAMP and DATE
    literals (UTC), T_BEFORE, T_AFTER, T_EQUALS and T_INTERSECTS on instants,
    S_INTERSECTS, S_WITHIN, S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES,
    S_CROSSES, S_OVERLAPS between the geometry and a WKT literal, and
    ``BBOX(geometry, minx, miny, maxx, maxy)``.

    Raises:
        InvalidParameter: (an ``InvalidInput``, HTTP 400) with one ``Problem`` on
            the ``filter`` field saying what is wrong and at which column: a syntax
            error, an unknown property (listing the queryable ones), a type
            mismatch, LIKE on a non-text property, an invalid, empty or out-of-range
            geometry, a filter too long or nested too deeply.
    """
    source = _Source.read(text)
    try:
        tree = _parse(source)
        compiler = _Compiler(source, properties, geometry, table, dialect)
        return compiler.condition(compiler.evaluate(tree), "the filter")
    except RecursionError:
        _fail(_TOO_DEEP)


def _fail(reason: str) -> NoReturn:
    raise InvalidParameter(f"{FIELD}: {reason}", problems=[Problem(FIELD, reason)])


# --- the text: tokens, positions, the fixes made before parsing ------------------------------


@dataclass(frozen=True)
class _Token:
    kind: Literal["string", "quoted_name", "name", "number", "symbol"]
    text: str
    start: int  # 0-based offset in the filter
    closed: bool = True  # a string or quoted name has its closing quote

    @property
    def end(self) -> int:
        return self.start + len(self.text)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_:.]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _tokens(text: str) -> list[_Token]:
    """A forgiving tokenizer, for positions and the fixes only: it never fails."""
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "'":
            j, closed = i + 1, False
            while j < n:
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        j += 2
                        continue
                    j, closed = j + 1, True
                    break
                j += 1
            out.append(_Token("string", text[i:j], i, closed))
            i = j
        elif ch == '"':
            j = text.find('"', i + 1)
            closed = j >= 0
            j = j + 1 if closed else n
            out.append(_Token("quoted_name", text[i:j], i, closed))
            i = j
        elif (m := _WORD.match(text, i)) is not None:
            out.append(_Token("name", m.group(), i))
            i = m.end()
        elif (m := _NUMBER.match(text, i)) is not None:
            out.append(_Token("number", m.group(), i))
            i = m.end()
        else:
            out.append(_Token("symbol", ch, i))
            i += 1
    return out


@dataclass
class _Frame:
    """One level of parentheses while looking for AND and OR."""

    start: int
    open_betweens: int = 0
    connectives: list[tuple[str, _Token]] = field(default_factory=list)

    def parenthesise(self, end: int) -> Iterator[tuple[int, str]]:
        """Insertions that group each run of ANDs between ORs (CQL2's precedence)."""
        words = {word for word, _ in self.connectives}
        if words != {"AND", "OR"}:
            return
        ors = [tok for word, tok in self.connectives if word == "OR"]
        ands = [tok.start for word, tok in self.connectives if word == "AND"]
        starts = [self.start, *(tok.end for tok in ors)]
        ends = [*(tok.start for tok in ors), end]
        for lo, hi in zip(starts, ends, strict=True):
            if any(lo <= at < hi for at in ands):
                yield lo, "("
                yield hi, ")"


@dataclass(frozen=True)
class _Source:
    """The filter as sent, its tokens, and the text handed to the parser.

    ``parsed`` has stand-ins and inserted parentheses; ``origin[i]`` is the offset
    in ``text`` that character ``i`` of ``parsed`` came from.
    """

    text: str
    tokens: list[_Token]
    parsed: str
    origin: list[int]

    @classmethod
    def read(cls, text: str) -> _Source:
        if len(text) > MAX_FILTER_CHARS:
            _fail(f"too long: {len(text):,} characters; at most {MAX_FILTER_CHARS:,}")
        if not text.strip():
            _fail("empty; write a CQL2 expression such as name LIKE 'San%'")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            _fail(f"not valid Unicode text at column {exc.start + 1}")
        for i, ch in enumerate(text):
            if (ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 or _STAND_INS.match(ch):
                _fail(f"character U+{ord(ch):04X} at column {i + 1} is not allowed")
        tokens = _tokens(text)
        chars = list(text)
        quoted = [False] * len(text)
        for n, tok in enumerate(tokens):
            if tok.kind in ("string", "quoted_name"):
                quoted[tok.start : tok.end] = [True] * len(tok.text)
            if tok.kind == "string" and tok.closed:
                inner = tok.text[1:-1].replace("''", _QUOTE_PAIR)
                inner = inner.replace("\n", _LINE_FEED).replace("\r", _CARRIAGE_RETURN)
                chars[tok.start + 1 : tok.end - 1] = inner
            upper = tok.text.upper()
            if tok.kind == "name" and upper in _UPPER_BEFORE_PAREN and _before_paren(tokens, n):
                chars[tok.start : tok.end] = upper
        for i, ch in enumerate(chars):
            if not quoted[i] and ch in "\n\r":
                chars[i] = " "  # the grammar only skips spaces and tabs
        insertions = sorted(_precedence_fixes(tokens, len(text)), key=lambda ins: ins[0])
        parsed: list[str] = []
        origin: list[int] = []
        k = 0
        for i, ch in enumerate([*chars, ""]):
            while k < len(insertions) and insertions[k][0] == i:
                parsed.append(insertions[k][1])
                origin.append(i)
                k += 1
            if ch:
                parsed.append(ch)
                origin.append(i)
        origin.append(len(text))  # the end of the text
        source = cls(text, tokens, "".join(parsed), origin)
        source.check_temporal_literals()
        return source

    # positions ------------------------------------------------------------------------

    def where(self, offset: int) -> str:
        """``column 12`` (or ``line 2, column 5`` in a filter of several lines)."""
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return f"line {line}, column {column}" if "\n" in self.text else f"column {column}"

    def excerpt(self, offset: int) -> str:
        """The line around ``offset`` with a caret under it."""
        line_start = self.text.rfind("\n", 0, offset) + 1
        line_end = self.text.find("\n", offset)
        line = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        col = offset - line_start
        lo = max(0, col - 40)
        hi = min(len(line), col + 30)
        snippet = ("…" if lo else "") + line[lo:hi] + ("…" if hi < len(line) else "")
        caret = " " * (col - lo + (1 if lo else 0)) + "^"
        return f"\n  {snippet.rstrip()}\n  {caret}"

    def attribute_at(self, name: str, nth: int) -> int | None:
        """Offset of the ``nth`` (0-based) use of property ``name``."""
        seen = 0
        for n, tok in enumerate(self.tokens):
            if tok.kind == "quoted_name":
                hit = tok.text[1:-1] == name
            else:
                hit = tok.kind == "name" and tok.text == name and not _before_paren(self.tokens, n)
            if hit:
                if seen == nth:
                    return tok.start
                seen += 1
        return None

    def function_at(self, words: frozenset[str], nth: int) -> int | None:
        """Offset of the ``nth`` (0-based) call of any function in ``words`` (upper case)."""
        seen = 0
        for n, tok in enumerate(self.tokens):
            if tok.kind == "name" and tok.text.upper() in words and _before_paren(self.tokens, n):
                if seen == nth:
                    return tok.start
                seen += 1
        return None

    def at(self, offset: int | None) -> str:
        return f" at {self.where(offset)}" if offset is not None else ""

    # temporal literals ---------------------------------------------------------------

    def check_temporal_literals(self) -> None:
        """Refuse malformed TIMESTAMP/DATE/INTERVAL strings, saying where.

        pygeofilter hands timestamps to ``dateparser``, which reads some compact
        forms as something else entirely (``20240203T040506Z`` as a day in 1915),
        so only the RFC 3339 form CQL2 defines, with a time zone, is let through.
        """
        toks = self.tokens
        for n, tok in enumerate(toks):
            word = tok.text.upper()
            if tok.kind != "name" or word not in ("TIMESTAMP", "DATE", "INTERVAL"):
                continue
            if not _before_paren(toks, n):
                continue
            for arg in toks[n + 2 :]:
                if arg.kind == "symbol" and arg.text == ")":
                    break
                if arg.kind != "string" or not arg.closed:
                    continue
                value = arg.text[1:-1]
                problem = _date_problem(value) if word == "DATE" else _timestamp_problem(value)
                if problem:
                    _fail(f"{word}('{value}') at {self.where(arg.start)}: {problem}")


def _before_paren(tokens: list[_Token], n: int) -> bool:
    return n + 1 < len(tokens) and tokens[n + 1].kind == "symbol" and tokens[n + 1].text == "("


def _precedence_fixes(tokens: list[_Token], length: int) -> Iterator[tuple[int, str]]:
    frames = [_Frame(0)]
    for tok in tokens:
        if tok.kind == "symbol" and tok.text == "(":
            frames.append(_Frame(tok.end))
        elif tok.kind == "symbol" and tok.text == ")":
            if len(frames) > 1:
                yield from frames.pop().parenthesise(tok.start)
        elif tok.kind == "name":
            word, frame = tok.text.upper(), frames[-1]
            if word == "BETWEEN":
                frame.open_betweens += 1
            elif word == "AND" and frame.open_betweens:
                frame.open_betweens -= 1  # the AND of BETWEEN … AND …
            elif word in ("AND", "OR"):
                frame.connectives.append((word, tok))
    while frames:
        yield from frames.pop().parenthesise(length)


def _timestamp_problem(value: str) -> str | None:
    example = "write it as '2024-01-31T12:00:00Z' (RFC 3339, UTC)"
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        return f"not a timestamp; {example}"
    if m["zone"] is None:
        return f"no time zone; {example}"
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        return f"not a real moment ({exc})"
    return None


def _date_problem(value: str) -> str | None:
    if _DATE.fullmatch(value) is None:
        return "not a date; write it as '2024-01-31'"
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        return f"not a real day ({exc})"
    return None


def _restore(value: str) -> str:
    return value.replace(_QUOTE_PAIR, "'").replace(_LINE_FEED, "\n").replace(_CARRIAGE_RETURN, "\r")


# --- parsing ------------------------------------------------------------------------------

_VALUE_TERMINALS = frozenset(
    [
        "SINGLE_QUOTED",
        "DOUBLE_QUOTED",
        "INT",
        "FLOAT",
        "BOOLEAN",
        "MINUS",
        "TIMESTAMP",
        "__ANON_4",
        "__ANON_5",
        "INTERVAL",
        "POINT",
        "ENVELOPE",
    ]
)
_OPERATOR_TERMINALS = frozenset(
    [
        "EQUAL",
        "EQ",
        "NE",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "LESSTHAN",
        "MORETHAN",
        "__ANON_0",
        "__ANON_1",
        "__ANON_2",
        "__ANON_3",
        "LIKE",
        "IN",
        "BETWEEN",
        "IS",
    ]
)
_PUNCTUATION = {"RPAR": "')'", "LPAR": "'('", "COMMA": "','", "QUOTE": "a quote (')"}


def _expected(names: set[str]) -> str:
    wanted: list[str] = []
    if names & _OPERATOR_TERMINALS:
        wanted.append("an operator (=, <>, <, <=, >, >=, LIKE, IN, BETWEEN, IS NULL)")
    if names & _VALUE_TERMINALS:
        wanted += ["a property", "a value"]
    if names & {"wkt__SIGNED_NUMBER", "wkt__INT"}:
        wanted.append("a coordinate")
    if "DATETIME" in names:
        wanted.append("a timestamp such as 2024-01-31T12:00:00Z")
    if "DATE" in names:
        wanted.append("a date such as 2024-01-31")
    if not names & _OPERATOR_TERMINALS and names & {"AND", "OR"}:
        wanted.append("AND or OR")
    wanted += [text for name, text in _PUNCTUATION.items() if name in names]
    if "$END" in names and not wanted:
        wanted.append("the end of the filter")
    if not wanted:
        return "something else"
    return wanted[0] if len(wanted) == 1 else f"{', '.join(wanted[:-1])} or {wanted[-1]}"


def _parse(source: _Source) -> Any:
    try:
        return parse(source.parsed)
    except UnexpectedInput as exc:
        _syntax_error(source, exc)
    except RecursionError:
        raise
    except LarkError as exc:
        _fail(f"could not be read: {exc}")
    except Exception as exc:  # a value the parser failed to convert: bad input, not a bug
        _fail(f"could not be read: {type(exc).__name__}: {exc}")


def _syntax_error(source: _Source, exc: UnexpectedInput) -> NoReturn:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        offset = source.origin[min(exc.token.start_pos or 0, len(source.parsed))]
        what = f"'{_shorten(str(exc.token.value))}'"
        expected = set(exc.expected)
    elif isinstance(exc, UnexpectedCharacters):
        offset = source.origin[min(exc.pos_in_stream or 0, len(source.parsed))]
        what = f"'{source.text[offset]}'" if offset < len(source.text) else "character"
        expected = set(exc.allowed or ())
    else:  # the text ended too early
        offset = len(source.text.rstrip())
        what = "end of filter"
        expected = set(getattr(exc, "expected", ()) or ())
    if any(t.start == offset and not t.closed for t in source.tokens):
        quote = source.text[offset]
        reason = f"syntax error at {source.where(offset)}: the {quote} opened here is never closed"
        _fail(reason + source.excerpt(offset))
    reason = (
        f"syntax error at {source.where(offset)}: unexpected {what}; expected {_expected(expected)}"
    )
    if re.search(r"\bNOT\s*\(", source.text, re.IGNORECASE) and what.upper() in ("'OR'", "'AND'"):
        reason += " (NOT ( … ) takes a single comparison: write NOT a AND NOT b, not NOT (a OR b))"
    elif isinstance(exc, UnexpectedCharacters) and re.fullmatch(r"'[A-Za-z]'", what):
        reason += ' (a one-letter property name must be double-quoted: "a")'
    _fail(reason + source.excerpt(offset))


def _shorten(value: str, limit: int = 24) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- the tree walk ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expr:
    """A value computed per row: a property, or CASEI() of one."""

    sql: ColumnElement[Any]
    kind: Kind
    name: str
    offset: int | None

    def describe(self) -> str:
        return f"property '{self.name}' ({_KIND_WORDS[self.kind]})"


@dataclass(frozen=True)
class _Lit:
    """A literal value (already of Python type) from the filter."""

    value: Any
    kind: Kind
    casei: bool = False

    def describe(self) -> str:
        shown = self.value.isoformat() if isinstance(self.value, date) else self.value
        text = f"'{_shorten(str(shown))}'" if self.kind != "number" else str(shown)
        return f"{text} ({_KIND_WORDS[self.kind]})"


@dataclass(frozen=True)
class _GeomLit:
    geo: dict[str, Any]

    def describe(self) -> str:
        return "a geometry literal"


@dataclass(frozen=True)
class _IntervalLit:
    start: datetime
    end: datetime

    def describe(self) -> str:
        return "an INTERVAL"


Operand = _Expr | _Lit | _GeomLit | _IntervalLit


def _kind_of(type_: TypeEngine[Any]) -> Kind:
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    if type(type_).__name__ == "Geometry" or hasattr(type_, "geometry_type"):
        return "geometry"
    if isinstance(type_, Boolean):
        return "boolean"
    if isinstance(type_, Integer | Numeric | Float):
        return "number"
    if isinstance(type_, DateTime):
        return "datetime"
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, String):
        return "text"
    return "other"


class _Compiler(Evaluator):
    """Walks pygeofilter's tree; each handler gets its node's children already walked."""

    def __init__(
        self,
        source: _Source,
        properties: Mapping[str, ColumnElement[Any]],
        geometry: ColumnElement[Any],
        table: Table,
        dialect: Dialect,
    ) -> None:
        self.source = source
        self.properties = properties
        self.geometry = geometry
        self.table = table
        self.dialect = dialect
        self.depth = 0
        self.terms = 0
        self.attribute_uses: dict[str, int] = {}
        self.spatial_uses = 0

    # walking ---------------------------------------------------------------------------

    def evaluate(self, node: Any, adopt_result: bool = True) -> Any:
        self.terms += 1
        if self.terms > MAX_TERMS:
            _fail(f"too complex: more than {MAX_TERMS:,} terms")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                _fail(_TOO_DEEP)
            if isinstance(node, ast.And | ast.Or):
                return self._combination(node)
            return super().evaluate(node, adopt_result)
        finally:
            self.depth -= 1

    def _combination(self, node: ast.Combination) -> ColumnElement[bool]:
        # A chain of one operator is walked as a flat list, so a long AND chain is no
        # deeper than one condition (pygeofilter nests it one level per operand).
        items: list[Any] = []
        stack: list[Any] = [node]
        while stack:
            item = stack.pop()
            if type(item) is type(node):
                stack += [item.rhs, item.lhs]
            else:
                items.append(item)
        word = "AND" if isinstance(node, ast.And) else "OR"
        conditions = [
            self.condition(self.evaluate(item, False), f"each side of {word}") for item in items
        ]
        return and_(*conditions) if isinstance(node, ast.And) else or_(*conditions)

    def adopt(self, node: Any, *sub_args: Any) -> Any:
        if isinstance(node, str):  # e.g. a lark Token
            return self.text(str(node))
        if isinstance(node, ast.Arithmetic):
            _fail("arithmetic (+, -, *, /) is not supported in filters")
        if isinstance(node, ast.Relate):
            _fail("RELATE is not supported; use S_INTERSECTS, S_WITHIN, S_CONTAINS …")
        name = _TEMPORAL_NAMES.get(type(node)) or type(node).__name__
        _fail(f"{name} is not supported")

    @staticmethod
    def condition(value: Any, where: str) -> ColumnElement[bool]:
        if isinstance(value, ColumnElement):
            return value
        describe = getattr(value, "describe", None)
        what = describe() if describe else repr(value)
        _fail(f"{where} must be a condition, not {what}")

    # literals and names ----------------------------------------------------------------

    @handle(str)
    def text(self, node: str) -> _Lit:
        return _Lit(_restore(node), "text")

    @handle(bool)
    def boolean(self, node: bool) -> _Lit:
        return _Lit(node, "boolean")

    @handle(int)
    def integer(self, node: int) -> _Lit:
        if not -(2**63) <= node < 2**63:
            _fail(f"the number {_shorten(str(node))} is out of range")
        return _Lit(node, "number")

    @handle(float)
    def real(self, node: float) -> _Lit:
        if not math.isfinite(node):
            _fail("a number is out of range (too large to be finite)")
        return _Lit(node, "number")

    @handle(datetime)
    def timestamp(self, node: datetime) -> _Lit:
        try:
            moment = node.replace(tzinfo=UTC) if node.tzinfo is None else node.astimezone(UTC)
        except OverflowError:
            _fail(f"the timestamp {node.isoformat()} is out of range")
        return _Lit(moment, "datetime")

    @handle(date)
    def day(self, node: date) -> _Lit:
        return _Lit(node, "date")

    @handle(values.Interval)
    def interval(self, node: values.Interval, start: Any, end: Any) -> _IntervalLit:
        lo, hi = (_instant(v) for v in (start, end))
        if lo is None or hi is None:
            _fail("INTERVAL needs two timestamps")
        if lo > hi:
            _fail(f"INTERVAL starts after it ends ({lo.isoformat()} > {hi.isoformat()})")
        return _IntervalLit(lo, hi)

    @handle(values.Geometry, values.Envelope)
    def geometry_literal(self, node: values.Geometry | values.Envelope) -> _GeomLit:
        return _GeomLit(dict(node.geometry))

    @handle(ast.Attribute)
    def attribute(self, node: ast.Attribute) -> _Expr:
        name = _restore(str(node.name))
        nth = self.attribute_uses.get(name, 0)
        self.attribute_uses[name] = nth + 1
        offset = self.source.attribute_at(name, nth)
        if name in self.properties:
            column = self.properties[name]
            return _Expr(column, _kind_of(column.type), name, offset)
        if name in GEOMETRY_NAMES:
            return _Expr(self.geometry, "geometry", name, offset)
        allowed = ", ".join(self.properties)
        _fail(
            f"unknown property '{_shorten(name, 40)}'{self.source.at(offset)}; queryable "
            f"properties: {allowed} (and geometry, in spatial predicates)"
        )

    @handle(ast.Function)
    def function(self, node: ast.Function, *args: Operand) -> Operand:
        name = str(node.name).lower()
        offset = self.source.function_at(frozenset({name.upper(), "CASEI"}), 0)
        if name not in ("lower", "casei"):  # pygeofilter renames CASEI to lower
            _fail(f"unknown function '{_shorten(node.name)}'{self.source.at(offset)}; use CASEI")
        if len(args) != 1:
            _fail(f"CASEI takes one argument, not {len(args)}{self.source.at(offset)}")
        (arg,) = args
        if isinstance(arg, _Lit) and arg.kind == "text":
            return _Lit(arg.value, "text", casei=True)
        if isinstance(arg, _Expr) and arg.kind == "text":
            return _Expr(func.lower(arg.sql, type_=Text()), "text", arg.name, arg.offset)
        _fail(f"CASEI needs text, not {arg.describe()}{self.source.at(offset)}")

    # binding ---------------------------------------------------------------------------

    def _check(self, expr: _Expr, lit: _Lit) -> None:
        if expr.kind == "geometry":
            _fail(
                f"{expr.name}{self.source.at(expr.offset)} can only be used in spatial "
                "predicates such as S_INTERSECTS(geometry, POINT(-96.72 17.06))"
            )
        if expr.kind not in _COMPATIBLE.get(lit.kind, ()):
            hint = {
                ("text", "number"): f"; quote the value: '{lit.value}'",
                ("datetime", "text"): "; write TIMESTAMP('2024-01-31T12:00:00Z') or "
                "DATE('2024-01-31')",
                ("date", "text"): "; write DATE('2024-01-31')",
            }.get((expr.kind, lit.kind), "")
            _fail(
                f"cannot compare {expr.describe()}{self.source.at(expr.offset)} with "
                f"{lit.describe()}{hint}"
            )

    def bind(self, lit: _Lit, against: _Expr) -> ColumnElement[Any]:
        """``lit`` as a bound parameter typed to compare with ``against``."""
        self._check(against, lit)
        value, kind = lit.value, against.kind
        if kind == "datetime" and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day, tzinfo=UTC)  # DATE: midnight UTC
        if kind == "number":
            type_: TypeEngine[Any] = BigInteger() if isinstance(value, int) else Float()
        else:
            type_ = _BIND_TYPES[kind]
        bound: ColumnElement[Any] = literal(value, type_=type_)
        return func.lower(bound, type_=Text()) if lit.casei else bound

    def _scalar(self, operand: Operand, role: str) -> _Expr | _Lit:
        if isinstance(operand, _Expr | _Lit):
            return operand
        if isinstance(operand, _GeomLit):
            _fail(
                f"a geometry literal can only be used in spatial predicates such as "
                f"S_INTERSECTS(geometry, …), not as {role}"
            )
        _fail(f"{operand.describe()} can only be used with T_INTERSECTS, not as {role}")

    def _against(self, expr: _Expr, other: _Expr | _Lit) -> ColumnElement[Any]:
        """``other`` as SQL to compare with ``expr``, once their kinds are known to agree."""
        if isinstance(other, _Lit):
            return self.bind(other, expr)
        for side in (expr, other):
            if side.kind in ("geometry", "other"):
                _fail(f"{side.describe()}{self.source.at(side.offset)} cannot be compared")
        if {expr.kind, other.kind} - {"date", "datetime"} and expr.kind != other.kind:
            _fail(
                f"cannot compare {expr.describe()}{self.source.at(expr.offset)} with "
                f"{other.describe()}{self.source.at(other.offset)}"
            )
        return other.sql

    @staticmethod
    def _python_value(lit: _Lit) -> Any:
        value = lit.value
        if lit.kind == "date":
            value = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return value.lower() if lit.casei else value

    def _constant(self, test: Callable[..., Any], *lits: _Lit) -> ColumnElement[bool]:
        """A comparison of literals only, decided here (no SQL needed)."""
        kinds = {"datetime" if lit.kind == "date" else lit.kind for lit in lits}
        if len(kinds) > 1:
            _fail("cannot compare " + " with ".join(lit.describe() for lit in lits))
        return true() if test(*(self._python_value(lit) for lit in lits)) else false()

    # predicates ------------------------------------------------------------------------

    @handle(ast.Not)
    def negation(self, node: ast.Not, sub: Any) -> ColumnElement[bool]:
        return not_(self.condition(sub, "NOT"))

    @handle(ast.Include)
    def include(self, node: ast.Include) -> ColumnElement[bool]:
        return false() if node.not_ else true()

    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node: ast.Comparison, lhs: Operand, rhs: Operand) -> ColumnElement[bool]:
        op = _COMPARISONS[node.op.value]
        a, b = (self._scalar(side, f"a side of {node.op.value}") for side in (lhs, rhs))
        if isinstance(a, _Expr):
            return op(a.sql, self._against(a, b))
        if isinstance(b, _Expr):
            return op(self._against(b, a), b.sql)
        return self._constant(op, a, b)

    @handle(ast.Between)
    def between(self, node: ast.Between, lhs: Operand, low: Operand, high: Operand) -> Any:
        value = self._scalar(lhs, "the value of BETWEEN")
        bounds = [self._scalar(v, "a bound of BETWEEN") for v in (low, high)]
        lits = _literals(value, *bounds)
        if lits is not None:
            return self._constant(lambda v, lo, hi: (lo <= v <= hi) != node.not_, *lits)
        if not isinstance(value, _Expr):
            _fail("BETWEEN needs a property on its left")
        lo, hi = (self._against(value, bound) for bound in bounds)
        condition = value.sql.between(lo, hi)
        return not_(condition) if node.not_ else condition

    @handle(ast.In)
    def in_list(self, node: ast.In, lhs: Operand, *options: Operand) -> ColumnElement[bool]:
        value = self._scalar(lhs, "the value of IN")
        items = [self._scalar(option, "an item of IN") for option in options]
        lits = _literals(value, *items)
        if lits is not None:
            return self._constant(lambda v, *opts: (v in opts) != node.not_, *lits)
        if not isinstance(value, _Expr):
            _fail("IN needs a property on its left")
        sql = [self._against(value, item) for item in items]
        return value.sql.not_in(sql) if node.not_ else value.sql.in_(sql)

    @handle(ast.IsNull)
    def is_null(self, node: ast.IsNull, lhs: Operand) -> ColumnElement[bool]:
        if not isinstance(lhs, _Expr):
            _fail(f"IS NULL needs a property, not {lhs.describe()}")
        return lhs.sql.is_not(None) if node.not_ else lhs.sql.is_(None)

    @handle(ast.Like)
    def like(self, node: ast.Like, lhs: Operand) -> ColumnElement[bool]:
        pattern = self.evaluate(node.pattern, False)
        if not isinstance(lhs, _Expr) or lhs.kind != "text":
            where = self.source.at(lhs.offset) if isinstance(lhs, _Expr) else ""
            _fail(f"LIKE needs a text property on its left, not {lhs.describe()}{where}")
        if not isinstance(pattern, _Lit) or pattern.kind != "text":
            _fail(
                f"LIKE{self.source.at(lhs.offset)} needs a quoted pattern such as 'San%', "
                f"not {pattern.describe() if hasattr(pattern, 'describe') else pattern}"
            )
        sql_pattern = _like_pattern(pattern.value)
        if sql_pattern is None:
            _fail(
                f"the LIKE pattern for '{lhs.name}'{self.source.at(lhs.offset)} ends in a lone "
                "backslash; write \\\\ for a backslash"
            )
        condition = dialects.like(self.dialect, lhs.sql, sql_pattern, lower=pattern.casei)
        return not_(condition) if node.not_ else condition

    @handle(ast.TemporalPredicate, subclasses=True)
    def temporal(self, node: ast.TemporalPredicate, lhs: Operand, rhs: Operand) -> Any:
        name = _TEMPORAL_NAMES.get(type(node), type(node).__name__)
        if name not in ("T_BEFORE", "T_AFTER", "T_EQUALS", "T_INTERSECTS"):
            _fail(f"{name} is not supported; use T_BEFORE, T_AFTER, T_EQUALS or T_INTERSECTS")
        if isinstance(lhs, _Lit | _IntervalLit) and isinstance(rhs, _Expr):
            lhs, rhs = rhs, lhs
            name = {"T_BEFORE": "T_AFTER", "T_AFTER": "T_BEFORE"}.get(name, name)
        if not isinstance(lhs, _Expr) or lhs.kind not in ("datetime", "date"):
            what = lhs.describe()
            _fail(f"{name} needs a timestamp property on one side, not {what}")
        if isinstance(rhs, _IntervalLit):
            start = self.bind(_Lit(rhs.start, "datetime"), lhs)
            end = self.bind(_Lit(rhs.end, "datetime"), lhs)
            return {
                "T_BEFORE": lambda: lhs.sql < start,
                "T_AFTER": lambda: lhs.sql > end,
                "T_EQUALS": lambda: and_(lhs.sql == start, lhs.sql == end),
                "T_INTERSECTS": lambda: lhs.sql.between(start, end),
            }[name]()
        if not isinstance(rhs, _Lit) or rhs.kind not in ("datetime", "date"):
            what = rhs.describe() if hasattr(rhs, "describe") else repr(rhs)
            _fail(
                f"{name}{self.source.at(lhs.offset)} needs a TIMESTAMP, DATE or INTERVAL, "
                f"not {what}"
            )
        moment = self.bind(rhs, lhs)
        return {
            "T_BEFORE": lambda: lhs.sql < moment,
            "T_AFTER": lambda: lhs.sql > moment,
            "T_EQUALS": lambda: lhs.sql == moment,
            "T_INTERSECTS": lambda: lhs.sql == moment,
        }[name]()

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(
        self, node: ast.SpatialComparisonPredicate, lhs: Operand, rhs: Operand
    ) -> ColumnElement[bool]:
        op = _SPATIAL[type(node)]
        offset = self.source.function_at(_SPATIAL_WORDS, self.spatial_uses)
        self.spatial_uses += 1
        if isinstance(lhs, _GeomLit) and isinstance(rhs, _GeomLit):
            a, b = self._shape(lhs, op.cql, offset), self._shape(rhs, op.cql, offset)
            return true() if op.test(a, b) else false()
        if isinstance(lhs, _GeomLit):
            lhs, rhs, op = rhs, lhs, _SPATIAL_BY_NAME[op.converse]
        if not (isinstance(lhs, _Expr) and lhs.kind == "geometry"):
            _fail(
                f"{op.cql}{self.source.at(offset)} needs the geometry property on one side, "
                f"not {lhs.describe()}"
            )
        if not isinstance(rhs, _GeomLit):
            _fail(
                f"{op.cql}{self.source.at(offset)} needs a geometry literal such as "
                f"POINT(-96.72 17.06) on the other side, not {rhs.describe()}"
            )
        return self._spatial_sql(op, lhs, self._shape(rhs, op.cql, offset))

    @handle(ast.BBox)
    def bbox(self, node: ast.BBox, lhs: Operand) -> ColumnElement[bool]:
        offset = self.source.function_at(_SPATIAL_WORDS, self.spatial_uses)
        self.spatial_uses += 1
        if node.crs is not None:
            try:
                crs = parse_crs(_restore(str(node.crs)), FIELD)
            except InvalidParameter:
                crs = None
            if crs is not CRS84:
                _fail(f"BBOX{self.source.at(offset)}: coordinates are lon/lat (CRS84) only")
        minx, miny, maxx, maxy = (float(v) for v in (node.minx, node.miny, node.maxx, node.maxy))
        if minx > maxx or miny > maxy:
            _fail(
                f"BBOX{self.source.at(offset)}: the lower corner ({minx:g}, {miny:g}) is not "
                f"below and left of the upper one ({maxx:g}, {maxy:g})"
            )
        if not (isinstance(lhs, _Expr) and lhs.kind == "geometry"):
            _fail(f"BBOX{self.source.at(offset)} needs the geometry property, not {lhs.describe()}")
        box = shapely.box(minx, miny, maxx, maxy)
        self._check_shape(box, "BBOX", offset)
        return self._spatial_sql(_SPATIAL_BY_NAME["S_INTERSECTS"], lhs, box)

    def _spatial_sql(self, op: _SpatialOp, geom: _Expr, shape: BaseGeometry) -> ColumnElement[bool]:
        literal_geom = dialects.geometry_from_wkt(
            self.dialect, shapely.to_wkt(shape, rounding_precision=-1)
        )
        exact: ColumnElement[bool] = getattr(func, op.sql)(geom.sql, literal_geom)
        if not op.indexed:
            return exact
        column = getattr(geom.sql, "name", "geom")
        minx, miny, maxx, maxy = (float(v) for v in shape.bounds)
        candidates = dialects.bbox_candidates(
            self.dialect, self.table, (minx, miny, maxx, maxy), column
        )
        return and_(candidates, exact)

    def _shape(self, lit: _GeomLit, predicate: str, offset: int | None) -> BaseGeometry:
        where = f"the geometry of {predicate}{self.source.at(offset)}"
        crs = lit.geo.get("crs")
        if crs is not None:
            name = str(crs.get("properties", {}).get("name", ""))
            if not name.endswith(f"::{SRID}"):
                _fail(
                    f"{where} is in SRID {name.rsplit(':', 1)[-1] or '?'}; give SRID=4326 or none"
                )
        try:
            shape = shapely.geometry.shape({k: v for k, v in lit.geo.items() if k != "crs"})
        except (
            ValueError,
            TypeError,
            AttributeError,
            IndexError,
            shapely.errors.ShapelyError,
        ) as exc:
            _fail(f"{where} cannot be built: {exc}")
        shape = shapely.force_2d(shape)
        self._check_shape(shape, predicate, offset)
        return shape

    def _check_shape(self, shape: BaseGeometry, predicate: str, offset: int | None) -> None:
        where = f"the geometry of {predicate}{self.source.at(offset)}"
        if shape.is_empty:
            _fail(f"{where} is empty")
        coords = shapely.get_coordinates(shape)
        if not coords.size or not bool(shapely.is_valid_input(shape)):
            _fail(f"{where} is not a geometry")
        if not all(math.isfinite(float(v)) for v in coords.flat):
            _fail(f"{where} has a coordinate that is not a finite number")
        minx, miny, maxx, maxy = shape.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            bad = next((x, y) for x, y in coords if not (-180 <= x <= 180 and -90 <= y <= 90))
            hint = ""
            if -90 <= bad[0] <= 90 and -180 <= bad[1] <= 180:
                hint = (
                    " (lon and lat look swapped: write longitude first, e.g. POINT(-96.72 17.06))"
                )
            _fail(
                f"{where} has the point ({bad[0]:g} {bad[1]:g}) outside lon -180..180, "
                f"lat -90..90{hint}"
            )
        if not shape.is_valid:
            _fail(f"{where} is invalid: {describe_invalid(shape)}")


def _literals(*operands: _Expr | _Lit) -> list[_Lit] | None:
    """All the operands when every one is a literal, else None."""
    lits = [o for o in operands if isinstance(o, _Lit)]
    return lits if len(lits) == len(operands) else None


def _instant(value: Any) -> datetime | None:
    if isinstance(value, _Lit) and isinstance(value.value, datetime):
        return value.value
    return None


def _like_pattern(pattern: str) -> str | None:
    """CQL2 LIKE pattern -> SQL LIKE pattern with backslash escapes; None if it ends in ``\\``.

    CQL2 uses ``%`` and ``_`` as SQL does and a backslash to take the next character
    literally. pygeofilter says the single-character wildcard is ``.``; CQL2 says
    ``_``, and CQL2 is followed here.
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


__all__ = ["MAX_FILTER_CHARS", "compile_filter"]
