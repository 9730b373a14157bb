"""Parameter and field types the routes share, with the bounds the databases impose."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from geo.errors import InvalidInput, Problem

#: the largest integer either database stores
INT64_MAX = 2**63 - 1
#: a row id in a path: a positive 64-bit integer (a larger one is refused, 422)
RowId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The row's id.")]
#: how many rows to skip in a listing
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Rows to skip.")]


def json_document(raw: bytes | str, field: str) -> Any:
    """``raw`` parsed as JSON (``NaN`` read as a number, for the geometry check to name);
    nesting too deep for Python to recurse is refused, not a crash.

    Raises:
        InvalidInput: not JSON, or nested too deeply (422 naming ``field``).
    """
    try:
        return json.loads(raw)
    except RecursionError:
        reason = "nested too deeply to be read; no inspection or geometry nests like that"
    except ValueError as exc:
        reason = f"not JSON: {exc}"
    raise InvalidInput(f"{field}: {reason}", problems=[Problem(field, reason)])


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_text(value: Any) -> Any:
    """pydantic would read a number as seconds since 1970; Linde takes ISO 8601 only."""
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value)
    ):
        raise ValueError(
            "a date and time in ISO 8601 with its offset, such as 2024-05-01T10:30:00-06:00"
        )
    return value


def _in_utc_range(value: datetime) -> datetime:
    """The moment as given (its offset kept), if it is still within the years 1-9999 in
    UTC (``9999-12-31T23:00:00-06:00`` is not: the databases and Python cannot hold it)."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("past the years 0001-9999 once turned to UTC; give a real date") from None
    return value


#: a moment with its time zone, written in ISO 8601
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc_range)]
