"""A choropleth of a column that holds no number (issue 16: HTTP 500 on /mapas, a
traceback from ``linde map``), and the same mistake wherever a column can be all null:
the legend, the map's tooltip, the exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities
from tests.conftest import METRO_2020, OAXACA, Database
from tests.helpers import linde

ZONE = "20.1.01"


def decoded(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), text)


def without_population(folder: Path) -> Path:
    """The real 26 municipalities with no population figure at all (as a layer with
    no ``pob`` field imports)."""
    collection = json.loads(OAXACA.read_text(encoding="utf-8"))
    for feature in collection["features"]:
        del feature["properties"]["pob"], feature["properties"]["viv"]
    path = folder / "municipios_sin_poblacion.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def no_population(api: Database, tmp_path: Path) -> Database:
    import_municipalities(api.engine, without_population(tmp_path), actor="test")
    import_metro_zones(api.engine, METRO_2020, actor="test")
    return api


def test_a_choropleth_with_no_numbers_is_drawn_plain_and_says_so(no_population: Database):
    with no_population.client() as http:
        r = http.get(f"/maps/metro-zones/{ZONE}", params={"choropleth": "population"})
        page = http.get("/mapas")
    assert r.status_code == 200, r.text
    html = decoded(r.text)
    assert "Sin datos de «Población (Censo 2020)» en estos municipios" in html
    assert "sin coropleta" in html and "Oaxaca de Juárez" in html
    assert page.status_code == 200


def test_the_cli_says_what_is_missing_without_a_traceback(
    no_population: Database, tmp_path: Path
) -> None:
    out = tmp_path / "zm.html"
    done = linde(no_population, "map", "metro-zone", ZONE, "-o", out, "--choropleth", "population")
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout
    assert "no municipality of zone 20.1.01 has a population figure" in done.stderr
    assert not out.exists()
    plain = linde(no_population, "map", "metro-zone", ZONE, "-o", out)
    assert plain.returncode == 0, plain.stderr
    assert out.exists()


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg", "fgb", "kml", "shp"])
def test_a_column_with_no_value_exports_in_every_format(no_population: Database, fmt: str):
    with no_population.client() as http:
        r = http.get("/collections/municipalities/items", params={"f": fmt})
    assert r.status_code == 200, r.text[:500]
    assert len(r.content) > 1000
