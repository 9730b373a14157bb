"""The access matrix, from routes to rows: every kind of person, every scoped route,
every row, answered as ``geo.access.SPEC`` says. Over real HTTP, on both engines.

Three tiny square municipalities of the Oaxaca metro zone (20067, 20157, 20385), two
disputed zones (A: 20067 and 20157; B: 20157 and 20385) and three inspections, one in
each municipality. Each caller asks for each row through every route that serves it;
the answer expected is computed from the specification (``scope`` and ``allows``), so
the test checks that the routes enforce the table and nothing else.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import morecantile
import pytest
from shapely.geometry import box

from geo.access import Action, Reach, allows, scope
from geo.roles import Role
from geo.tiles import decode_tile
from layers.disputes.zone_edits import register_zone
from layers.importers.municipalities import import_municipalities
from layers.users import add_user
from tests.conftest import Database
from tests.helpers import TLS

SQUARES = {
    "20067": (-96.80, 17.04, -96.75, 17.09),
    "20157": (-96.75, 17.04, -96.70, 17.09),
    "20385": (-96.70, 17.04, -96.65, 17.09),
}
NAMES = {"20067": "San Jacinto (prueba)", "20157": "Oaxaca (prueba)", "20385": "Xoxo (prueba)"}
ZONES = {"A": ("20067", "20157"), "B": ("20157", "20385")}
#: an inspection in each municipality: (where, who records it)
INSPECTIONS = {
    "20157": "inspector-20067",
    "20385": "inspector-estatal",
    "20067": "inspector-estatal",
}
#: the callers: name -> (role, municipality)
CALLERS = {
    "admin": ("admin", None),
    "comision": ("commission", None),
    "rep-20067": ("commission", "20067"),
    "rep-20385": ("commission", "20385"),
    "inspector-20067": ("inspector", "20067"),
    "inspector-estatal": ("inspector", None),
    "planeacion": ("planner", None),
    "planeacion-20157": ("planner", "20157"),
}


def ring(bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    x0, y0, x1, y1 = bounds
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def centre(cvegeo: str) -> tuple[float, float]:
    x0, y0, x1, y1 = SQUARES[cvegeo]
    return ((x0 + x1) / 2, (y0 + y1) / 2)


@dataclass
class World:
    base: str
    tokens: dict[str, str]
    zones: dict[str, int]  # "A"/"B" -> id
    inspections: dict[str, str]  # cvegeo -> id

    def client(self, caller: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.tokens[caller]}"},
            timeout=60,
            verify=TLS,
        )


@pytest.fixture
def world(api: Database, tmp_path: Path) -> World:
    features = [
        {
            "type": "Feature",
            "properties": {"cvegeo": k, "nom_agem": NAMES[k], "pob": 1000, "viv": 300},
            "geometry": ring(b),
        }
        for k, b in SQUARES.items()
    ]
    path = tmp_path / "municipios.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    import_municipalities(api.engine, path, actor="test")
    tokens = {}
    for name, (role, cvegeo) in CALLERS.items():
        _user, tokens[name] = add_user(api.engine, name, role, actor="test", cvegeo=cvegeo)
    zones = {}
    for label, parties in ZONES.items():
        left, right = SQUARES[parties[0]], SQUARES[parties[1]]
        geom = box(left[2] - 0.01, 17.05, right[0] + 0.01, 17.07)
        zone = register_zone(
            api.engine, name=f"Zona {label}", geom=geom, parties=parties, actor="t"
        )
        zones[label] = int(zone["id"])
    world = World(api.base_url, tokens, zones, {})
    for cvegeo, recorder in INSPECTIONS.items():
        inspection_id = str(uuid.uuid4())
        lon, lat = centre(cvegeo)
        body = {
            "type": "Feature",
            "id": inspection_id,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "observed_at": "2026-03-05T10:30:00-06:00",
                "category": "solid_waste",
                "severity": 3,
            },
        }
        with world.client(recorder) as http:
            created = http.post("/inspections", json=body)
        assert created.status_code == 201, created.text
        world.inspections[cvegeo] = inspection_id
    return world


def reach(caller: str, action: Action) -> Any:
    role, cvegeo = CALLERS[caller]
    return scope(Role(role), cvegeo, caller, action)


def door(caller: str, lowest: str) -> bool:
    return Role(CALLERS[caller][0]).can_act_as(Role(lowest))


def test_reads_of_zones_follow_the_spec(world: World) -> None:
    wrong: list[str] = []
    for caller in CALLERS:
        rows = reach(caller, Action.zone_read)
        with world.client(caller) as http:
            listed = {z["id"] for z in http.get("/disputes").json()["zones"]}
            items = http.get("/collections/disputed_zones/items").json()["features"]
            collected = {f["id"] for f in items}
            for label, parties in ZONES.items():
                zone_id = world.zones[label]
                visible = allows(rows, parties=parties)
                want = 200 if visible else 404
                for url in (
                    f"/disputes/{zone_id}",
                    f"/disputes/{zone_id}/events",
                    f"/disputes/{zone_id}/geometries",
                    f"/collections/disputed_zones/items/{zone_id}",
                    f"/maps/disputes/{zone_id}?tiles=false",
                ):
                    got = http.get(url).status_code
                    if got != want:
                        wrong.append(f"{caller} GET {url}: {got}, want {want}")
                for where, ids in (("/disputes", listed), ("collection", collected)):
                    if (zone_id in ids) != visible:
                        wrong.append(f"{caller} {where} lists zone {label}: {zone_id in ids}")
    assert wrong == [], "\n".join(wrong)


def test_reads_of_inspections_follow_the_spec(world: World) -> None:
    wrong: list[str] = []
    for caller in CALLERS:
        rows = reach(caller, Action.inspection_read)
        with world.client(caller) as http:
            items = http.get("/collections/inspections/items").json()["features"]
            collected = {f["id"] for f in items}
            for cvegeo, recorder in INSPECTIONS.items():
                inspection_id = world.inspections[cvegeo]
                visible = allows(rows, cvegeo=cvegeo, recorded_by=recorder)
                want = 200 if visible else 404
                for url in (
                    f"/inspections/{inspection_id}",
                    f"/collections/inspections/items/{inspection_id}",
                ):
                    got = http.get(url).status_code
                    if got != want:
                        wrong.append(f"{caller} GET {url}: {got}, want {want}")
                if (inspection_id in collected) != visible:
                    wrong.append(f"{caller} lists inspection in {cvegeo}: {not visible}")
    assert wrong == [], "\n".join(wrong)


def test_writes_follow_the_spec(world: World) -> None:
    wrong: list[str] = []

    def expect(caller: str, what: str, got: int, want: int | str) -> None:
        ok = got not in (401, 403, 404) and got < 500 if want == "pass" else got == want
        if not ok:
            wrong.append(f"{caller} {what}: {got}, want {want}")

    for caller in CALLERS:
        with world.client(caller) as http:
            # claims: a representative records its own municipality's only
            for cvegeo in ("20067", "20157"):
                x0, y0, x1, y1 = SQUARES[cvegeo]
                body = {
                    "cvegeo": cvegeo,
                    "source": "decree",
                    "geometry": ring((x0 + 0.01, y0 + 0.01, x1 - 0.01, y1 - 0.01)),
                }
                got = http.post("/claims", json=body).status_code
                ok = door(caller, "commission") and allows(
                    reach(caller, Action.claim_record), cvegeo=cvegeo
                )
                expect(caller, f"POST /claims {cvegeo}", got, 201 if ok else 403)
            for label, parties in ZONES.items():
                zone_id = world.zones[label]
                # evidence: into the case files of the zones it is party to
                evidence = reach(caller, Action.zone_evidence)
                got = http.post(
                    f"/disputes/{zone_id}/events",
                    json={"kind": "evidence", "details": {"document": "oficio 12/2026"}},
                ).status_code
                if not door(caller, "commission") or evidence.reach is Reach.none:
                    want: int | str = 403
                elif not allows(reach(caller, Action.zone_read), parties=parties):
                    want = 404
                else:
                    want = 201
                expect(caller, f"POST evidence {label}", got, want)
                # a meeting is the commission's
                got = http.post(
                    f"/disputes/{zone_id}/events",
                    json={"kind": "meeting", "details": {"place": "x", "attendees": ["a"]}},
                ).status_code
                full = evidence.reach is Reach.all and door(caller, "commission")
                meeting: int | str = "pass" if full else 404 if want == 404 else 403
                expect(caller, f"POST meeting {label}", got, meeting)
                # deciding: the state commission only (428: past the door, no If-Match)
                decide = reach(caller, Action.zone_decide).reach is Reach.all
                got = http.post(
                    f"/disputes/{zone_id}/status", json={"status": "under_review"}
                ).status_code
                decider = decide and door(caller, "commission")
                expect(caller, f"POST status {label}", got, 428 if decider else 403)
    assert wrong == [], "\n".join(wrong)


def test_the_spec_names_every_action_for_every_kind() -> None:
    from geo.access import SPEC, Kind

    assert set(SPEC) == set(Action)
    for action, reaches in SPEC.items():
        assert set(reaches) == set(Kind), action
    # the two rules the issue names in words
    assert SPEC[Action.zone_decide][Kind.representative] is Reach.none
    assert SPEC[Action.zone_read][Kind.representative] is Reach.party


def test_another_municipalitys_case_file_does_not_exist_for_a_representative(
    world: World,
) -> None:
    """Stated without the specification: the issue's own example."""
    a, b = world.zones["A"], world.zones["B"]
    with world.client("rep-20067") as http:
        assert http.get(f"/disputes/{a}/events").status_code == 200
        hidden = http.get(f"/disputes/{b}/events")
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
        never = http.get("/disputes/987654/events")  # the same answer as a zone that never was
        assert never.status_code == 404
        assert hidden.json()["error"]["message"].replace(str(b), "N") == never.json()["error"][
            "message"
        ].replace("987654", "N")
        assert [z["id"] for z in http.get("/disputes").json()["zones"]] == [a]
        refused = http.post(
            "/claims",
            json={"cvegeo": "20157", "source": "decree", "geometry": ring(SQUARES["20157"])},
        )
        assert refused.status_code == 403
    with world.client("comision") as http:
        assert {z["id"] for z in http.get("/disputes").json()["zones"]} == {a, b}


