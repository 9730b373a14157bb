"""``GET /maps/river-choices``: the rivers a person picks a map from, grouped by name, each
with its length and the states it crosses, searched as they type (``?q=atoy``).

Rivers and municipalities are public, so this is too. The maps page renders the full
list on load and asks this route as the person types (a hand-written script of a few
lines in ``mapas.html``: no library needed for a debounced ``fetch``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import ConnectionDep
from geo.river_names import grouped, label
from layers.river_index import river_entries

router = APIRouter(tags=["maps"])

#: rivers in one answer at most (Natural Earth's Mexico holds a few hundred)
CHOICES_MAX = 400


class RiverChoice(BaseModel):
    id: int
    key: str
    length_km: float
    states: list[str]
    #: "Oaxaca · 151 km": what tells it from the other rivers of its name
    label: str


class RiverChoiceGroup(BaseModel):
    name: str
    rivers: list[RiverChoice]


class RiverChoices(BaseModel):
    query: str
    groups: list[RiverChoiceGroup]


def river_choices_of(conn: ConnectionDep, q: str = "") -> RiverChoices:
    groups = grouped(river_entries(conn, q, CHOICES_MAX))
    return RiverChoices(
        query=q,
        groups=[
            RiverChoiceGroup(
                name=g.name,
                rivers=[
                    RiverChoice(
                        id=r.id,
                        key=r.key,
                        length_km=r.length_km,
                        states=list(r.states),
                        label=label(r),
                    )
                    for r in g.rivers
                ],
            )
            for g in groups
        ],
    )


@router.get(
    "/maps/river-choices",
    summary="Rivers to pick a map from: by name, with length and states; searchable",
    response_model=RiverChoices,
)
def river_choices(
    conn: ConnectionDep,
    q: Annotated[
        str,
        Query(
            max_length=100,
            description="Words to find in the river's name or key, accents and case "
            "ignored ('atoyac', 'río salado'); empty: every river.",
        ),
    ] = "",
) -> RiverChoices:
    return river_choices_of(conn, q)
