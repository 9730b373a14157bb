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
