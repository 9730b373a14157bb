"""Reviewing and following up a stored inspection: status moves with optimistic concurrency.

A review moves pending → approved/rejected, a follow-up open → referred → attended
(``geo.inspections``); each move is checked against the version the caller read
(``expected_version``; over HTTP it travels as an ``If-Match`` ETag, read in
``api.concurrency``) and recorded in the inspection's history. Saving and reading inspections is
in ``layers.inspections.store``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from geo.errors import Conflict, InvalidInput, NotFound, Problem, StaleVersion
from geo.inspections import FOLLOW_UP_MOVES, REVIEW_MOVES
from layers import audit
from layers.engine import write_connection
from layers.inspections.rows import InspectionFeature
from layers.inspections.store import get
from layers.schema import (
    inspection_events,
    inspections,
    municipalities,
)

#: Rows in the first batch written (later ones are ``batch_size``).
_FIRST_BATCH = 1000


def change_status(
    engine: Engine,
    inspection_id: str,
    *,
    kind: str,
    to_status: str,
    actor: str,
    note: str | None = None,
    referred_to: str | None = None,
    expected_version: int | None = None,
) -> InspectionFeature:
    """Move an inspection's review (pending → approved/rejected) or follow-up
    (open → referred → attended) and record who and when, in a transaction of its own
    (see :func:`move` for the rules and the errors)."""
    with write_connection(engine) as conn:
        move(
            conn,
            inspection_id,
            kind=kind,
            to_status=to_status,
            actor=actor,
            note=note,
            referred_to=referred_to,
            expected_version=expected_version,
        )
        return get(conn, inspection_id)


def move(
    conn: Connection,
    inspection_id: str,
    *,
    kind: str,
    to_status: str,
    actor: str,
    note: str | None = None,
    referred_to: str | None = None,
    expected_version: int | None = None,
) -> int:
    """Move one inspection's review or follow-up inside the caller's write transaction;
    return its new version.

    The move is a compare-and-set on the status read (and on ``expected_version`` when
    given), in one statement, so two supervisors acting at once cannot both succeed
    from the same state, and an edit made from a stale page is refused.

    Raises:
        NotFound: no such inspection, or ``referred_to`` is not a municipality.
        StaleVersion: ``expected_version`` is not the inspection's version.
        Conflict: the move is not allowed from the current status.
        InvalidInput: a referral without the municipality it goes to.
    """
    column, moves = (
        ("review_status", REVIEW_MOVES)
        if kind == "review"
        else ("follow_up_status", FOLLOW_UP_MOVES)
    )
    if kind == "follow_up" and to_status == "referred" and not referred_to:
        raise InvalidInput(
            "a referral names the municipality it goes to (referred_to, its cvegeo)",
            problems=[Problem("referred_to", "is missing")],
        )
    found = conn.execute(
        select(inspections.c[column], inspections.c.version).where(
            inspections.c.id == inspection_id
        )
    ).first()
    if found is None:
        raise NotFound(f"no inspection {inspection_id}", problems=[Problem("id", "unknown")])
    current, version = found
    if expected_version is not None and expected_version != version:
        raise StaleVersion(
            f"inspection {inspection_id} is at version {version}, not {expected_version}: "
            "someone changed it since you read it; read it again",
            current_version=int(version),
            problems=[Problem("version", f"version {expected_version} is stale")],
        )
    if to_status not in moves.get(current, set()):
        allowed = ", ".join(sorted(moves.get(current, set()))) or "none"
        raise Conflict(
            f"{column.replace('_', ' ')} is {current}; it can move to: {allowed}",
            problems=[Problem("status", f"not allowed from {current}")],
        )
    values: dict[str, Any] = {column: to_status, "version": version + 1}
    if referred_to:
        known = conn.execute(
            select(municipalities.c.cvegeo).where(municipalities.c.cvegeo == referred_to)
        ).scalar()
        if known is None:
            raise NotFound(
                f"no municipality {referred_to}", problems=[Problem("referred_to", "unknown")]
            )
        values["referred_to"] = referred_to
    done = conn.execute(
        update(inspections)
        .where(
            inspections.c.id == inspection_id,
            inspections.c[column] == current,
            inspections.c.version == version,
        )
        .values(**values)
    )
    if done.rowcount != 1:
        raise Conflict(f"inspection {inspection_id} changed meanwhile; read it again")
    conn.execute(
        insert(inspection_events).values(
            inspection_id=inspection_id,
            kind=kind,
            from_status=current,
            to_status=to_status,
            referred_to=referred_to,
            note=note,
            actor=actor,
            at=audit.now(),
        )
    )
    audit.record(
        conn,
        actor,
        f"inspection.{kind}",
        "inspection",
        inspection_id,
        {"from": current, "to": to_status, "referred_to": referred_to, "note": note},
    )
    return int(version) + 1
