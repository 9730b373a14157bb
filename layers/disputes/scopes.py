"""The municipalities a detection run compares (a metro zone, a state, or a list), and
their official lines taken as claims."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import Connection, Engine, select

from geo.errors import InvalidInput, NotFound, Problem
from layers.claims import claims_from_official
from layers.schema import metro_zone_members, metro_zones, municipalities


@dataclass(frozen=True)
class Scope:
    key: str  # "zone:20.1.01", "state:20", "set:<digest>"
    label: str
    cvegeos: tuple[str, ...]


def resolve_scope(
    conn: Connection,
    *,
    zone: str | None = None,
    state: str | None = None,
    cvegeos: Sequence[str] | None = None,
    at_least: int = 2,
) -> Scope:
    """The municipalities a run compares: a metro zone's members, a state, or a list.

    Raises:
        InvalidInput: none or several of the three given, or a scope with no
            municipality imported.
        NotFound: an unknown metro zone or municipality key.
    """
    given = [x for x in (zone, state, cvegeos) if x]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of zone (metro zone code), state (2-digit code) or cvegeos",
            problems=[Problem("scope", "exactly one of zone, state, cvegeos")],
        )
    if zone:
        row = conn.execute(
            select(metro_zones.c.name).where(metro_zones.c.code == zone)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(
                f"no metro zone {zone}; import a delimitation first (linde import metro-zones)",
                problems=[Problem("zone", "unknown metro zone")],
            )
        keys = conn.execute(
            select(municipalities.c.cvegeo)
            .join(metro_zone_members, metro_zone_members.c.cvegeo == municipalities.c.cvegeo)
            .where(metro_zone_members.c.zone_code == zone)
            .order_by(municipalities.c.cvegeo)
        ).scalars()
        found = tuple(keys)
        label = f"{row} ({zone})"
        key = f"zone:{zone}"
    elif state:
        found = tuple(
            conn.execute(
                select(municipalities.c.cvegeo)
                .where(municipalities.c.state_code == state)
                .order_by(municipalities.c.cvegeo)
            ).scalars()
        )
        label = f"state {state}"
        key = f"state:{state}"
    else:
        assert cvegeos is not None
        wanted = sorted(set(cvegeos))
        found = tuple(
            conn.execute(
                select(municipalities.c.cvegeo)
                .where(municipalities.c.cvegeo.in_(wanted))
                .order_by(municipalities.c.cvegeo)
            ).scalars()
        )
        unknown = sorted(set(wanted) - set(found))
        if unknown:
            raise NotFound(
                f"no municipality with cvegeo {', '.join(unknown[:10])}",
                problems=[Problem("cvegeos", f"unknown: {', '.join(unknown[:10])}")],
            )
        digest = hashlib.sha256(",".join(wanted).encode()).hexdigest()[:16]
        label = ", ".join(wanted[:8]) + (" …" if len(wanted) > 8 else "")
        key = f"set:{digest}"
    if len(found) < at_least:
        raise InvalidInput(
            f"{label}: fewer than {at_least} of its municipalities are imported; "
            "nothing to compare",
            problems=[Problem("scope", "fewer than two municipalities imported")],
        )
    return Scope(key, f"{label}, {len(found)} municipalities", found)


class ScopeClaimsRecorded(TypedDict):
    """The official line recorded as claims across a scope (``POST /claims/official``)."""

    scope: str
    scope_label: str
    created: list[str]
    unchanged: list[str]


def official_claims_in_scope(
    engine: Engine,
    *,
    valid_from: datetime,
    recorded_by: str,
    zone: str | None = None,
    state: str | None = None,
    cvegeos: Sequence[str] | None = None,
) -> ScopeClaimsRecorded:
    """``claims.claims_from_official`` for every municipality of a scope."""
    with engine.connect() as conn:
        scope = resolve_scope(conn, zone=zone, state=state, cvegeos=cvegeos, at_least=1)
    done = claims_from_official(
        engine, scope.cvegeos, valid_from=valid_from, recorded_by=recorded_by
    )
    return ScopeClaimsRecorded(
        scope=scope.key,
        scope_label=scope.label,
        created=done["created"],
        unchanged=done["unchanged"],
    )