def _extent(http: httpx.Client, collection: str) -> list[float] | None:
    doc = http.get(f"/collections/{collection}")
    assert doc.status_code == 200, doc.text
    spatial = doc.json()["extent"].get("spatial")
    return None if spatial is None else spatial["bbox"][0]


def test_extents_cover_only_the_rows_a_caller_reaches(world: World) -> None:
    """The extent of the whole layer would tell a representative where the zones and
    inspections of other municipalities lie; each caller's extent is of its own rows,
    in the collection document and in the list (which is never shared between them)."""
    with world.client("comision") as http:
        everything = _extent(http, "disputed_zones")
        listed = {c["id"]: c for c in http.get("/collections").json()["collections"]}
    with world.client("rep-20067") as http:
        own = _extent(http, "disputed_zones")
        listed_own = {c["id"]: c for c in http.get("/collections").json()["collections"]}
        own_inspections = _extent(http, "inspections")
    assert everything is not None and own is not None
    # zone A lies west of zone B: the representative of 20067 sees A's extent only
    assert own[2] < everything[2] and own[0] == pytest.approx(everything[0], abs=1e-5)
    assert listed_own["disputed_zones"]["extent"]["spatial"]["bbox"][0] == own
    assert listed["disputed_zones"]["extent"]["spatial"]["bbox"][0] == everything
    # one inspection in 20067: its extent is a point inside 20067's square
    assert own_inspections is not None
    x0, y0, x1, y1 = SQUARES["20067"]
    assert x0 <= own_inspections[0] <= own_inspections[2] <= x1
    assert y0 <= own_inspections[1] <= own_inspections[3] <= y1
    with world.client("rep-20385") as http:
        assert _extent(http, "disputed_zones") != own


