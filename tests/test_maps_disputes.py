"""The commission's dispute map over HTTP and from the CLI, on both engines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import biggest, decoded, flat, run_linde


def test_dispute_map_shows_the_line_the_claims_and_the_zone(metro: Database) -> None:
    zone = biggest(metro)
    with metro.client("planner") as http:
        got = http.get(f"/maps/disputes/{zone['id']}", params={"tiles": "false"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    html = decoded(got.text)
    assert "Límite oficial (INEGI)" in html
    assert "Reclamado por San Jacinto Amilpas" in html and "Reclamado por Oaxaca de Juárez" in html
    assert "linde-hatch" in html and "En disputa" in html
    assert "Localidad (INEGI)" in html  # San Jacinto's locality lies in the zone
    assert re.search(r"estado: (detectada|abierta)", html)
    assert "leaflet-measure" in html.lower() or "measurecontrol" in html.lower()
    assert "<script src=" not in html  # self-contained by default


@pytest.mark.browser  # the PNG is drawn by headless Chromium
def test_dispute_map_needs_a_planner_and_a_zone(metro: Database) -> None:
    zone = biggest(metro)
    with metro.client() as anonymous:
        assert anonymous.get(f"/maps/disputes/{zone['id']}").status_code == 401
    with metro.client("planner") as http:
        missing = http.get("/maps/disputes/987654")
        assert missing.status_code == 404
        assert "no disputed zone 987654" in missing.json()["error"]["message"]
        png = http.get(f"/maps/disputes/{zone['id']}", params={"format": "png", "tiles": "false"})
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert f'filename="disputa-{zone["id"]}.png"' in png.headers["content-disposition"]


def test_cli_writes_the_dispute_map(metro: Database, tmp_path: Path) -> None:
    zone = biggest(metro)
    out = tmp_path / "disputa.html"
    done = run_linde(metro.url, "map", "dispute", str(zone["id"]), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "Reclamado por San Jacinto Amilpas" in decoded(out.read_text(encoding="utf-8"))
    missing = run_linde(metro.url, "map", "dispute", "987654", "-o", str(out))
    assert missing.returncode == 2 and "no disputed zone 987654" in flat(missing.stderr)


def test_claims_are_told_apart_by_line_and_labelled() -> None:
    """Each claim has its colour and its own dash; the official line is dashed black;
    each claim is named on the map, on its own land beside the zone."""
    import folium
    import geopandas as gpd
    import shapely

    from maps.claim_layers import label_point
    from maps.dispute_map import dispute_map
    from maps.legend import OFFICIAL_DASH, PARTY_DASHES

    zone = shapely.box(-96.70, 17.07, -96.69, 17.08)
    west = shapely.box(-96.72, 17.06, -96.69, 17.09)
    east = shapely.box(-96.70, 17.06, -96.67, 17.09)
    claims = gpd.GeoDataFrame(
        {"cvegeo": ["20067", "20157"], "municipality": ["Oaxaca de Juárez", "San Jacinto"]},
        geometry=[west, east],
        crs=4326,
    )
    official = gpd.GeoDataFrame(
        {"cvegeo": ["20067", "20157"], "name": ["Oaxaca de Juárez", "San Jacinto"]},
        geometry=[
            shapely.box(-96.72, 17.06, -96.695, 17.09),
            shapely.box(-96.695, 17.06, -96.67, 17.09),
        ],
        crs=4326,
    )
    area = gpd.GeoDataFrame({"id": [1]}, geometry=[zone], crs=4326)
    m = dispute_map({"name": "Prueba"}, area, official, claims, tiles=False)
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert f'"dashArray": "{PARTY_DASHES[1]}"' in html or PARTY_DASHES[1] in html
    assert OFFICIAL_DASH in html
    assert "Reclamo de San Jacinto" in html and "Reclamo de Oaxaca de Ju" in html
    # each name sits on its own side, outside the zone where both claims overlap
    west_at = label_point(west, zone)
    east_at = label_point(east, zone)
    assert west_at is not None and east_at is not None
    assert west_at[0] < -96.70 and east_at[0] > -96.69
