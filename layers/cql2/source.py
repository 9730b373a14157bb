"""A filter as the client sent it: read by the ``cql2`` package into CQL2-JSON, with
the positions Linde's messages point at.

``cql2`` (Rust) parses cql2-text and cql2-json; Linde keeps only its JSON tree and
compiles that itself (``layers.cql2.compiler``). Its text parser keeps no positions
in the tree, so a small forgiving tokenizer here finds where a property or function
named in an error stands (the ``n``-th use of a name in the text is the ``n``-th
met while walking the tree, which follows the text's order).

Every problem is an ``InvalidParameter`` on the ``filter`` field; a syntax error
says the line, the column and what was expected, with the line and a caret.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, NoReturn

import cql2

from geo.errors import InvalidParameter, Problem
from geo.instants import utc_instant

FIELD = "filter"
MAX_FILTER_CHARS = 8_000

Lang = Literal["cql2-text", "cql2-json"]
LANGS: tuple[Lang, ...] = ("cql2-text", "cql2-json")

_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<zone>[Zz]|[+-]\d{2}:\d{2})?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def fail(reason: str) -> NoReturn:
    raise InvalidParameter(f"{FIELD}: {reason}", problems=[Problem(FIELD, reason)])


def shorten(value: str, limit: int = 24) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: Literal["string", "quoted_name", "name", "number", "symbol"]
    text: str
    start: int  # 0-based offset in the filter
    closed: bool = True  # a string or quoted name has its closing quote

    @property
    def end(self) -> int:
        return self.start + len(self.text)


_WORD = re.compile(r"[^\W\d][\w:.]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _quoted(text: str, i: int, quote: str) -> tuple[int, bool]:
    """End of the quoted run starting at ``i`` (a doubled quote stays inside)."""
    j, n = i + 1, len(text)
    while j < n:
        if text[j] == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1, True
        j += 1
    return n, False


def tokens(text: str) -> list[Token]:
    """A forgiving tokenizer, for positions only: it never fails."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            j, closed = _quoted(text, i, ch)
            out.append(Token("string" if ch == "'" else "quoted_name", text[i:j], i, closed))
            i = j
        elif (m := _WORD.match(text, i)) is not None:
            out.append(Token("name", m.group(), i))
            i = m.end()
        elif (m := _NUMBER.match(text, i)) is not None:
            out.append(Token("number", m.group(), i))
            i = m.end()
        else:
            out.append(Token("symbol", ch, i))
            i += 1
    return out


def _before_paren(toks: list[Token], n: int) -> bool:
    return n + 1 < len(toks) and toks[n + 1].kind == "symbol" and toks[n + 1].text == "("


# --- the source ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The filter as sent (text, or JSON without positions) and its CQL2-JSON tree."""

    text: str
    lang: Lang
    tree: Any
    toks: list[Token]

    @classmethod
    def read(cls, text: str, lang: Lang = "cql2-text") -> Source:
        """Parse ``text`` with ``cql2``; raises ``InvalidParameter`` saying where it fails."""
        _check_characters(text)
        if lang == "cql2-json":
            return cls(text, lang, _read_json(text), [])
        toks = tokens(text)
        source = cls(text, lang, None, toks)
        source.check_temporal_literals()
        try:
            tree = cql2.parse_text(text).to_json()
        except cql2.ParseError as exc:
            source.syntax_error(str(exc))
        except Exception as exc:  # cql2 raises plain Exception for these
            if "position" in str(exc):
                fail("an empty geometry (POINT EMPTY …) cannot be used in a filter")
            fail("could not be read as CQL2 text")
        except BaseException as exc:  # a panic inside the parser (pyo3's PanicException)
            if type(exc).__name__ != "PanicException":
                raise
            fail("could not be read as CQL2 text")
        return cls(text, lang, tree, toks)

    # positions --------------------------------------------------------------------------

    def where(self, offset: int) -> str:
        """``column 12`` (or ``line 2, column 5`` in a filter of several lines)."""
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return f"line {line}, column {column}" if "\n" in self.text else f"column {column}"

    def at(self, offset: int | None) -> str:
        return f" at {self.where(offset)}" if offset is not None else ""

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

    def property_at(self, name: str, nth: int) -> int | None:
        """Offset of the ``nth`` (0-based) use of property ``name`` in the text."""
        seen = 0
        for n, tok in enumerate(self.toks):
            if tok.kind == "quoted_name":
                hit = tok.text[1:-1].replace('""', '"') == name
            else:
                hit = tok.kind == "name" and tok.text == name and not _before_paren(self.toks, n)
            if hit:
                if seen == nth:
                    return tok.start
                seen += 1
        return None

    def function_at(self, name: str, nth: int) -> int | None:
        """Offset of the ``nth`` (0-based) call of function ``name`` (any case)."""
        seen = 0
        for n, tok in enumerate(self.toks):
            if (
                tok.kind == "name"
                and tok.text.lower() == name.lower()
                and _before_paren(self.toks, n)
            ):
                if seen == nth:
                    return tok.start
                seen += 1
        return None

    # errors -------------------------------------------------------------------------------

    def syntax_error(self, message: str) -> NoReturn:
        """Turn ``cql2``'s parse error (`` --> line:col`` … ``= expected …``) into Linde's."""
        m = re.search(r"-->\s*(\d+):(\d+)", message)
        if m is None:
            fail("syntax error: the filter could not be read as CQL2 text")
        line, column = int(m.group(1)), int(m.group(2))
        starts = [0] + [i + 1 for i, ch in enumerate(self.text) if ch == "\n"]
        offset = min(starts[min(line, len(starts)) - 1] + column - 1, len(self.text))
        if any(t.start == offset and not t.closed for t in self.toks):
            quote = self.text[offset]
            fail(
                f"syntax error at {self.where(offset)}: the {quote} opened here is never closed"
                + self.excerpt(offset)
            )
        tok = next((t for t in self.toks if t.start == offset), None)
        if offset >= len(self.text.rstrip()):
            what = "end of filter"
            offset = len(self.text.rstrip())
        elif tok is not None:
            what = f"'{shorten(tok.text)}'"
        else:
            what = f"'{self.text[offset]}'"
        expected = re.search(r"= expected (.*)$", message, re.S)
        wanted = _expected(expected.group(1) if expected else "")
        reason = f"syntax error at {self.where(offset)}: unexpected {what}; expected {wanted}"
        if tok is not None and tok.kind == "name" and tok.text.upper().startswith("T_"):
            reason += f" (write temporal functions as {tok.text.upper()}(property, TIMESTAMP(…)))"
        fail(reason + self.excerpt(offset))

    def check_temporal_literals(self) -> None:
        """Refuse malformed TIMESTAMP/DATE/INTERVAL strings, saying where.

        ``cql2`` passes through impossible days and adds a ``Z`` to a timestamp
        without a zone; only the RFC 3339 form CQL2 defines, with a zone, is let in.
        """
        toks = self.toks
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
                if word == "INTERVAL":
                    problem = instant_problem(value)
                elif word == "DATE":
                    problem = date_problem(value)
                else:
                    problem = timestamp_problem(value)
                if problem:
                    fail(f"{word}('{value}') at {self.where(arg.start)}: {problem}")