def test_detection_runs_are_read_by_those_who_read_every_zone(world: World) -> None:
    with world.client("comision") as http:
        run = http.post("/detection-runs", json={"cvegeos": list(SQUARES)})
        assert run.status_code == 201, run.text
        run_id = run.json()["id"]
    for caller in ("comision", "planeacion", "admin"):
        with world.client(caller) as http:
            assert http.get("/detection-runs").status_code == 200
            assert http.get(f"/detection-runs/{run_id}").status_code == 200
    for caller in ("rep-20067", "planeacion-20157"):
        with world.client(caller) as http:
            for path in ("/detection-runs", f"/detection-runs/{run_id}"):
                refused = http.get(path)
                assert refused.status_code == 403, (caller, path, refused.text)
                assert "/disputes" in refused.json()["error"]["message"]


def test_tiles_hold_only_the_rows_a_caller_reaches(world: World) -> None:
    """A tile of disputed zones or inspections is a list of rows like any other: each
    caller's tile holds the rows it reaches, whoever asked for the same tile before
    (a tile is never shared between callers who reach different rows)."""
    tms = morecantile.tms.get("WebMercatorQuad")
    t = tms.tile(-96.725, 17.06, 10)  # one tile (with its buffer) over the three squares

    def features(caller: str, collection: str) -> int:
        with world.client(caller) as http:
            got = http.get(f"/collections/{collection}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}")
        assert got.status_code in (200, 204), got.text
        return len(decode_tile(got.content).get(collection, [])) if got.content else 0

    for _ in range(2):  # the second round meets every tile already asked for once
        assert features("comision", "disputed_zones") == 2
        assert features("rep-20067", "disputed_zones") == 1
        assert features("rep-20385", "disputed_zones") == 1
        assert features("comision", "inspections") == 3  # the tile's buffer reaches 20385
        assert features("rep-20067", "inspections") == 1
        assert features("planeacion-20157", "inspections") == 1
