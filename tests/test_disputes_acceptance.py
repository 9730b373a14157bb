"""The issue's real-data acceptance test, over HTTP on both engines.

The 26 municipalities of the Oaxaca metro zone (2020) with their official lines as
claims; then San Jacinto Amilpas (20157) claims its official polygon plus its
locality 201570001, and Oaxaca de Juárez (20067) its official polygon plus its urban
locality 200670001, both of which cross the official line. Detection must find those
overlaps (and the one with Santa Cruz Xoxocotlán, 20385) with the areas Shapely
computes directly in EPSG:6372, and nothing where official lines merely touch. A
decision then splits one zone along the official line.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from tests.conftest import Database
from tests.disputes_data import (
    OAXACA_DE_JUAREZ,
    SAN_JACINTO,
    XOXOCOTLAN,
    locality,
    metro_members,
    official,
)
from tests.helpers import load_metro, ok


def metric_area(geom: BaseGeometry) -> float:
    return float(gpd.GeoSeries([geom], crs=4326).to_crs(6372).area.iloc[0])


def test_oaxaca_metro_claims_collide_where_the_localities_cross(
    api: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    load_metro(api, tmp_path_factory.getbasetemp())
    commission = api.client("commission")
    planner = api.client("planner")

    done = ok(
        commission.post(
            "/claims/official", json={"zone": "20.1.01", "valid_from": "2020-01-01T00:00:00Z"}
        ),
        201,
    )
    assert sorted(done["created"]) == list(metro_members()) and len(done["created"]) == 26
    # what is sent is what OpenAPI documents (the scope was sent, not documented)
    schema = planner.get("/openapi.json").json()["components"]["schemas"]
    assert set(done) == set(schema["OfficialClaimsRecorded"]["properties"])
    assert done["scope"] == "zone:20.1.01" and "26" in done["scope_label"]
    # official lines only touch: nothing to dispute
    first = ok(commission.post("/detection-runs", json={"zone": "20.1.01"}), 201)
    assert (first["municipalities"], first["overlaps"], first["gaps"]) == (26, 0, 0)
    assert first["official_fallbacks"] == 0

    off = official()
    claim = {
        SAN_JACINTO: shapely.union(off.geometry[SAN_JACINTO], locality("201570001")),
        OAXACA_DE_JUAREZ: shapely.union(off.geometry[OAXACA_DE_JUAREZ], locality("200670001")),
    }
    for cvegeo, geom in claim.items():
        ok(
            commission.post(
                "/claims",
                json={
                    "cvegeo": cvegeo,
                    "source": "cadastre",
                    "source_reference": "catastro municipal (prueba)",
                    "valid_from": "2024-01-01T00:00:00Z",
                    "geometry": mapping(geom),
                },
            ),
            201,
        )

    run = ok(commission.post("/detection-runs", json={"zone": "20.1.01"}), 201)
    zones = run["zones"]
    assert run["zones_created"] == len(zones) > 0 and run["gaps"] == 0
    # every zone involves one of the two claims that changed: none where lines just touch
    assert all({OAXACA_DE_JUAREZ, SAN_JACINTO} & set(z["parties"]) for z in zones)

    def detected(*parties: str) -> float:
        return sum(z["area_m2"] for z in zones if set(parties) <= set(z["parties"]))

    direct_pair = metric_area(shapely.intersection(claim[OAXACA_DE_JUAREZ], claim[SAN_JACINTO]))
    direct_xoxo = metric_area(
        shapely.intersection(claim[OAXACA_DE_JUAREZ], off.geometry[XOXOCOTLAN])
    )
    assert direct_pair > 200_000 and direct_xoxo > 900_000  # README: 0.25 km², 0.99 km²
    assert detected(OAXACA_DE_JUAREZ, SAN_JACINTO) == pytest.approx(direct_pair, rel=0.01)
    assert detected(OAXACA_DE_JUAREZ, XOXOCOTLAN) == pytest.approx(direct_xoxo, rel=0.01)

    # unchanged claims: a re-run changes nothing
    again = ok(commission.post("/detection-runs", json={"zone": "20.1.01"}), 201)
    assert (again["zones_created"], again["zones_changed"], again["zones_vanished"]) == (0, 0, 0)
    assert again["zones_unchanged"] == len(zones)
    assert {z["id"] for z in again["zones"]} == {z["id"] for z in zones}

    # split the largest zone of the pair along the official line
    pair = [z for z in zones if set(z["parties"]) == {OAXACA_DE_JUAREZ, SAN_JACINTO}]
    chosen = ok(planner.get(f"/disputes/{max(pair, key=lambda z: z['area_m2'])['id']}"))
    zone_geom = shape(chosen["geometry"])
    on_o = metric_area(shapely.intersection(zone_geom, off.geometry[OAXACA_DE_JUAREZ]))
    on_s = metric_area(shapely.intersection(zone_geom, off.geometry[SAN_JACINTO]))
    assert on_o + on_s == pytest.approx(chosen["area_m2"], rel=0.001)
    assert chosen["official_line"]["length_m"] > 0
    assert {p["cvegeo"] for p in chosen["parties"]} == {OAXACA_DE_JUAREZ, SAN_JACINTO}

    etag = planner.get(f"/disputes/{chosen['id']}").headers["ETag"]
    moved = commission.post(
        f"/disputes/{chosen['id']}/status", json={"status": "open"}, headers={"If-Match": etag}
    )
    decided = ok(
        commission.post(
            f"/disputes/{chosen['id']}/decision",
            json={
                "split_along_official_line": True,
                "valid_from": "2025-06-01T00:00:00Z",
                "source_reference": "Acuerdo de la Comisión de Límites (prueba)",
            },
            headers={"If-Match": ok(moved)["etag"]},
        )
    )
    assert decided["status"] == "resolved" and decided["closed_at"]
    assert set(decided["new_claims"]) == {OAXACA_DE_JUAREZ, SAN_JACINTO}

    new = {}
    for cvegeo, claim_id in decided["new_claims"].items():
        body = ok(planner.get(f"/claims/{claim_id}"))
        assert body["properties"]["source"] == "decision"
        assert body["properties"]["version"] == 3 and body["properties"]["valid_to"] is None
        new[cvegeo] = shape(body["geometry"])
    # each keeps exactly its side of the official line inside the zone
    assert metric_area(shapely.intersection(new[OAXACA_DE_JUAREZ], zone_geom)) == pytest.approx(
        on_o, abs=1.0
    )
    assert metric_area(shapely.intersection(new[SAN_JACINTO], zone_geom)) == pytest.approx(
        on_s, abs=1.0
    )
    assert metric_area(shapely.intersection(new[OAXACA_DE_JUAREZ], new[SAN_JACINTO])) == (
        pytest.approx(direct_pair - chosen["area_m2"], rel=0.01)
    )
    for cvegeo, other_side in ((OAXACA_DE_JUAREZ, on_s), (SAN_JACINTO, on_o)):
        change = ok(planner.get(f"/claims/{decided['new_claims'][cvegeo]}/diff"))
        assert change["lost_m2"] == pytest.approx(other_side, abs=1.0)
        assert change["gained_m2"] < 1.0
    # the previous versions were closed, not overwritten
    history = ok(planner.get("/claims", params={"cvegeo": SAN_JACINTO}))["features"]
    assert [f["properties"]["version"] for f in history] == [3, 2, 1]
    assert history[1]["properties"]["valid_to"].startswith("2025-06-01")

    after = ok(commission.post("/detection-runs", json={"zone": "20.1.01"}), 201)
    assert chosen["id"] not in {z["id"] for z in after["zones"]}
    assert after["zones_created"] == 0
    case = ok(planner.get(f"/disputes/{chosen['id']}/events"))["events"]
    assert [e["kind"] for e in case] == ["detection", "status", "decision"]
    assert ok(planner.get(f"/disputes/{chosen['id']}"))["status"] == "resolved"
