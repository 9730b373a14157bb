"""``linde demo``: the real metro zone, illustrative claims said to be so, a disputed zone
ready at once, one user per role; on both engines, once."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from layers.queries.lookup import lookup_point
from layers.schema import claims, inspections, localities, metro_zones, municipalities, rivers
from services.demo import (
    DEMO_USERS,
    DISPUTE_NAME,
    ZONE_CODE,
    demo_users,
    dispute_zone_id,
    load_demo,
)
from tests.conftest import Database
from tests.helpers import sign_in


def decoded(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), text)


def test_demo_loads_real_data_once_and_says_what_is_illustrative(db: Database) -> None:
    first = list(load_demo(db.engine, actor="test"))
    second = list(load_demo(db.engine, actor="test"))
    assert first[0].startswith("municipalities: 26 created")
    assert first[1].startswith("localities: 235 created")
    assert "1 zone(s) created" in first[-1] and DISPUTE_NAME in first[-1]
    assert all(" 0 created" in line for line in second[:-1])
    assert "0 zone(s) created, 1 unchanged" in second[-1]
    with db.engine.connect() as conn:
        count = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (municipalities, localities, metro_zones, rivers, claims, inspections)
        }
        assert count == {
            "municipalities": 26,
            "localities": 235,
            "metro_zones": 1,
            "rivers": 1,
            "claims": 2,
            "inspections": 28,
        }
        official = set(conn.execute(select(municipalities.c.source)).scalars())
        assert official == {"INEGI, Marco Geoestadístico"}
        assert all("CONAGUA" in s for s in conn.execute(select(inspections.c.source)).scalars())
        references = list(conn.execute(select(claims.c.source_reference)).scalars())
        assert len(references) == 2 and all("Ilustrativo" in (r or "") for r in references)
        # the patch straddles the real limit: a point in it has both claims and the zone
        answer = lookup_point(conn, -96.7535, 17.0895)
    assert answer["municipality"] is not None
    assert answer["municipality"]["cvegeo"] in ("20067", "20157")
    assert sorted(c["cvegeo"] for c in answer["claims"]) == ["20067", "20157"]
    assert answer["disputed_zone"] is not None


def test_the_dispute_is_ready_with_its_localities_and_credits_its_sources(
    api: Database,
) -> None:
    list(load_demo(api.engine, actor="test"))
    zone_id = dispute_zone_id(api.engine)
    assert zone_id is not None
    with api.client("commission") as http:
        zone = http.get(f"/disputes/{zone_id}").json()
        drawn = http.get(f"/maps/disputes/{zone_id}", params={"tiles": "false"})
    # the page is for a signed-in person: the demo's commission member, with the password
    # the demo printed, reaches it; nobody signed in is sent to /entrar
    commission = next(u for u in demo_users(api.engine, actor="test") if u.name == "comision")
    with httpx.Client(base_url=api.base_url, timeout=30) as browser:
        assert browser.get(f"/disputas/{zone_id}").headers["location"].startswith("/entrar")
        signed = sign_in(api.base_url, commission.name, commission.password, client=browser)
        assert signed.status_code == 303, signed.text
        page = browser.get(f"/disputas/{zone_id}")
    assert zone["name"] == DISPUTE_NAME and zone["status"] == "detected"
    assert zone["scope"] == f"zone:{ZONE_CODE}" and 30 < zone["area_ha"] < 45
    assert {p["cvegeo"] for p in zone["parties"]} == {"20067", "20157"}
    population = {loc["cvegeo"]: loc["population"] for loc in zone["localities"]}
    assert population == {"200670001": 258913, "201570001": 16827}  # INEGI, Censo 2020
    assert page.status_code == 200
    source = decoded(drawn.text).split("Fuente:", 1)[1].split("Elaborado con Linde", 1)[0]
    assert "INEGI, Marco Geoestadístico" in source
    assert "Ilustrativo" in source and "registrados en Linde" not in source


def test_one_user_per_role_signs_in_and_a_second_run_gives_fresh_tokens(api: Database) -> None:
    list(load_demo(api.engine, actor="test"))  # as `linde demo` does: the users' municipalities
    first = demo_users(api.engine, actor="test")
    second = demo_users(api.engine, actor="test")
    assert [(u.name, u.role, u.cvegeo) for u in first] == list(DEMO_USERS)
    assert all(a.token != b.token for a, b in zip(first, second, strict=True))
    assert all(a.password != b.password for a, b in zip(first, second, strict=True))
    for user in second:
        with api.client() as http:
            me = http.get("/me", headers={"Authorization": f"Bearer {user.token}"})
            assert me.status_code == 200, me.text
            assert me.json()["name"] == user.name and me.json()["role"] == user.role
            assert me.json()["cvegeo"] == user.cvegeo
            signed = http.post("/entrar", data={"nombre": user.name, "contrasena": user.password})
            assert signed.status_code in (302, 303), signed.text
