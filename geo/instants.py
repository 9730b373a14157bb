"""RFC 3339 instants at the edges of time, as clients send them.

Python's ``datetime`` spans the years 1 to 9999; RFC 3339 allows the year 0000, and a
time zone can push an instant of 9999-12-31 or 0001-01-01 past either end when it is
turned to UTC. Clients do send these: QGIS's OGC API - Features provider turns the
subset ``field <= X`` into ``datetime=0000-01-01T00:00:00Z/X`` and ``field >= X`` into
``X/9999-12-31T00:00:00Z``. An instant beyond Python's range is the earliest or latest
instant there is, never an error (a bound that far out filters nothing away).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

_YEAR_ZERO = re.compile(r"^0000-")


def utc_instant(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 date-time with a time zone, in UTC.

    The year 0000 is the earliest instant; an instant that leaves the years 1-9999 once
    turned to UTC is the earliest or latest.

    Raises:
        ValueError: not a date-time, or one without a time zone.
    """
    if _YEAR_ZERO.match(text):
        datetime.fromisoformat("0001" + text[4:])  # the rest must still be a date-time
        return EARLIEST
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return LATEST if moment.year > 1 else EARLIEST