def _check_characters(text: str) -> None:
    if len(text) > MAX_FILTER_CHARS:
        fail(f"too long: {len(text):,} characters; at most {MAX_FILTER_CHARS:,}")
    if not text.strip():
        fail("empty; write a CQL2 expression such as name LIKE 'San%'")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        fail(f"not valid Unicode text at column {exc.start + 1}")
    for i, ch in enumerate(text):
        if (ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127:
            fail(f"character U+{ord(ch):04X} at column {i + 1} is not allowed")


def _read_json(text: str) -> Any:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except RecursionError:
        fail("nested too deeply")
    try:
        return cql2.parse_json(text).to_json()
    except Exception:  # cql2 raises plain Exception for some trees
        fail(
            'not a CQL2-JSON expression: write {"op": "=", "args": [{"property": "name"}, '
            '"Oaxaca de Juárez"]}'
        )
    except BaseException as exc:  # a panic inside the parser
        if type(exc).__name__ != "PanicException":
            raise
        fail("not a CQL2-JSON expression")


_EXPECTED_WORDS = [
    ({"Eq", "Gt", "GtEq", "Lt", "LtEq", "NotEq", "NotFlag", "IsNullPostfix"},
     "an operator (=, <>, <, <=, >, >=, LIKE, IN, BETWEEN, IS NULL)"),
    ({"Identifier", "GEOMETRY", "SingleQuotedString", "DECIMAL", "Double", "Expr", "True",
      "False", "Null", "Array", "ExpressionInParentheses", "Negative", "UnaryNot"},
     "a property or a value"),
    ({"And", "Or"}, "AND or OR"),
    ({"COORD", "PADDED_DECIMAL"}, "a coordinate"),
]  # fmt: skip


def _expected(listed: str) -> str:
    names = set(re.findall(r"[A-Za-z_]+", listed)) - {"or"}
    wanted = [words for rules, words in _EXPECTED_WORDS if names & rules]
    if not wanted:
        return "the end of the filter" if names == {"EOI"} else "something else"
    return wanted[0] if len(wanted) == 1 else f"{', '.join(wanted[:-1])} or {wanted[-1]}"


# --- temporal literal strings ----------------------------------------------------------------

_EXAMPLE = "write it as '2024-01-31T12:00:00Z' (RFC 3339, with a zone)"


def timestamp_problem(value: str) -> str | None:
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        return f"not a timestamp; {_EXAMPLE}"
    if m["zone"] is None:
        return f"no time zone; {_EXAMPLE}"
    try:
        parse_timestamp(value)
    except (ValueError, OverflowError) as exc:
        return f"not a real moment ({exc})"
    return None


def date_problem(value: str) -> str | None:
    if _DATE.fullmatch(value) is None:
        return "not a date; write it as '2024-01-31'"
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        return f"not a real day ({exc})"
    return None


def instant_problem(value: str) -> str | None:
    """An INTERVAL bound: a timestamp, a date, or ``..`` (open)."""
    if value == "..":
        return None
    return date_problem(value) if _DATE.fullmatch(value) else timestamp_problem(value)


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp with a zone, in UTC (fractions past microseconds dropped)."""
    text = value.upper().replace("Z", "+00:00").replace(" ", "T")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return utc_instant(text)
