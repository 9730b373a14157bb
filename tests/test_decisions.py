"""Proposals drawn on a zone and decisions previewed before they are applied.

On the shipped Oaxaca extract (the ``metro`` fixture): the largest zone between Oaxaca
de Juárez (20067) and San Jacinto Amilpas (20157).
"""

from __future__ import annotations

from typing import Any

import pytest
import shapely
import shapely.geometry

from geo.proposals import balance, proposal_parts
from tests.conftest import Database
from tests.disputes_data import SAN_JACINTO
from tests.helpers import biggest, ok

OAXACA = "20067"


def west_half(zone: dict[str, Any]) -> dict[str, Any]:
    """A polygon over the western half of the zone's bounding box, lon/lat GeoJSON."""
    shape = shapely.geometry.shape(zone["geometry"])
    west, south, east, north = shape.bounds
    half = shapely.box(west - 0.001, south - 0.001, (west + east) / 2, north + 0.001)
    return shapely.geometry.mapping(half)


def test_a_proposal_balances_what_each_party_gains_and_loses() -> None:
    zone = shapely.box(0, 0, 100, 100)
    official = {"a": shapely.box(0, 0, 50, 100), "b": shapely.box(50, 0, 100, 100)}
    parts = proposal_parts(zone, shapely.box(0, 0, 70, 100), "a", ["a", "b"])
    assert parts["a"].area == pytest.approx(7000) and parts["b"].area == pytest.approx(3000)
    sums = balance(zone, official, parts)
    assert sums["a"] == {
        "receives_m2": 7000.0,
        "official_m2": 5000.0,
        "gains_m2": 2000.0,
        "loses_m2": 0.0,
    }
    assert sums["b"]["gains_m2"] == 0.0 and sums["b"]["loses_m2"] == 2000.0
    with pytest.raises(Exception, match="does not cover"):
        proposal_parts(zone, shapely.box(200, 200, 300, 300), "a", ["a", "b"])
    with pytest.raises(Exception, match="not a party"):
        proposal_parts(zone, zone, "c", ["a", "b"])


def _claims_of(http: Any, cvegeo: str) -> list[dict[str, Any]]:
    return ok(http.get("/claims", params={"cvegeo": cvegeo, "limit": 100}))["features"]


def test_draw_preview_record_and_adopt_a_proposal(metro: Database) -> None:
    zone = biggest(metro)
    zone_id = zone["id"]
    drawn = west_half(zone)
    with metro.client("commission") as http:
        opened = http.post(
            f"/disputes/{zone_id}/status",
            json={"status": "open"},
            headers={"If-Match": zone["etag"]},
        )
        zone = ok(opened)
        seen = ok(
            http.post(
                f"/disputes/{zone_id}/proposal-preview",
                json={"party": SAN_JACINTO, "geometry": drawn},
            )
        )
        by_party = {p["cvegeo"]: p for p in seen["parties"]}
        assert set(by_party) == {OAXACA, SAN_JACINTO}
        total = sum(p["receives_m2"] for p in seen["parties"])
        assert total == pytest.approx(zone["area_m2"], rel=1e-4)
        for p in seen["parties"]:  # what it receives = its official share + gains - losses
            assert p["receives_m2"] == pytest.approx(
                p["official_m2"] + p["gains_m2"] - p["loses_m2"], abs=0.1
            )
        # recording needs the version read; a stale one is refused and nothing is written
        body = {"party": SAN_JACINTO, "geometry": drawn, "summary": "Propuesta de SJA"}
        assert http.post(f"/disputes/{zone_id}/proposals", json=body).status_code == 428
        stale = http.post(
            f"/disputes/{zone_id}/proposals",
            json=body,
            headers={"If-Match": f'"zone-{zone_id}-v{int(zone["etag"].split("-v")[1][:-1]) - 1}"'},
        )
        assert stale.status_code == 412
        created = http.post(
            f"/disputes/{zone_id}/proposals", json=body, headers={"If-Match": zone["etag"]}
        )
        proposal = ok(created, 201)
        assert proposal["details"]["party"] == SAN_JACINTO
        assert proposal["details"]["balance"] == seen["parties"]
        events = ok(http.get(f"/disputes/{zone_id}/events"))["events"]
        assert [e["kind"] for e in events].count("proposal") == 1
        etag = created.headers["ETag"]

        # a rehearsal writes nothing: same claims, same version, same case file after it
        claims_before = {k: _claims_of(http, k) for k in (OAXACA, SAN_JACINTO)}
        preview = ok(
            http.post(
                f"/disputes/{zone_id}/decision-preview",
                json={"proposal_id": proposal["id"], "source_reference": "Acta 3/2026"},
                headers={"If-Match": etag},
            )
        )
        assert preview["zone"]["status"] == "resolved"
        parts = {p["cvegeo"]: p for p in preview["parties"]}
        assert parts[SAN_JACINTO]["part_m2"] == pytest.approx(by_party[SAN_JACINTO]["receives_m2"])
        assert parts[OAXACA]["part_m2"] == pytest.approx(by_party[OAXACA]["receives_m2"])
        assert all(p["claim_after_m2"] > 0 for p in parts.values())
        assert {k: _claims_of(http, k) for k in (OAXACA, SAN_JACINTO)} == claims_before
        after = ok(http.get(f"/disputes/{zone_id}"))
        assert after["etag"] == etag and after["status"] == zone["status"]
        assert ok(http.get(f"/disputes/{zone_id}/events"))["events"] == events
        split = ok(
            http.post(
                f"/disputes/{zone_id}/decision-preview",
                json={"split_along_official_line": True},
                headers={"If-Match": etag},
            )
        )
        assert split["split_along_official_line"] is True
        both = http.post(
            f"/disputes/{zone_id}/decision-preview",
            json={"split_along_official_line": True, "proposal_id": proposal["id"]},
            headers={"If-Match": etag},
        )
        assert both.status_code == 422

        applied = http.post(
            f"/disputes/{zone_id}/decision-plan",
            json={"proposal_id": proposal["id"], "source_reference": "Acta 3/2026"},
            headers={"If-Match": etag},
        )
        resolved = ok(applied)
        assert resolved["status"] == "resolved"
        decision = ok(http.get(f"/disputes/{zone_id}/events"))["events"][-1]
        assert decision["kind"] == "decision"
        assert decision["details"]["source_reference"] == "Acta 3/2026"
        assert decision["details"]["parts_m2"] == {
            k: pytest.approx(v["part_m2"], abs=0.01) for k, v in parts.items()
        }
        for key in (OAXACA, SAN_JACINTO):
            newest = _claims_of(http, key)
            assert len(newest) == len(claims_before[key]) + 1
        again = http.post(
            f"/disputes/{zone_id}/decision-preview",
            json={"split_along_official_line": True},
            headers={"If-Match": applied.headers["ETag"]},
        )
        assert again.status_code == 409


def test_a_planner_neither_previews_nor_decides(metro: Database) -> None:
    zone = biggest(metro)
    with metro.client("planner") as http:
        for path, body in (
            ("proposal-preview", {"party": OAXACA, "geometry": zone["geometry"]}),
            ("decision-preview", {"split_along_official_line": True}),
        ):
            answer = http.post(
                f"/disputes/{zone['id']}/{path}", json=body, headers={"If-Match": zone["etag"]}
            )
            assert answer.status_code == 403, answer.text
