"""What walking a filter's tree produces: row values, literals, geometries, intervals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from layers.cql2.source import shorten

Kind = Literal[
    "text", "number", "boolean", "datetime", "date", "geometry", "array", "null", "other"
]
KIND_WORDS: dict[str, str] = {
    "text": "text",
    "number": "a number",
    "boolean": "a boolean",
    "datetime": "a timestamp",
    "date": "a date",
    "geometry": "a geometry",
    "array": "an array of keys",
    "null": "NULL",
    "other": "of a type filters cannot compare",
}


@dataclass(frozen=True)
class Expr:
    """A value computed per row: a property, CASEI()/ACCENTI() of one, arithmetic."""

    sql: ColumnElement[Any]
    kind: Kind
    name: str
    offset: int | None
    #: how to name it in a message when it is not a plain property
    label: str | None = None

    def describe(self) -> str:
        if self.label:
            return f"{self.label} ({KIND_WORDS[self.kind]})"
        return f"property '{self.name}' ({KIND_WORDS[self.kind]})"


@dataclass(frozen=True)
class Lit:
    """A literal value (already of Python type) from the filter."""

    value: Any
    kind: Kind

    def describe(self) -> str:
        if self.kind == "null":
            return "NULL"
        shown = self.value.isoformat() if isinstance(self.value, date) else self.value
        text = f"'{shorten(str(shown))}'" if self.kind not in ("number", "boolean") else shown
        return f"{text} ({KIND_WORDS[self.kind]})"


@dataclass(frozen=True)
class Geom:
    """A geometry literal, already in lon/lat (EPSG:4326) and checked."""

    shape: BaseGeometry

    def describe(self) -> str:
        return "a geometry literal"


#: an end of an interval: a row value, a moment, or None for ``..`` (open)
Bound = Expr | datetime | None


@dataclass(frozen=True)
class Interval:
    start: Bound
    end: Bound

    def describe(self) -> str:
        return "an INTERVAL"


@dataclass(frozen=True)
class Array:
    items: list[Any]

    def describe(self) -> str:
        return "a list of values"


Operand = Expr | Lit | Geom | Interval | Array | ColumnElement[Any]


def describe(operand: Any) -> str:
    if isinstance(operand, ColumnElement):
        return "a condition"
    method = getattr(operand, "describe", None)
    return str(method()) if method else "a value"


def kind_of(type_: TypeEngine[Any]) -> Kind:
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
