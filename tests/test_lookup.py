"""``GET /lookup`` over HTTP against the real Oaxaca data, on both engines."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from sqlalchemy import select, text, update

from layers.demo import load_demo
from layers.dialects import intersects_point
from layers.engine import write_connection
from layers.schema import municipalities, rivers
from tests.conftest import CONAGUA_SITES, Database

# Sites whose recorded municipality disagrees with the INEGI polygon or is mis-encoded
# in the source (see shared/data/README.md, section 5).
DISAGREE = {"OCPSU4691", "OCPSU4692", "OCPSU4695", "OCPSU4706", "OCPSU4866", "OCPSU4867"}


def plain(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(folded.upper().split())


def conagua_sites() -> list[dict[str, Any]]:
    with CONAGUA_SITES.open(encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    return [
        {
            "clave": f["properties"]["CLAVE"],
            "municipio": f["properties"]["MUNICIPIO"],
            "lon": f["geometry"]["coordinates"][0],
            "lat": f["geometry"]["coordinates"][1],
        }
        for f in features
    ]


def test_conagua_sites_fall_in_their_recorded_municipality(oaxaca: Database) -> None:
    sites = [s for s in conagua_sites() if s["clave"] not in DISAGREE]
    assert len(sites) == 22
    with oaxaca.client("planner") as http:
        for site in sites:
            r = http.get("/lookup", params={"lon": site["lon"], "lat": site["lat"]})
            assert r.status_code == 200, r.text
            found = r.json()["municipality"]
            assert found is not None, site
            assert plain(found["name"]) == plain(str(site["municipio"])), (site, found)


@pytest.mark.parametrize(
    ("clave", "cvegeo"),
    [
        ("OCPSU4687", "20067"),
        ("OCPSU4688", "20157"),
        ("OCPSU4689", "20157"),
        ("OCPSU4690", "20157"),
    ],
)
def test_sites_in_the_dispute_area(oaxaca: Database, clave: str, cvegeo: str) -> None:
    site = next(s for s in conagua_sites() if s["clave"] == clave)
    with oaxaca.client("planner") as http:
        body = http.get("/lookup", params={"lon": site["lon"], "lat": site["lat"]}).json()
    assert body["municipality"]["cvegeo"] == cvegeo
    assert body["municipality"]["state"] == {"code": "20", "name": "Oaxaca"}
    codes = {z["code"] for z in body["metro_zones"]}
    assert {"20.1.01", "20.01"} <= codes


def test_point_outside_every_municipality_is_an_empty_answer(oaxaca: Database) -> None:
    with oaxaca.client("planner") as http:
        r = http.get("/lookup", params={"lon": -99.13, "lat": 19.43})  # Mexico City: not loaded
    assert r.status_code == 200
    assert r.json() == {
        "point": {"lon": -99.13, "lat": 19.43},
        "municipality": None,
        "on_boundary_of": [],
        "metro_zones": [],
        "claims": [],
        "river": None,  # no river line within 25 km in the Natural Earth layer
        "disputed_zone": None,
    }


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"lon": "abc", "lat": "17"}, "lon", "valid number"),
        ({"lon": "-96.7"}, "lat", "required"),
        ({"lon": "-196.7", "lat": "17"}, "lon", "between -180 and 180"),
        ({"lon": "17.06", "lat": "-96.72"}, "lat", "swapped"),
        ({"lon": "nan", "lat": "17"}, "lon", "longitude"),
    ],
)
def test_bad_coordinates_are_422_naming_the_field(
    oaxaca: Database, params: dict[str, str], field: str, words: str
) -> None:
    with oaxaca.client("planner") as http:
        r = http.get("/lookup", params=params)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert any(d["field"] == field and words in d["reason"] for d in error["details"]), error


def test_point_lookup_uses_the_spatial_index(oaxaca: Database) -> None:
    with oaxaca.engine.connect() as conn:
        query = select(municipalities.c.cvegeo).where(
            intersects_point(conn.dialect, municipalities, -96.7266, 17.0654)
        )
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if oaxaca.kind == "postgis":
            plan = " ".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
            assert "idx_municipalities_geom" in plan, plan
        else:
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "idx_municipalities_geom" in plan, plan
        assert [r for r in conn.execute(query).scalars()] == ["20067"]


def test_lookup_sees_a_river_change_at_once(api: Database) -> None:
    """The server keeps its rivers between requests; a change made elsewhere (here plain
    SQL, as another process would) bumps the layer's counter and is seen at once."""
    list(load_demo(api.engine, actor="test"))
    point = {"lon": -96.74874, "lat": 17.09375}
    with api.client("planner") as http:
        before = http.get("/lookup", params=point).json()["river"]
        assert before is not None and before["in_federal_zone"] is False
        with write_connection(api.engine) as conn:
            conn.execute(
                update(rivers)
                .where(rivers.c.id == before["id"])
                .values(federal_zone_width_m=before["distance_m"] + 1, name="Renombrado")
            )
        after = http.get("/lookup", params=point).json()["river"]
    assert after["id"] == before["id"]
    assert after["name"] == "Renombrado"
    assert after["in_federal_zone"] is True
