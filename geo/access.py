"""Who may do what on which rows: the one specification, and the one place it is decided.

The role ladder (``geo.roles``) opens the door of a route. This module decides which
*rows* behind that door a caller may read or change, from two facts about the caller:
its role and the municipality it acts for (``cvegeo``; ``None`` for the state).

``SPEC`` is the table: for each action, for each kind of person, a :class:`Reach`.

======================  =======  ==========  ==============  ================  ===========
action                  admin    commission  representative  inspector         planner
======================  =======  ==========  ==============  ================  ===========
claim.read              all      all         all             all               all
claim.record            all      all         municipality    none              none
claim.official          all      all         none            none              none
zone.read               all      all         party           party             party
zone.evidence           all      all         party           none              none
zone.decide             all      all         none            none              none
inspection.record       all      all         all             all               none
inspection.read         all      all         municipality    own+municipality  municipality
inspection.follow_up    all      all         municipality    none              none
inspection.review       all      all         none            none              none
users.manage            all      none        none            none              none
======================  =======  ==========  ==============  ================  ===========

* *representative*: a commission-role user who belongs to a municipality. It records
  that municipality's claims, adds evidence and proposals to the case files of the
  zones where it is a party, and reads them; it does not decide.
* *commission*: the state limits commission (commission role, no municipality).
* A reach that names the caller's municipality (``municipality``, ``party``,
  ``own+municipality``) is ``all`` for a caller without one: a state inspector or a
  state planner reads every zone and inspection, which is what the admin granted by
  giving them that role without a municipality.
* A row the caller may not read answers 404, exactly as a row that does not exist
  (another municipality's case file must not leak even its existence). An action on
  a row the caller may read but not change answers 403.

Pure: no database, no HTTP. ``layers.access`` turns a :class:`RowScope` into SQL for
lists; single rows are checked with :func:`allows` on facts read with the row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from geo.roles import Role


class Reach(StrEnum):
    all = "all"
    #: rows of the caller's municipality (a claim's cvegeo, an inspection's municipality)
    municipality = "municipality"
    #: zones where the caller's municipality is a party
    party = "party"
    #: rows the caller recorded, and rows of the caller's municipality
    own_or_municipality = "own+municipality"
    none = "none"


class Kind(StrEnum):
    admin = "admin"
    commission = "commission"
    representative = "representative"
    inspector = "inspector"
    planner = "planner"


class Action(StrEnum):
    claim_read = "claim.read"
    claim_record = "claim.record"
    claim_official = "claim.official"
    zone_read = "zone.read"
    zone_evidence = "zone.evidence"
    zone_decide = "zone.decide"
    inspection_record = "inspection.record"
    inspection_read = "inspection.read"
    inspection_follow_up = "inspection.follow_up"
    inspection_review = "inspection.review"
    users_manage = "users.manage"


_A, _M, _P, _O, _N = (
    Reach.all,
    Reach.municipality,
    Reach.party,
    Reach.own_or_municipality,
    Reach.none,
)
_ORDER = (Kind.admin, Kind.commission, Kind.representative, Kind.inspector, Kind.planner)

#: the specification (see the module docstring for the same table, readable)
SPEC: dict[Action, dict[Kind, Reach]] = {
    action: dict(zip(_ORDER, reaches, strict=True))
    for action, reaches in {
        Action.claim_read: (_A, _A, _A, _A, _A),
        Action.claim_record: (_A, _A, _M, _N, _N),
        Action.claim_official: (_A, _A, _N, _N, _N),
        Action.zone_read: (_A, _A, _P, _P, _P),
        Action.zone_evidence: (_A, _A, _P, _N, _N),
        Action.zone_decide: (_A, _A, _N, _N, _N),
        Action.inspection_record: (_A, _A, _A, _A, _N),
        Action.inspection_read: (_A, _A, _M, _O, _M),
        Action.inspection_follow_up: (_A, _A, _M, _N, _N),
        Action.inspection_review: (_A, _A, _N, _N, _N),
        Action.users_manage: (_A, _N, _N, _N, _N),
    }.items()
}

#: the case-file entries a representative may add (the commission adds any kind)
PARTY_EVENT_KINDS = frozenset({"evidence", "proposal", "note"})


def kind_of(role: Role, cvegeo: str | None) -> Kind:
    """The kind of person a role and a municipality make."""
    if role is Role.commission and cvegeo:
        return Kind.representative
    return Kind(role.value)


@dataclass(frozen=True)
class RowScope:
    """What one caller reaches for one action: ``reach`` plus the facts it is measured by.

    ``reach`` is never ``municipality``/``party``/``own+municipality`` without a
    ``cvegeo``: those become ``all`` for a caller who acts for the state.
    """

    reach: Reach
    cvegeo: str | None = None
    user_name: str | None = None

    @property
    def everything(self) -> bool:
        return self.reach is Reach.all


def scope(role: Role, cvegeo: str | None, user_name: str, action: Action) -> RowScope:
    """The rows ``action`` reaches for this caller (see ``SPEC``)."""
    reach = SPEC[action][kind_of(role, cvegeo)]
    if reach in (Reach.municipality, Reach.party, Reach.own_or_municipality) and not cvegeo:
        reach = Reach.all
    return RowScope(reach, cvegeo, user_name)


def allows(
    rows: RowScope,
    *,
    cvegeo: str | None = None,
    parties: Collection[str] = (),
    recorded_by: str | None = None,
) -> bool:
    """Whether one row is within ``rows``.

    Args:
        cvegeo: the row's municipality (a claim's, an inspection's responsible one).
        parties: the municipalities party to a zone.
        recorded_by: the user who recorded the row.
    """
    if rows.reach is Reach.all:
        return True
    if rows.reach is Reach.none:
        return False
    if rows.reach is Reach.municipality:
        return cvegeo is not None and cvegeo == rows.cvegeo
    if rows.reach is Reach.party:
        return rows.cvegeo in parties
    # own+municipality
    return (recorded_by is not None and recorded_by == rows.user_name) or (
        cvegeo is not None and cvegeo == rows.cvegeo
    )
