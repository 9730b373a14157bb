"""``/maps/...``, ``/mapas`` and the Leaflet assets over real HTTP, on both engines."""

from __future__ import annotations

import re

import pytest

from layers.importers.metro_zones import import_metro_zones
from layers.importers.municipalities import import_municipalities
from tests.conftest import METRO_2020, OAXACA, Database
from tests.helpers import decoded

ZONE = "20.1.01"


def river_id(database: Database, key: str = "Atoyac") -> int:
    with database.client() as http:
        body = http.get("/collections/rivers/items", params={"filter": f"key = '{key}'"}).json()
    (feature,) = body["features"]
    return int(feature["id"])


def test_metro_zone_map_is_a_self_contained_page(oaxaca: Database):
    with oaxaca.client() as http:
        r = http.get(f"/maps/metro-zones/{ZONE}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = decoded(r.text)
    assert "Zona metropolitana de Oaxaca" in html and "Oaxaca de Juárez" in html
    assert "26 municipios" in html
    assert "<script src=" not in r.text and "/maps/static" not in r.text  # all inlined
    assert len(r.content) < 400_000


def test_served_variant_links_assets_that_linde_serves(oaxaca: Database):
    with oaxaca.client() as http:
        r = http.get(f"/maps/metro-zones/{ZONE}", params={"assets": "server", "tiles": "false"})
        links = re.findall(r'(?:src|href)="(/maps/static/[^"]+)"', r.text)
        assert "/maps/static/leaflet-1.9.4/leaflet.js" in links
        assert "openstreetmap" not in r.text  # no basemap asked for
        for link in links:
            asset = http.get(link)
            assert asset.status_code == 200 and len(asset.content) > 500, link
        assert http.get("/maps/static/../app.py").status_code == 404


def test_choropleth_by_population(oaxaca: Database):
    with oaxaca.client() as http:
        r = http.get(f"/maps/metro-zones/{ZONE}", params={"choropleth": "population"})
        bad = http.get(f"/maps/metro-zones/{ZONE}", params={"choropleth": "income"})
    assert "Población (Censo 2020)" in decoded(r.text) and "270,955" in r.text
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_parameter" and "income" in bad.text


def test_unknown_zone_or_river_is_404(oaxaca: Database):
    with oaxaca.client() as http:
        zone = http.get("/maps/metro-zones/99.9.99")
        river = http.get("/maps/rivers/987654")
        word = http.get("/maps/rivers/atoyac")
    assert zone.status_code == 404 and zone.json()["error"]["code"] == "not_found"
    assert "99.9.99" in zone.json()["error"]["message"]
    assert river.status_code == 404 and river.json()["error"]["code"] == "not_found"
    assert word.status_code == 422 and word.json()["error"]["details"][0]["field"] == "river_id"


def test_a_zone_whose_municipalities_are_not_loaded_says_so(api: Database):
    import_metro_zones(api.engine, METRO_2020, actor="test")  # the table, not the polygons
    with api.client() as http:
        empty = http.get(f"/maps/metro-zones/{ZONE}")
    assert empty.status_code == 200
    assert "Ninguno de los municipios de esta zona está cargado" in decoded(empty.text)


@pytest.mark.browser
def test_png_and_pdf_come_from_headless_chromium(oaxaca: Database):
    with oaxaca.client() as http:
        png = http.get(f"/maps/metro-zones/{ZONE}", params={"format": "png", "tiles": "false"})
        pdf = http.get(
            f"/maps/metro-zones/{ZONE}",
            params={"format": "pdf", "tiles": "false", "download": "true"},
        )
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and len(png.content) > 50_000
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert (
        'attachment; filename="zona-metropolitana-20.1.01.pdf"'
        in pdf.headers["content-disposition"]
    )


def test_png_without_chromium_says_why(oaxaca: Database, monkeypatch: pytest.MonkeyPatch):
    # the test server runs in this process, so it sees this environment
    monkeypatch.setenv("LINDE_CHROMIUM", "/nonexistent/chromium")
    with oaxaca.client() as http:
        r = http.get(f"/maps/metro-zones/{ZONE}", params={"format": "png"})
        html = http.get(f"/maps/metro-zones/{ZONE}")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "renderer_unavailable"
    assert "LINDE_CHROMIUM=/nonexistent/chromium" in r.json()["error"]["message"]
    assert html.status_code == 200  # HTML needs no browser


def test_river_map_public_without_inspections(oaxaca: Database):
    rid = river_id(oaxaca)
    with oaxaca.client() as http:
        anonymous = http.get(f"/maps/rivers/{rid}")
        bad_token = oaxaca.client().get(
            f"/maps/rivers/{rid}", headers={"Authorization": "Bearer nope"}
        )
        bad_dates = http.get(
            f"/maps/rivers/{rid}", params={"date_from": "2020-01-02", "date_to": "2020-01-01"}
        )
    assert anonymous.status_code == 200
    html = decoded(anonymous.text)
    assert "Río Atoyac" in html and "Zona federal" in html and "Inspecciones:" not in html
    assert bad_token.status_code == 401
    assert bad_dates.status_code == 400 and "date_from" in bad_dates.json()["error"]["message"]


def test_river_map_shows_planners_the_inspections_near_it(atoyac_inspections: Database):
    db = atoyac_inspections
    rid = river_id(db)
    with db.client("planner") as http:
        near = decoded(http.get(f"/maps/rivers/{rid}", params={"near_m": 3000}).text)
        spring = decoded(
            http.get(
                f"/maps/rivers/{rid}",
                params={"near_m": 3000, "date_from": "2019-03-01", "date_to": "2019-05-31"},
            ).text
        )
        tight = decoded(http.get(f"/maps/rivers/{rid}", params={"near_m": 1}).text)

    def points_in(html: str) -> int:
        return sum(int(n) for n in re.findall(r"Inspecciones: [^(\"]+\((\d+)\)", html))

    # the Atoyac sites of the metro area lie 0.1-2.6 km from the coarse Natural Earth line
    assert points_in(near) >= 10
    assert "Contaminación del agua" in near and "Fecha de observación" in near
    assert 0 < points_in(spring) < points_in(near)
    assert '"2019-03-01"' in spring
    assert points_in(tight) == 0 and "Sin inspecciones en este tramo" in tight


def test_maps_page_in_spanish_lists_zones_and_rivers(oaxaca: Database):
    with oaxaca.client() as http:
        r = http.get("/mapas")
    assert r.status_code == 200 and '<html lang="es">' in r.text
    assert "Zona metropolitana de Oaxaca (2020, 20.1.01)" in r.text
    assert '<optgroup label="Atoyac">' in r.text and "Atoyac · Oaxaca · " in r.text
    for words in ("Vista previa", "Descargar el mapa", "Descargar los datos", "Hoja del informe"):
        assert words in r.text


def test_river_stretch_is_cut_to_the_box(oaxaca: Database):
    rid = river_id(oaxaca)
    box = (-96.80, 16.95, -96.65, 17.15)  # around Oaxaca city
    with oaxaca.client() as http:
        r = http.get(f"/maps/rivers/{rid}", params={"bbox": ",".join(map(str, box))})
        outside = http.get(f"/maps/rivers/{rid}", params={"bbox": "-100,20,-99.9,20.1"})
        bad = http.get(f"/maps/rivers/{rid}", params={"bbox": "-96.6,17,-96.8"})
    assert r.status_code == 200
    fit = re.search(
        r"map_\w+\.fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]", r.text
    )
    assert fit
    south, west, north, east = (float(v) for v in fit.groups())
    assert box[0] <= west and east <= box[2] and box[1] <= south and north <= box[3]
    assert "El río no tiene geometría en el tramo pedido" in decoded(outside.text)
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "bbox"


def test_choropleth_of_inspections_per_municipality_for_planners(atoyac_inspections: Database):
    db = atoyac_inspections
    import_municipalities(db.engine, OAXACA, actor="test")
    import_metro_zones(db.engine, METRO_2020, actor="test")
    with db.client() as anonymous:
        refused = anonymous.get(f"/maps/metro-zones/{ZONE}", params={"choropleth": "inspections"})
    with db.client("planner") as http:
        r = http.get(f"/maps/metro-zones/{ZONE}", params={"choropleth": "inspections"})
    assert refused.status_code == 401 and "planner" in refused.json()["error"]["message"]
    html = decoded(r.text)
    assert r.status_code == 200 and "Inspecciones registradas" in html
    # CONAGUA's RIO ATOYAC 10-12 (OCPSU4688-4690) lie in San Jacinto Amilpas
    feature = re.search(r'"id":\s*"20157",\s*"properties":\s*\{[^}]*"inspections":\s*(\d+)', html)
    assert feature and int(feature.group(1)) == 3
