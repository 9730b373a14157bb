"""The river picker: rivers grouped by name, each with its length and the states it
crosses, searched as people type (accents and case ignored). Pure rules first, then
``GET /maps/river-choices`` over HTTP on both engines."""

from __future__ import annotations

from typing import Any

from geo.river_names import RiverEntry, folded, grouped, label, matches
from tests.conftest import Database
from tests.helpers import ok


def entry(rid: int, key: str, name: str, km: float, *states: str) -> RiverEntry:
    return RiverEntry(rid, key, name, km, tuple(states))


def test_search_folds_accents_case_and_a_leading_rio() -> None:
    assert folded("  Río  ATOYÁC ") == "rio atoyac"
    assert matches("río atoyac", "Atoyac", "Atoyac #2")
    assert matches("ATOY", "Atoyac", "Atoyac")
    assert matches("", "Salado", "Salado")
    assert not matches("salado", "Atoyac", "Atoyac")
    assert matches("rio", "Río Bravo", "Bravo")  # "río" alone is a word to find


def test_rivers_of_one_name_are_one_group_told_apart_by_state_and_length() -> None:
    groups = grouped(
        [
            entry(3, "Atoyac #3", "Atoyac", 40.0),
            entry(1, "Atoyac", "Atoyac", 151.2, "Oaxaca"),
            entry(2, "Atoyac #2", "Atoyac", 88.0, "Puebla", "Tlaxcala"),
            entry(4, "Salado", "Salado", 7.25, "Oaxaca"),
        ]
    )
    assert [g.name for g in groups] == ["Atoyac", "Salado"]
    assert [r.id for r in groups[0].rivers] == [1, 2, 3]  # with states first, then the rest
    assert [label(r) for r in groups[0].rivers] == [
        "Oaxaca · 151 km",
        "Puebla, Tlaxcala · 88 km",
        "fuera de lo cargado · 40 km",
    ]
    assert label(groups[1].rivers[0]) == "Oaxaca · 7.2 km"


def choices(db: Database, q: str | None = None) -> Any:
    with db.client() as http:  # rivers and municipalities are public
        return ok(http.get("/maps/river-choices", params={} if q is None else {"q": q}))


def test_the_atoyacs_are_one_group_with_length_and_state(oaxaca: Database) -> None:
    body = choices(oaxaca, "río ATOYÁC")
    assert [g["name"] for g in body["groups"]] == ["Atoyac"]
    atoyacs = body["groups"][0]["rivers"]
    assert sorted(r["key"] for r in atoyacs) == ["Atoyac", "Atoyac #2", "Atoyac #3"]
    through_oaxaca = next(r for r in atoyacs if r["key"] == "Atoyac")
    assert through_oaxaca["states"] == ["Oaxaca"] and through_oaxaca["length_km"] > 10
    assert through_oaxaca["label"].startswith("Oaxaca · ")
    everything = choices(oaxaca)
    assert {g["name"] for g in everything["groups"]} == {"Atoyac", "Salado"}
    assert choices(oaxaca, "no existe")["groups"] == []


def test_a_query_too_long_is_refused_naming_the_parameter(oaxaca: Database) -> None:
    with oaxaca.client() as http:
        r = http.get("/maps/river-choices", params={"q": "x" * 101})
    assert r.status_code in (400, 422) and "q" in r.text
