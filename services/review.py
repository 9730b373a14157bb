"""The supervisors' review of inspections: list with filters and counts, and the
review and follow-up moves, one or many at once.

A move of many is **all or nothing**: every item is checked and moved in one write
transaction; if any item is refused, nothing is written and the refusal lists every
refused item with its reason, in Spanish. Each item names the version the
supervisor read, so an item someone changed meanwhile is refused (412) instead of
overwritten, as everywhere else in Linde.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from geo.access import Action, Reach, RowScope, allows, scope
from geo.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LindeError,
    NotFound,
    PreconditionFailed,
    Problem,
    StaleVersion,
)
from geo.inspections import FOLLOW_UP_MOVES, REVIEW_MOVES
from geo.roles import Role
from layers.engine import write_connection
from layers.inspections import review as queries
from layers.inspections import status_moves
from layers.inspections.review import ReviewFilter
from layers.schema import inspections
from layers.users import Principal

REVIEW_ES = {"pending": "pendiente", "approved": "aprobada", "rejected": "rechazada"}
FOLLOW_UP_ES = {"open": "abierta", "referred": "turnada al municipio", "attended": "atendida"}
#: the most inspections the page's map and table show at once (the exports have no limit)
LIST_LIMIT = 2000
#: the most items one bulk move takes
BULK_MAX = 500

ActionName = Literal["approve", "reject", "refer", "attend"]
#: each action: (kind of move, status it moves to, its Spanish name)
ACTIONS: dict[str, tuple[str, str, str]] = {
    "approve": ("review", "approved", "aprobar"),
    "reject": ("review", "rejected", "rechazar"),
    "refer": ("follow_up", "referred", "turnar al municipio"),
    "attend": ("follow_up", "attended", "marcar como atendida"),
}
#: the roles that open the review page and its list (inspectors have their own page)
READERS = (Role.planner, Role.commission, Role.admin)


def reader_scope(caller: Principal) -> RowScope:
    """The inspections a person reads on the review page.

    Raises:
        Forbidden: an inspector (their points are on /inspecciones/nueva), in Spanish.
    """
    if caller.role not in READERS:
        raise Forbidden(
            "La revisión de inspecciones es para supervisores (comisión de límites), "
            "administración y planeación; su cuenta es de inspección. Sus puntos están en "
            "/inspecciones/nueva."
        )
    return scope(caller.role, caller.cvegeo, caller.name, Action.inspection_read)


def may_act(caller: Principal) -> dict[str, bool]:
    """Which moves the page offers this person (the API decides again on each item)."""
    review = scope(caller.role, caller.cvegeo, caller.name, Action.inspection_review)
    follow = scope(caller.role, caller.cvegeo, caller.name, Action.inspection_follow_up)
    return {"review": review.reach is not Reach.none, "follow_up": follow.reach is not Reach.none}


def listing(conn: Connection, f: ReviewFilter, caller: Principal) -> dict[str, Any]:
    """The inspections ``f`` matches within the caller's scope, as GeoJSON features, with
    the total and the counts per review and follow-up status."""
    rows = reader_scope(caller)
    items, total, counts = queries.listing(conn, f, rows, limit=LIST_LIMIT)
    features = [
        {
            "type": "Feature",
            "id": item["id"],
            "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
            "properties": {k: v for k, v in item.items() if k not in ("id", "lon", "lat")},
        }
        for item in items
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "total": total,
        "shown": len(features),
        "limit": LIST_LIMIT,
        "counts": counts,
    }


def filter_choices(conn: Connection, caller: Principal) -> dict[str, Any]:
    return queries.choices(conn, reader_scope(caller))


@dataclass(frozen=True)
class Item:
    """One inspection to move and the version the supervisor read."""

    id: str
    version: int


def act(
    engine: Engine,
    caller: Principal,
    action: str,
    items: Sequence[Item],
    *,
    note: str | None = None,
    referred_to: str | None = None,
) -> list[dict[str, Any]]:
    """Apply ``action`` to every item, all or nothing; return each item's new state.

    Raises:
        Forbidden: the caller's role may not make this kind of move (403).
        InvalidInput: no items, too many, the same one twice, a rejection without a
            reason, a referral without its municipality (422).
        NotFound / PreconditionFailed / Conflict: some item is out of reach, was
            changed since it was read, or cannot make this move; ``problems`` lists
            every refused item (404 / 412 / 409: the most telling wins). Nothing is
            written.
    """
    kind, to_status, verb = ACTIONS[action]
    rows = scope(
        caller.role,
        caller.cvegeo,
        caller.name,
        Action.inspection_review if kind == "review" else Action.inspection_follow_up,
    )
    if rows.reach is Reach.none:
        raise Forbidden(
            f"Su cuenta ({caller.name}) no puede {verb} inspecciones: lo hacen los "
            "supervisores de la comisión de límites y la administración."
        )
    _check_request(action, items, note, referred_to)
    problems: list[tuple[type[LindeError], Problem]] = []
    done: list[dict[str, Any]] = []
    with write_connection(engine) as conn:
        for n, item in enumerate(items):
            refusal = _refusal(conn, rows, kind, to_status, item)
            if refusal is None:
                try:
                    version = status_moves.move(
                        conn,
                        item.id,
                        kind=kind,
                        to_status=to_status,
                        actor=caller.name,
                        note=note,
                        referred_to=referred_to if kind == "follow_up" else None,
                        expected_version=item.version,
                    )
                except LindeError as exc:  # a concurrent move, or an unknown municipality
                    # a stale version is refused as the pre-check refuses it (412)
                    cls = PreconditionFailed if isinstance(exc, StaleVersion) else type(exc)
                    refusal = (cls, _spanish(exc, referred_to))
                else:
                    done.append({"id": item.id, "version": version, "status": to_status})
                    continue
            problems.append((refusal[0], Problem(f"items[{n}]", f"{item.id}: {refusal[1]}")))
        if problems:
            raise _refused(verb, len(items), problems)  # rolls the transaction back
    return done


def _check_request(
    action: str, items: Sequence[Item], note: str | None, referred_to: str | None
) -> None:
    problems: list[Problem] = []
    if not items:
        problems.append(Problem("items", "elija al menos una inspección"))
    if len(items) > BULK_MAX:
        problems.append(
            Problem("items", f"son {len(items)}; se pueden mover hasta {BULK_MAX} a la vez")
        )
    seen: set[str] = set()
    for n, item in enumerate(items):
        if item.id in seen:
            problems.append(Problem(f"items[{n}]", f"{item.id} aparece dos veces"))
        seen.add(item.id)
    if action == "reject" and not (note or "").strip():
        problems.append(
            Problem("note", "escriba el motivo del rechazo: el inspector lo verá en el historial")
        )
    if action == "refer" and not referred_to:
        problems.append(
            Problem("referred_to", "elija el municipio al que se turna (clave INEGI de 5 cifras)")
        )
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems=problems)


def _refusal(
    conn: Connection, rows: RowScope, kind: str, to_status: str, item: Item
) -> tuple[type[LindeError], str] | None:
    """Why ``item`` cannot move (the class of the refusal and its Spanish reason), or None."""
    i = inspections.c
    row = conn.execute(
        select(
            i.review_status, i.follow_up_status, i.version, i.municipality_cvegeo, i.recorded_by
        ).where(i.id == item.id)
    ).first()
    if row is None or not allows(rows, cvegeo=row.municipality_cvegeo, recorded_by=row.recorded_by):
        return NotFound, "no existe o no está a su alcance"
    if row.version != item.version:
        return PreconditionFailed, (
            f"alguien la cambió después de que usted la cargó (usted vio la versión "
            f"{item.version}, ahora es la {row.version}; revisión: "
            f"{REVIEW_ES.get(row.review_status, row.review_status)}, seguimiento: "
            f"{FOLLOW_UP_ES.get(row.follow_up_status, row.follow_up_status)}). "
            "Vuelva a cargar la lista y decida de nuevo"
        )
    current = row.review_status if kind == "review" else row.follow_up_status
    moves = REVIEW_MOVES if kind == "review" else FOLLOW_UP_MOVES
    if to_status not in moves.get(current, set()):
        names = REVIEW_ES if kind == "review" else FOLLOW_UP_ES
        what = "su revisión" if kind == "review" else "su seguimiento"
        return Conflict, (
            f"{what} ya está «{names.get(current, current)}» y de ahí no pasa a "
            f"«{names.get(to_status, to_status)}»"
        )
    return None


def _spanish(exc: LindeError, referred_to: str | None) -> str:
    if isinstance(exc, NotFound):
        return f"no hay un municipio con la clave {referred_to}"
    return "otra persona la cambió en este mismo momento; vuelva a cargar la lista"


_WEIGHT = {PreconditionFailed: 3, Conflict: 2, NotFound: 1}


def _refused(verb: str, total: int, problems: list[tuple[type[LindeError], Problem]]) -> LindeError:
    worst = max((cls for cls, _ in problems), key=lambda cls: _WEIGHT.get(cls, 0))
    message = (
        f"No se pudo {verb}: {len(problems)} de {total} inspección(es) no se pueden mover "
        "y no se cambió ninguna. "
        + "; ".join(p.reason for _, p in problems[:5])
        + ("…" if len(problems) > 5 else "")
    )
    return worst(message, problems=[p for _, p in problems])
