"""Disputed zones over HTTP on both engines: ETags, status rules, case files, decisions
that are refused whole, manual zones, zone identity across runs, claims' history and diff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import shapely
from shapely.geometry import box, mapping, shape
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from layers.schema import case_events, claims, inspections, layer_versions
from tests.conftest import Database
from tests.disputes_data import (
    OAXACA_DE_JUAREZ,
    SAN_JACINTO,
    locality,
    official,
)
from tests.helpers import biggest, claim_sja, ok


def test_edits_need_the_current_etag(metro: Database) -> None:
    zone = biggest(metro)
    url = f"/disputes/{zone['id']}"
    with metro.client("commission") as http:
        missing = http.patch(url, json={"name": "Los Sauces"})
        assert missing.status_code == 428
        assert missing.json()["error"]["code"] == "precondition_required"
        first = http.patch(url, json={"name": "Los Sauces"}, headers={"If-Match": zone["etag"]})
        assert ok(first)["name"] == "Los Sauces" and first.headers["ETag"] != zone["etag"]
        # someone else still holds the old ETag: refused, nothing applied
        stale = http.patch(url, json={"name": "Ejidal"}, headers={"If-Match": zone["etag"]})
        assert stale.status_code == 412
        assert first.headers["ETag"] in stale.json()["error"]["details"][0]["reason"]
        stale_move = http.post(
            f"{url}/status", json={"status": "open"}, headers={"If-Match": zone["etag"]}
        )
        assert stale_move.status_code == 412
    with metro.client("planner") as http:
        now = http.get(url)
        assert now.json()["name"] == "Los Sauces" and now.json()["status"] == "detected"
        assert now.headers["ETag"] == first.headers["ETag"]
        assert http.patch(url, json={"name": "x"}).status_code == 403


def test_status_moves_follow_the_rules(metro: Database) -> None:
    zone = biggest(metro)
    url = f"/disputes/{zone['id']}/status"
    with metro.client("commission") as http:
        illegal = http.post(url, json={"status": "resolved"}, headers={"If-Match": zone["etag"]})
        assert illegal.status_code == 409
        assert "allowed: open, dismissed" in illegal.json()["error"]["message"]
        etag = zone["etag"]
        for status in ("open", "under_review", "agreement", "resolved"):
            moved = ok(http.post(url, json={"status": status}, headers={"If-Match": etag}))
            assert moved["status"] == status
            etag = moved["etag"]
        assert moved["closed_at"] is not None
        closed = http.post(url, json={"status": "open"}, headers={"If-Match": etag})
        assert closed.status_code == 409 and "closed" in closed.json()["error"]["message"]
        bad = http.post(url, json={"status": "won"}, headers={"If-Match": etag})
        assert bad.status_code == 422
    with metro.client("planner") as http:
        events = ok(http.get(f"/disputes/{zone['id']}/events"))["events"]
    assert [e["details"]["to"] for e in events if e["kind"] == "status"] == [
        "open",
        "under_review",
        "agreement",
        "resolved",
    ]


def test_only_an_admin_reopens_a_dismissed_zone(metro: Database) -> None:
    zone = biggest(metro)
    url = f"/disputes/{zone['id']}/status"
    with metro.client("commission") as http:
        dismissed = ok(
            http.post(url, json={"status": "dismissed"}, headers={"If-Match": zone["etag"]})
        )
        refused = http.post(url, json={"status": "open"}, headers={"If-Match": dismissed["etag"]})
        assert refused.status_code == 409
    with metro.client("admin") as http:
        reopened = http.post(url, json={"status": "open"}, headers={"If-Match": dismissed["etag"]})
        assert ok(reopened)["status"] == "open" and ok(reopened)["closed_at"] is None


def test_case_file_is_append_only(metro: Database) -> None:
    zone = biggest(metro)
    url = f"/disputes/{zone['id']}/events"
    with metro.client("commission") as http:
        bad = http.post(url, json={"kind": "meeting", "details": {"attendees": []}})
        assert bad.status_code == 422
        fields = {d["field"] for d in bad.json()["error"]["details"]}
        assert fields == {"details.place", "details.attendees", "occurred_at"}
        meeting = ok(
            http.post(
                url,
                json={
                    "kind": "meeting",
                    "occurred_at": "2025-03-10T10:00:00-06:00",
                    "summary": "Primera mesa de trabajo",
                    "details": {
                        "place": "Palacio municipal de San Jacinto Amilpas",
                        "attendees": ["Síndico 20067", "Síndico 20157", "Comisión"],
                    },
                },
            ),
            201,
        )
        assert meeting["zone_version"] == zone["version"] + 1
        evidence = http.post(
            url,
            json={"kind": "evidence", "details": {"document": "Plano catastral 1998"}},
            headers={"If-Match": zone["etag"]},  # stale: the meeting bumped the version
        )
        assert evidence.status_code == 412
        line = shapely.LineString(
            list(shape(zone["geometry"]).representative_point().buffer(0.001).exterior.coords)[:3]
        )
        proposal = ok(http.post(url, json={"kind": "proposal", "geometry": mapping(line)}), 201)
        assert proposal["geometry"]["type"] == "LineString"
    with metro.client("planner") as http:
        kinds = [e["kind"] for e in ok(http.get(url))["events"]]
    assert kinds == ["detection", "meeting", "proposal"]
    with metro.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(update(case_events).values(summary="rewritten"))


def test_a_decision_that_does_not_cover_the_zone_is_refused_whole(metro: Database) -> None:
    zone = biggest(metro)
    geom = shape(zone["geometry"])
    minx, miny, maxx, maxy = geom.bounds
    half = shapely.intersection(geom, box(minx, miny, (minx + maxx) / 2, maxy))
    with metro.engine.connect() as conn:
        claims_before = conn.execute(select(func.count()).select_from(claims)).scalar_one()
    with metro.client("commission") as http:
        etag = ok(
            http.post(
                f"/disputes/{zone['id']}/status",
                json={"status": "open"},
                headers={"If-Match": zone["etag"]},
            )
        )["etag"]
        missing = http.post(
            f"/disputes/{zone['id']}/decision",
            json={"parts": [{"cvegeo": SAN_JACINTO, "geometry": mapping(half)}]},
            headers={"If-Match": etag},
        )
        assert missing.status_code == 422
        assert "of the zone unassigned" in missing.json()["error"]["message"]
        doubled = http.post(
            f"/disputes/{zone['id']}/decision",
            json={
                "parts": [
                    {"cvegeo": SAN_JACINTO, "geometry": mapping(geom)},
                    {"cvegeo": OAXACA_DE_JUAREZ, "geometry": mapping(half)},
                ]
            },
            headers={"If-Match": etag},
        )
        assert doubled.status_code == 422
        assert "assigned twice" in doubled.json()["error"]["message"]
        stranger = http.post(
            f"/disputes/{zone['id']}/decision",
            json={"parts": [{"cvegeo": "20385", "geometry": mapping(geom)}]},
            headers={"If-Match": etag},
        )
        assert stranger.status_code == 422 and "not a party" in stranger.text
        # the whole zone to San Jacinto: valid
        whole = ok(
            http.post(
                f"/disputes/{zone['id']}/decision",
                json={"parts": [{"cvegeo": SAN_JACINTO, "geometry": mapping(geom)}]},
                headers={"If-Match": etag},
            )
        )
    assert whole["status"] == "resolved" and set(whole["new_claims"]) == {
        SAN_JACINTO,
        OAXACA_DE_JUAREZ,
    }
    with metro.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(claims)).scalar_one() == (
            claims_before + 2
        )
    with metro.client("planner") as http:
        lost = ok(http.get(f"/claims/{whole['new_claims'][OAXACA_DE_JUAREZ]}/diff"))
    assert lost["lost_m2"] == pytest.approx(zone["area_m2"], rel=0.001)


def test_a_manual_zone_shows_localities_and_inspections(metro: Database) -> None:
    sja = locality("201570001")
    spot = shapely.intersection(sja, sja.representative_point().buffer(0.003))
    point = sja.representative_point()
    with metro.engine.begin() as conn:
        conn.execute(
            insert(inspections).values(
                id=str(uuid.uuid4()),
                observed_at=datetime(2025, 2, 1, tzinfo=UTC),
                category="solid_waste",
                severity=2,
                inspector="test",
                source="test",
                created_at=datetime(2025, 2, 1, tzinfo=UTC),
                geom=f"SRID=4326;POINT({point.x} {point.y})",
            )
        )
    with metro.engine.connect() as conn:
        before = conn.execute(
            select(layer_versions.c.version).where(layer_versions.c.layer == "disputed_zones")
        ).scalar_one()
    with metro.client("commission") as http:
        made = http.post(
            "/disputes",
            json={
                "name": "Fraccionamiento Los Sauces",
                "parties": [OAXACA_DE_JUAREZ, SAN_JACINTO],
                "geometry": mapping(spot),
            },
        )
        assert made.status_code == 201, made.text
        assert made.headers["ETag"] == made.json()["etag"]
        unknown = http.post(
            "/disputes", json={"name": "x", "parties": ["20999"], "geometry": mapping(spot)}
        )
        assert unknown.status_code == 404
    with metro.client("planner") as http:
        zone = ok(http.get(f"/disputes/{made.json()['id']}"))
        items = ok(http.get("/collections/disputed_zones/items", params={"kind": "manual"}))
    assert (zone["kind"], zone["status"]) == ("manual", "open")
    sja_share = next(loc for loc in zone["localities"] if loc["cvegeo"] == "201570001")
    assert sja_share["area_inside_m2"] == pytest.approx(zone["area_m2"], rel=0.001)
    assert 0 < sja_share["share_inside"] < 1
    assert [i["category"] for i in zone["inspections"]] == ["solid_waste"]
    assert [f["properties"]["name"] for f in items["features"]] == ["Fraccionamiento Los Sauces"]
    assert items["features"][0]["properties"]["parties"] == f"{OAXACA_DE_JUAREZ},{SAN_JACINTO}"
    with metro.engine.connect() as conn:
        after = conn.execute(
            select(layer_versions.c.version).where(layer_versions.c.layer == "disputed_zones")
        ).scalar_one()
    assert after > before


def test_zones_keep_their_id_and_record_how_they_changed(metro: Database) -> None:
    zone = biggest(metro)
    with metro.client("commission") as http:
        claim_sja(http, 30.0, "2024-06-01T00:00:00Z")  # the same claim, 30 m wider
        run = ok(http.post("/detection-runs", json={"zone": "20.1.01"}), 201)
        assert run["zones_changed"] >= 1
        assert zone["id"] in {z["id"] for z in run["zones"]}
    with metro.client("planner") as http:
        revisions = ok(http.get(f"/disputes/{zone['id']}/geometries"))["revisions"]
        now = http.get(f"/disputes/{zone['id']}")
    assert [r["change"] for r in revisions] == ["detected", "changed"]
    assert revisions[1]["gained_m2"] > 0 and revisions[1]["area_m2"] > zone["area_m2"]
    assert now.headers["ETag"] != zone["etag"]
    # back to the official line: the zones with San Jacinto vanish and are closed
    with metro.client("commission") as http:
        ok(
            http.post(
                "/claims/official",
                json={"cvegeos": [SAN_JACINTO], "valid_from": "2025-01-01T00:00:00Z"},
            ),
            201,
        )
        gone = ok(http.post("/detection-runs", json={"zone": "20.1.01"}), 201)
    assert gone["zones_vanished"] >= 1
    with metro.client("planner") as http:
        body = ok(http.get(f"/disputes/{zone['id']}"))
        events = ok(http.get(f"/disputes/{zone['id']}/events"))["events"]
        still = ok(http.get("/disputes", params={"cvegeo": SAN_JACINTO, "open_only": True}))
    assert body["status"] == "resolved" and "ya no dejan esta zona" in events[-1]["summary"]
    assert still["zones"] == []


def test_claims_refuse_bad_input_and_keep_their_history(metro: Database) -> None:
    with metro.client("commission") as http:
        unknown = http.post(
            "/claims",
            json={
                "cvegeo": "20999",
                "source": "decree",
                "geometry": mapping(box(-96.8, 17, -96.7, 17.1)),
            },
        )
        assert unknown.status_code == 404
        bowtie = {
            "type": "Polygon",
            "coordinates": [
                [[-96.75, 17.05], [-96.7, 17.1], [-96.7, 17.05], [-96.75, 17.1], [-96.75, 17.05]]
            ],
        }
        invalid = http.post(
            "/claims", json={"cvegeo": SAN_JACINTO, "source": "decree", "geometry": bowtie}
        )
        assert invalid.status_code == 422 and "Self-intersection" in invalid.text
        early = http.post(
            "/claims",
            json={
                "cvegeo": SAN_JACINTO,
                "source": "decree",
                "valid_from": "2021-01-01T00:00:00Z",
                "geometry": mapping(official().geometry[SAN_JACINTO]),
            },
        )
        assert early.status_code == 422 and "valid_from" in early.text
        again = ok(
            http.post(
                "/claims/official", json={"zone": "20.1.01", "valid_from": "2020-06-01T00:00:00Z"}
            ),
            201,
        )
        assert again["created"] == [] or again["created"] == [SAN_JACINTO]
    with metro.client("planner") as http:
        history = ok(http.get("/claims", params={"cvegeo": SAN_JACINTO}))["features"]
        as_of = ok(
            http.get("/claims", params={"cvegeo": SAN_JACINTO, "as_of": "2022-01-01T00:00:00Z"})
        )["features"]
        newest = history[0]["id"]
        vs_official = ok(http.get(f"/claims/{newest}/diff", params={"against": "official"}))
        vs_previous = ok(http.get(f"/claims/{newest}/diff"))
        first = http.get(f"/claims/{history[-1]['id']}/diff")
    assert [f["properties"]["source"] for f in history[-2:]] == ["survey", "inegi"]
    assert [f["properties"]["version"] for f in as_of] == [1]
    extra = locality("201570001").difference(official().geometry[SAN_JACINTO])
    gained = float(__import__("geopandas").GeoSeries([extra], crs=4326).to_crs(6372).area.iloc[0])
    assert vs_official["gained_m2"] == pytest.approx(gained, rel=0.01)
    assert vs_official["lost_m2"] < 1.0
    assert vs_previous == {**vs_previous, "against": f"claim {history[1]['id']}"}
    assert vs_official["gained"]["type"] == "MultiPolygon"
    assert first.status_code == 404 and "against=official" in first.text


def test_detection_scope_errors(metro: Database) -> None:
    with metro.client("commission") as http:
        none = http.post("/detection-runs", json={})
        assert none.status_code == 422 and "exactly one" in none.text
        unknown = http.post("/detection-runs", json={"zone": "99.9.99"})
        assert unknown.status_code == 404
        one = http.post("/detection-runs", json={"cvegeos": [SAN_JACINTO]})
        assert one.status_code == 422 and "fewer than 2" in one.text
        negative = http.post("/detection-runs", json={"zone": "20.1.01", "min_area_m2": -1})
        assert negative.status_code == 422
    with metro.client("planner") as http:
        assert http.post("/detection-runs", json={"zone": "20.1.01"}).status_code == 403
        runs = ok(http.get("/detection-runs"))["runs"]
        assert runs[0]["scope"] == "zone:20.1.01"
        assert ok(http.get(f"/detection-runs/{runs[0]['id']}"))["id"] == runs[0]["id"]
    with metro.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM detection_runs")).scalar_one() == 1
