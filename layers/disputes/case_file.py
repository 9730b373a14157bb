"""The one writer of case-file events: every entry of a zone's case file goes in here.

A case file only grows. Entries come from people (meetings, evidence, proposals,
agreements, notes, through ``zones.add_event``) and from Linde itself (detection,
registration, status moves, decisions, edits); all of them are rows built by
``_row`` and inserted by ``append`` (one or many at once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from geoalchemy2 import WKBElement
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, insert

from layers import audit
from layers.geometry_io import to_db
from layers.schema import case_events

#: kinds of case events a person may append (the others are written by Linde itself)
EVENT_KINDS = ("meeting", "evidence", "proposal", "agreement", "note")
SYSTEM_KINDS = ("detection", "registered", "status", "decision", "edit")


@dataclass(frozen=True)
class CaseEvent:
    """One entry of a zone's case file.

    ``summary`` is what a person reads (Spanish for Linde's own entries); ``details``
    the stable machine fields, stored as JSON; ``version`` the zone's version the
    entry belongs to; ``occurred_at`` defaults to the moment it is recorded.
    """

    zone_id: int
    kind: str
    actor: str
    version: int
    summary: str | None = None
    details: Mapping[str, Any] | None = None
    geom: BaseGeometry | None = None
    occurred_at: datetime | None = None


class _CaseEventValues(TypedDict):
    """The values of one ``case_events`` insert (a dict: SQLAlchemy binds it by name)."""

    zone_id: int
    kind: str
    occurred_at: datetime
    recorded_by: str
    recorded_at: datetime
    summary: str | None
    details: str | None  # JSON text
    zone_version: int
    geom: WKBElement | None


def _row(event: CaseEvent, now: datetime) -> _CaseEventValues:
    return _CaseEventValues(
        zone_id=event.zone_id,
        kind=event.kind,
        occurred_at=event.occurred_at or now,
        recorded_by=event.actor,
        recorded_at=now,
        summary=event.summary,
        details=json.dumps(event.details, ensure_ascii=False, default=str)
        if event.details
        else None,
        zone_version=event.version,
        geom=to_db([event.geom])[0] if event.geom is not None else None,
    )


def append(conn: Connection, events: Sequence[CaseEvent]) -> list[int]:
    """Add entries to case files, in the caller's transaction.

    Returns:
        The new events' ids, in order, for a single event; an empty list for several
        (written in one statement, whose ids the caller does not need).
    """
    if not events:
        return []
    now = audit.now()
    if len(events) == 1:
        pk = conn.execute(insert(case_events).values(**_row(events[0], now))).inserted_primary_key
        assert pk is not None
        return [int(pk[0])]
    conn.execute(insert(case_events), [_row(e, now) for e in events])
    return []


def append_one(conn: Connection, event: CaseEvent) -> int:
    """``append`` for one event; returns its id."""
    return append(conn, [event])[0]
