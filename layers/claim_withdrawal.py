"""A municipality withdraws its claim: the series of its claimed line ends.

A claim is one version of a municipality's claimed line (``layers.claims``); a newer
claim closes it. A withdrawal (after a convenio, or a claim filed by mistake) closes
the claim in force without a successor: its ``valid_to`` becomes the withdrawal
instant, nothing is deleted or overwritten, and who withdrew it and why is the audit
row ``claim.withdrawn`` (entity ``claim``, the claim's id). The municipality then
stands at its official line wherever claims in force are read (detection takes it
there, as a municipality that never claimed). A claim filed later is version n+1 of
the same series and starts at or after the withdrawal.

So "withdrawn" needs no column of its own: a municipality's claims never leave a gap
when one replaces another, so a last version that is closed is one that was
withdrawn, and :func:`withdrawal_of` reads it back that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, exists, select, update

from geo.errors import Conflict, InvalidInput, Problem
from layers import audit, reference_changes
from layers.claim_rows import WithdrawalDetails, WithdrawnClaimRow
from layers.claims import claim_geometry, get_claim, lock_municipality
from layers.engine import write_connection
from layers.inspections.reference_layers import geometry_bbox
from layers.schema import claims

WITHDRAWN = "claim.withdrawn"
#: a reason is a sentence or a paragraph, not a document
REASON_MAX_CHARS = 2000


@dataclass(frozen=True)
class Withdrawal:
    """How a municipality's claim series ended: the last claim, when, by whom, why."""

    claim_id: int
    cvegeo: str
    version: int
    withdrawn_at: datetime
    withdrawn_by: str | None
    reason: str | None


def withdraw_claim(
    engine: Engine,
    *,
    cvegeo: str,
    reason: str,
    withdrawn_by: str,
    claim_id: int | None = None,
) -> WithdrawnClaimRow:
    """Withdraw the claim in force of ``cvegeo`` now, in one transaction.

    Args:
        reason: why (a convenio, a claim filed by mistake); required, kept in the audit.
        withdrawn_by: who (the user's name, ``cli:…``).
        claim_id: the claim the caller means to withdraw, as it read it; if another
            is in force now (recorded meanwhile), nothing is written.

    Returns:
        The claim as it now stands (``valid_to`` set), with ``withdrawal``: a dict of
        ``withdrawn_at``, ``withdrawn_by`` and ``reason``.

    Raises:
        InvalidInput: no reason, or one too long.
        NotFound: no municipality with that key.
        Conflict: no claim in force (never filed, or already withdrawn), another claim
            than ``claim_id`` in force, or one that begins later than now.
    """
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(
            "reason is required: say why the claim is withdrawn (e.g. the convenio signed)",
            problems=[Problem("reason", "required: why the claim is withdrawn")],
        )
    if len(text) > REASON_MAX_CHARS:
        raise InvalidInput(
            f"reason is longer than {REASON_MAX_CHARS} characters; summarise it and cite "
            "the document",
            problems=[Problem("reason", f"at most {REASON_MAX_CHARS} characters")],
        )
    with write_connection(engine) as conn:
        return record_withdrawal(
            conn, cvegeo=cvegeo, reason=text, withdrawn_by=withdrawn_by, claim_id=claim_id
        )


