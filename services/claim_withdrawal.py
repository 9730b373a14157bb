"""The "withdraw a claim" use case: a municipality withdraws its claimed line.

``POST /claims/withdrawals`` and ``linde claims withdraw`` both call
:func:`withdraw`. Who may withdraw is who may file (``geo.access`` ``claim.record``):
the commission any municipality's claim, a municipality's representative its own
only. The storage (``layers.claim_withdrawal``) closes the claim in force, records who
and why, and says what changed so that inspections' annotations and tiles follow.

Disputed zones are not touched here, as when a claim is replaced: detection runs when
the commission asks (``POST /detection-runs``, ``linde disputes detect``), and the
next run compares the municipality at its official line, so a zone that only the
withdrawn claim made vanishes (closed) in that run.
"""

from __future__ import annotations

from sqlalchemy import Engine

from geo.access import Reach, RowScope, allows
from geo.errors import Forbidden, Problem
from layers.claim_rows import WithdrawnClaimRow
from layers.claim_withdrawal import withdraw_claim

#: the command line acts for the state (whoever runs it holds the database)
EVERY_MUNICIPALITY = RowScope(Reach.all)


def withdraw(
    engine: Engine,
    *,
    cvegeo: str,
    reason: str,
    actor: str,
    rows: RowScope = EVERY_MUNICIPALITY,
    acts_for: str | None = None,
    claim_id: int | None = None,
) -> WithdrawnClaimRow:
    """Withdraw the claim in force of ``cvegeo`` on behalf of ``actor``.

    Args:
        rows: the claims ``actor`` may file and withdraw (``claim.record``).
        acts_for: the municipality ``actor`` acts for, named in a refusal.
        claim_id: the claim the caller read as in force (see ``withdraw_claim``).

    Returns:
        The withdrawn claim with its ``withdrawal`` (when, who, why).

    Raises:
        Forbidden: ``cvegeo`` is not a municipality ``actor`` acts for; nothing written.
        InvalidInput, NotFound, Conflict: as ``layers.claim_withdrawal.withdraw_claim``.
    """
    if not allows(rows, cvegeo=cvegeo):
        raise Forbidden(
            f"{actor} withdraws the claims of {acts_for} only, not of {cvegeo}",
            problems=[Problem("cvegeo", f"your municipality, {acts_for}")],
        )
    return withdraw_claim(
        engine, cvegeo=cvegeo, reason=reason, withdrawn_by=actor, claim_id=claim_id
    )
