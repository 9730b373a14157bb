"""Writes to a reference layer, and the one place inspections' annotations follow them.

An inspection is annotated against the reference layers (municipalities, claims in
force, metro zones, rivers, disputed zones: ``layers.inspections.annotate``). A writer
of one of those layers says what it changed with ``changed(conn, ...)``; it does not
refresh anything itself. Inside ``write_connection`` the changes of the whole
transaction are gathered and the annotations are refreshed once, by ``flush``, just
before the commit, so they can never disagree with what was committed and a
transaction that touches many rows (a decision giving every party a new claim)
refreshes once. A writer on a connection of its own (not ``write_connection``) is
refreshed at once, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from geo.bbox import BBox

_PENDING = "linde_reference_changes"


@dataclass
class ReferenceChange:
    """What a transaction changed, as ``annotate.refresh`` takes it."""

    bboxes: list[BBox] = field(default_factory=list)
    municipality_keys: set[str] = field(default_factory=set)
    claim_keys: set[str] = field(default_factory=set)
    river_ids: set[int] = field(default_factory=set)
    disputed_zone_ids: set[int] = field(default_factory=set)
    metro_zone_codes: set[str] = field(default_factory=set)


def changed(
    conn: Connection,
    *,
    bboxes: Iterable[BBox] = (),
    municipality_keys: Iterable[str] = (),
    claim_keys: Iterable[str] = (),
    river_ids: Iterable[int] = (),
    disputed_zone_ids: Iterable[int] = (),
    metro_zone_codes: Iterable[str] = (),
) -> None:
    """Record that a reference layer changed in ``conn``'s transaction (after the change).

    Args:
        bboxes: old and new extents of changed geometries (rivers: widened by the
            river search radius, ``reference_layers.river_bbox``).
        the keys: inspections whose annotation names one of them are reconsidered.
    """
    pending = conn.info.get(_PENDING) if _gathering(conn) else ReferenceChange()
    assert pending is not None
    pending.bboxes.extend(bboxes)
    pending.municipality_keys.update(municipality_keys)
    pending.claim_keys.update(claim_keys)
    pending.river_ids.update(river_ids)
    pending.disputed_zone_ids.update(disputed_zone_ids)
    pending.metro_zone_codes.update(metro_zone_codes)
    if not _gathering(conn):
        _refresh(conn, pending)


def begin(conn: Connection) -> None:
    """Start gathering the changes of ``conn``'s transaction (``write_connection``)."""
    conn.info[_PENDING] = ReferenceChange()


def flush(conn: Connection) -> int:
    """Refresh the annotations the gathered changes may affect; stop gathering.

    Returns:
        How many inspections got a new annotation.
    """
    pending = conn.info.pop(_PENDING, None)
    return _refresh(conn, pending) if pending is not None else 0


def discard(conn: Connection) -> None:
    """Forget what was gathered (the transaction rolled back)."""
    conn.info.pop(_PENDING, None)


def _gathering(conn: Connection) -> bool:
    return _PENDING in conn.info


def _refresh(conn: Connection, change: ReferenceChange) -> int:
    from layers.inspections import annotate

    count = 0
    if change.disputed_zone_ids:  # their current extent and the points stored against them
        count += annotate.refresh_for_zones(conn, sorted(change.disputed_zone_ids))
    if (
        change.bboxes
        or change.municipality_keys
        or change.claim_keys
        or change.river_ids
        or change.metro_zone_codes
    ):
        count += annotate.refresh(
            conn,
            bboxes=change.bboxes,
            municipality_keys=sorted(change.municipality_keys),
            claim_keys=sorted(change.claim_keys),
            river_ids=sorted(change.river_ids),
            metro_zone_codes=sorted(change.metro_zone_codes),
        )
    return count
