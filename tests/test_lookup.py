"""``GET /lookup`` over HTTP against the real Oaxaca data, on both engines."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import orjson
import psycopg
import pytest
from sqlalchemy import select, text, update

import layers.engine as engine_module
from layers.dialects import intersects_point
from layers.engine import ASYNC_READS_NAME, read_connection, write_connection
from layers.queries.lookup import lookup_point
from layers.schema import municipalities, rivers
from services.demo import DISPUTE_PARTIES, disputed_zone, load_demo, official_municipalities
from services.detection import run_detection
from tests.conftest import CONAGUA_SITES, OAXACA, PG_ADMIN, Database, _pg_conninfo

# Sites whose recorded municipality disagrees with the INEGI polygon or is mis-encoded
# in the source (see data/README.md).
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
    with OAXACA.open(encoding="utf-8") as fh:
        loaded = {plain(f["properties"]["nom_agem"]) for f in json.load(fh)["features"]}
    in_zone = 0
    with oaxaca.client("planner") as http:
        for site in sites:
            r = http.get("/lookup", params={"lon": site["lon"], "lat": site["lat"]})
            assert r.status_code == 200, r.text
            found = r.json()["municipality"]
            if plain(str(site["municipio"])) not in loaded:
                assert found is None, (site, found)  # beyond the metro zone: not loaded
                continue
            assert found is not None, site
            assert plain(found["name"]) == plain(str(site["municipio"])), (site, found)
            in_zone += 1
    assert in_zone == 13  # the other 9 lie in municipalities outside the Oaxaca metro zone


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
    point = {"lon": -96.74816, "lat": 17.05459}  # 138 m from the Atoyac
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


def _served_and_direct(db: Database, points: list[tuple[float, float]]) -> list[Any]:
    pairs = []
    with db.client("planner") as http, read_connection(db.engine) as conn:
        for lon, lat in points:
            r = http.get("/lookup", params={"lon": lon, "lat": lat})
            assert r.status_code == 200, r.text
            direct = json.loads(orjson.dumps(lookup_point(conn, lon, lat)))
            pairs.append((r.json(), direct))
    return pairs


def test_the_served_answer_is_the_direct_one(api: Database) -> None:
    """On PostGIS ``/lookup`` reads on the event loop (``AsyncReader``), the CLI on a
    connection: the same statement, and the same answer, at every kind of point."""
    list(load_demo(api.engine, actor="test"))
    run_detection(api.engine, actor="test", cvegeos=list(DISPUTE_PARTIES))
    munis = official_municipalities()
    zone = disputed_zone(munis)
    inside = zone.intersection(munis[DISPUTE_PARTIES[0]]).representative_point()
    points = [
        (inside.x, inside.y),  # two claims and an open disputed zone
        (-96.74816, 17.05459),  # beside the Atoyac
        *[(g.representative_point().x, g.representative_point().y) for g in munis.values()],
        (-99.13, 19.43),  # outside every municipality
    ]
    pairs = _served_and_direct(api, points)
    for served, direct in pairs:
        assert served == direct
    answers = [served for served, _ in pairs]
    assert answers[0]["disputed_zone"] is not None and len(answers[0]["claims"]) == 2
    assert answers[1]["river"] is not None
    assert answers[-1]["municipality"] is None


@pytest.mark.postgis_only
@pytest.mark.parametrize("pinged", [False, True], ids=["broken-mid-read", "pinged-after-idle"])
def test_lookup_survives_its_connections_being_killed(
    oaxaca: Database, monkeypatch: pytest.MonkeyPatch, pinged: bool
) -> None:
    """PostgreSQL restarted, or a firewall dropped idle connections: the next lookups
    and pages are still answered (a dead connection is pinged after idling, or the read is tried
    once more on a checked pool), never a 500."""
    point = {"lon": -96.7266, "lat": 17.0654}
    with oaxaca.client("planner") as http:
        for _ in range(8):  # every connection of the pool has been used
            assert http.get("/lookup", params=point).status_code == 200
        database = oaxaca.url.rsplit("/", 1)[1]
        with psycopg.connect(_pg_conninfo(PG_ADMIN), autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = %s",
                (ASYNC_READS_NAME, database),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        if pinged:
            monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
        # the OGC API reads its change counters through the same pool: it meets them first
        items = [http.get("/collections/municipalities/items/20067") for _ in range(8)]
        answers = [http.get("/lookup", params=point) for _ in range(8)]
    assert [r.status_code for r in answers] == [200] * 8, answers[0].text
    assert {r.json()["municipality"]["cvegeo"] for r in answers} == {"20067"}
    assert [r.status_code for r in items] == [200] * 8, items[0].text