def record_withdrawal(
    conn: Connection,
    *,
    cvegeo: str,
    reason: str,
    withdrawn_by: str,
    claim_id: int | None = None,
) -> WithdrawnClaimRow:
    """``withdraw_claim`` inside the caller's write transaction (reason already checked).

    The municipality's row is locked first (``claims.lock_municipality``), as a new
    claim does: a withdrawal and a claim recorded at the same moment happen one after
    the other, and the later one reads what the earlier one left."""
    lock_municipality(conn, cvegeo)
    in_force = conn.execute(
        select(claims.c.id, claims.c.version, claims.c.valid_from).where(
            claims.c.cvegeo == cvegeo, claims.c.valid_to.is_(None)
        )
    ).first()
    if in_force is None:
        raise Conflict(
            f"{cvegeo} has no claim in force, so there is nothing to withdraw "
            f"(GET /claims?cvegeo={cvegeo} lists its claims)",
            problems=[Problem("cvegeo", "no claim in force")],
        )
    if claim_id is not None and claim_id != in_force.id:
        raise Conflict(
            f"claim {claim_id} is not the claim in force of {cvegeo} (claim {in_force.id} "
            f"is); load the claims of {cvegeo} again and, if it still applies, withdraw "
            f"claim {in_force.id}",
            problems=[Problem("claim_id", f"not in force; claim {in_force.id} is")],
        )
    at = audit.now()
    if in_force.valid_from >= at:
        raise Conflict(
            f"claim {in_force.id} of {cvegeo} begins on {in_force.valid_from:%Y-%m-%d %H:%M} "
            "UTC, later than now; it can be withdrawn once it has begun",
            problems=[Problem("cvegeo", "its claim in force has not begun yet")],
        )
    closed = conn.execute(
        update(claims)
        .where(claims.c.id == in_force.id, claims.c.valid_to.is_(None))
        .values(valid_to=at)
    ).rowcount
    if closed != 1:  # pragma: no cover - the row lock makes this unreachable
        raise Conflict(
            f"the claim of {cvegeo} changed while it was being withdrawn; load it again",
            problems=[Problem("cvegeo", "changed meanwhile")],
        )
    audit.record(
        conn,
        withdrawn_by,
        WITHDRAWN,
        "claim",
        str(in_force.id),
        {"cvegeo": cvegeo, "version": in_force.version, "withdrawn_at": at, "reason": reason},
    )
    _key, geom = claim_geometry(conn, int(in_force.id))
    # the claims in force at each inspection's observation time changed here, as when
    # a claim is replaced; the tiles follow the claims table's own change triggers
    reference_changes.changed(conn, bboxes=[geometry_bbox(geom)], claim_keys=[cvegeo])
    claim = get_claim(conn, int(in_force.id))
    withdrawal: WithdrawalDetails = {
        "withdrawn_at": at,
        "withdrawn_by": withdrawn_by,
        "reason": reason,
    }
    return WithdrawnClaimRow(**claim, withdrawal=withdrawal)


def withdrawal_of(conn: Connection, claim_id: int) -> Withdrawal | None:
    """How the series of ``claim_id`` ended, if it did: the claim is the last version of
    its municipality and is closed. None for a claim in force, one replaced by a newer
    version (a past version, not a withdrawn one) and an unknown id."""
    later = claims.alias("later")
    row = conn.execute(
        select(claims.c.id, claims.c.cvegeo, claims.c.version, claims.c.valid_to).where(
            claims.c.id == claim_id,
            claims.c.valid_to.is_not(None),
            ~exists().where(later.c.cvegeo == claims.c.cvegeo, later.c.version > claims.c.version),
        )
    ).first()
    return None if row is None else _told(conn, row)


def withdrawn_by(conn: Connection, claim_id: int, at: datetime) -> Withdrawal | None:
    """For a moment ``at`` when no claim of ``claim_id``'s municipality was in force: the
    withdrawal before it (the claim of that municipality closed last at or before
    ``at``), or None when none was closed by then (``at`` before its first claim).

    Only a withdrawal leaves a gap in a series (a new version closes the one before at
    its own start), so the claim closed last before such a moment was withdrawn."""
    same = claims.alias("same")
    municipality = select(same.c.cvegeo).where(same.c.id == claim_id).scalar_subquery()
    row = conn.execute(
        select(claims.c.id, claims.c.cvegeo, claims.c.version, claims.c.valid_to)
        .where(claims.c.cvegeo == municipality, claims.c.valid_to <= at)
        .order_by(claims.c.valid_to.desc())
        .limit(1)
    ).first()
    return None if row is None else _told(conn, row)


def _told(conn: Connection, claim: Any) -> Withdrawal:
    """The withdrawal of a closed claim row, with who and why from its audit row (None
    when the audit holds none, e.g. a row closed by hand)."""
    found = audit.recent(conn, 1, "claim", action=WITHDRAWN, entity_id=str(claim.id))
    entry = found[0] if found else None
    details = (entry["details"] if entry else None) or {}
    return Withdrawal(
        claim_id=int(claim.id),
        cvegeo=str(claim.cvegeo),
        version=int(claim.version),
        withdrawn_at=claim.valid_to,
        withdrawn_by=entry["actor"] if entry else None,
        reason=details.get("reason"),
    )
