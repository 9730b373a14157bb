"""The inspectors' offline map: the pack's plan and tiles over HTTP, and in Chromium the
map drawn from the pack with no signal and every request off 127.0.0.1 aborted.

The ``metro`` fixture gives the Oaxaca metro zone with its localities and a detected
disputed zone (San Jacinto Amilpas' locality claim over Oaxaca de Juárez); the tests
add the Atoyac and Salado.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
import shapely.geometry
from playwright.sync_api import expect
from sqlalchemy import select

from geo.tile_pack import MAX_TILES
from layers.importers.rivers import import_rivers
from layers.schema import inspections
from layers.users import add_user
from tests.conftest import RIVERS, Database
from tests.helpers import OUTSIDE, PASSWORD, problem, shot, sign_in_in_browser

OAXACA_DE_JUAREZ, SAN_JACINTO = "20067", "20157"
# the phone test's inspector works for Nazareno Etla: the Atoyac crosses it, it has
# localities, and its pack is 132 tiles (Oaxaca de Juárez's, 1,071, took 35 s more of
# a run to make and store, and tested nothing more)
NAZARENO_ETLA = "20063"
# on the Atoyac's left bank, in Oaxaca de Juárez (within 2.6 km of the line)
BY_THE_ATOYAC = (-96.73815, 17.06201)


@pytest.fixture
def area(metro: Database) -> Database:
    import_rivers(metro.engine, RIVERS, actor="test", skip_unnamed=True)
    return metro


def _tile_layers(db: Database, token: str, lon: float, lat: float, z: int) -> dict[str, Any]:
    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    with db.client() as http:
        got = http.get(
            f"/inspecciones/mapa/teselas/{z}/{t.x}/{t.y}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers: dict[str, Any] = mapbox_vector_tile.decode(got.content)
    return layers


def test_the_pack_is_planned_before_download_and_its_tiles_carry_every_layer(
    area: Database,
) -> None:
    with area.client("inspector") as http:
        plan = http.get("/inspecciones/mapa/plan", params={"municipio": OAXACA_DE_JUAREZ})
        assert plan.status_code == 200, plan.text
        body = plan.json()
        assert body["area"]["name"] == "Oaxaca de Juárez"
        assert (body["zoom_min"], body["zoom_max"]) == (9, 16)
        assert body["tile_count"] == len(body["tiles"]) <= MAX_TILES
        assert body["estimated_bytes"] > 0
        assert body["layers"] == ["localities", "municipalities", "disputed_zones", "rivers"]
        zone = http.get("/inspecciones/mapa/plan", params={"zona": "20.1.01"}).json()
        assert zone["tile_count"] <= MAX_TILES and zone["zoom_max"] >= 13
        areas = http.get("/inspecciones/mapa/areas").json()
        assert {"key": "20.1.01", "name": areas["metro_zones"][0]["name"]} in areas["metro_zones"]
        assert len(areas["municipalities"]) == 26 and areas["mine"] is None
        # bad areas: the parameter is named, nothing is downloaded
        mexico = http.get("/inspecciones/mapa/plan", params={"bbox": "-117,14,-86,33"})
        assert "choose a municipality" in problem(mexico, 400, "bbox")
        problem(http.get("/inspecciones/mapa/plan", params={"bbox": "a,b"}), 400, "bbox")
        problem(http.get("/inspecciones/mapa/plan", params={"bbox": "1,2,0,3"}), 400, "bbox")
        problem(
            http.get("/inspecciones/mapa/plan", params={"municipio": "99999"}), 404, "municipio"
        )
        both = http.get("/inspecciones/mapa/plan", params={"municipio": "20067", "zona": "x"})
        problem(both, 400, "zona")
        problem(http.get("/inspecciones/mapa/plan"), 400, "municipio")
        assert http.get("/inspecciones/mapa/teselas/30/0/0").status_code == 404
    with area.client() as anonymous:
        assert anonymous.get("/inspecciones/mapa/plan?zona=20.1.01").status_code == 401

    layers = _tile_layers(area, area.tokens["inspector"], *BY_THE_ATOYAC, 13)
    assert {"localities", "municipalities", "rivers"} <= set(layers)
    rivers = {f["properties"]["name"] for f in layers["rivers"]["features"]}
    assert "Atoyac" in rivers
    assert all(f["properties"]["federal_zone_width_m"] > 0 for f in layers["rivers"]["features"])
    with area.client("planner") as http:
        zone = http.get("/collections/disputed_zones/items").json()["features"][0]
    inside = shapely.geometry.shape(zone["geometry"]).representative_point()
    assert "disputed_zones" in _tile_layers(area, area.tokens["inspector"], inside.x, inside.y, 14)
    # a user acting for a municipality that is no party to the zone does not get it
    _user, outsider = add_user(
        area.engine, "inspector-20390", "inspector", actor="t", cvegeo="20390"
    )
    assert "disputed_zones" not in _tile_layers(area, outsider, inside.x, inside.y, 14)
    _user, party = add_user(
        area.engine, "inspector-20157", "inspector", actor="t", cvegeo=SAN_JACINTO
    )
    assert "disputed_zones" in _tile_layers(area, party, inside.x, inside.y, 14)
    with area.client() as http:
        mine = http.get(
            "/inspecciones/mapa/plan", headers={"Authorization": f"Bearer {party}"}
        ).json()
    assert mine["area"] == {**mine["area"], "kind": "municipality", "key": SAN_JACINTO}


def _context(browser: Any, width: int, height: int, **options: Any) -> tuple[Any, list[str]]:
    """A browser context where only 127.0.0.1 answers: every other request is aborted,
    the page's and the service worker's alike."""
    blocked: list[str] = []
    context = browser.new_context(viewport={"width": width, "height": height}, **options)

    def route(r: Any) -> None:
        blocked.append(r.request.url)
        r.abort()

    context.route(OUTSIDE, route)
    return context, blocked


def _drawn(page: Any, layer: str) -> int:
    return int(page.locator(f"#mapa svg.leaflet-tile path.{layer}").count())


@pytest.mark.browser
@pytest.mark.both_engines
def test_the_app_draws_the_offline_map_from_the_pack_with_no_signal(
    area: Database, browser: Any, tmp_path: Path
) -> None:
    name = "inspectora-nazareno"
    add_user(area.engine, name, "inspector", actor="t", password=PASSWORD, cvegeo=NAZARENO_ETLA)
    context, blocked = _context(
        browser, 390, 844, has_touch=True, timezone_id="America/Mexico_City"
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_in_browser(page, area.base_url, name, "/inspecciones/nueva")
        assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
        page.click("#mapa-panel summary")
        expect(page.locator("#mapa-area")).to_have_value(f"municipio={NAZARENO_ETLA}")
        page.click("#mapa-descargar")
        expect(page.locator("#mapa-plan")).to_contain_text("Nazareno Etla: ")
        expect(page.locator("#mapa-plan")).to_contain_text("niveles 9–16")
        expect(page.locator("#mapa-plan")).to_contain_text("Libre en el teléfono")
        shot(page, "mapa-plan-390", area.kind)
        page.click("#mapa-si")
        expect(page.locator("#mapa-estado")).to_contain_text("Mapa guardado", timeout=180_000)
        expect(page.locator("#mapa-resumen")).to_contain_text("Nazareno Etla")
        kept = page.evaluate(
            """caches.keys().then(ks => ks.filter(k => k.startsWith("linde-mapa-")))
                 .then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))
                 .then(ls => ls.map(l => l.length))"""
        )
        planned = page.evaluate("JSON.parse(localStorage.getItem('linde-mapa')).teselas")
        assert kept == [planned] and planned > 100

        # no signal at all, and a new tab: the map is drawn from the pack
        blocked.clear()  # (the first page, with signal and no pack, showed OpenStreetMap)
        context.set_offline(True)
        again = context.new_page()
        again.on("pageerror", lambda e: errors.append(str(e)))
        tiles: list[tuple[str, bool]] = []
        again.on(
            "response",
            lambda r: (
                tiles.append((r.url, r.from_service_worker))
                if "/inspecciones/mapa/teselas/" in r.url
                else None
            ),
        )
        again.goto(f"{area.base_url}/inspecciones/nueva")
        expect(again.locator("#red")).to_have_text("sin señal")
        expect(again.locator("#mapa svg.leaflet-tile path.capa-municipios").first).to_be_attached(
            timeout=20_000
        )
        expect(again.locator("#mapa svg.leaflet-tile path.capa-rios").first).to_be_attached()
        assert _drawn(again, "capa-zona-federal") == _drawn(again, "capa-rios") > 0
        assert _drawn(again, "capa-localidades") > 0
        assert tiles and all(from_worker for _url, from_worker in tiles)
        # OpenStreetMap is off: nothing of it was even asked for
        assert not any("openstreetmap" in url for url in blocked), blocked
        again.wait_for_timeout(500)  # Leaflet fades tiles in: the screenshot is for a person
        shot(again, "mapa-sin-senal-390", area.kind)

        # a point captured offline keeps the phone's UTC offset, sent when the signal is back
        again.locator("#mapa").tap(position={"x": 200, "y": 150})
        again.click("#enviar")
        expect(again.locator("#pendientes")).to_have_text("1")
        context.set_offline(False)
        expect(again.locator("#pendientes")).to_have_text("0", timeout=20_000)
        expect(again.locator("#mis-puntos")).to_contain_text("(UTC-06:00)")
        with area.engine.connect() as conn:
            offsets = conn.execute(select(inspections.c.observed_offset_min)).scalars().all()
        assert offsets == [-360]
    finally:
        context.close()
    assert errors == []


@pytest.mark.browser
@pytest.mark.both_engines
def test_the_pack_can_be_updated_and_deleted_at_desktop_size(area: Database, browser: Any) -> None:
    name = "supervisora-escritorio"
    add_user(area.engine, name, "inspector", actor="t", password=PASSWORD)
    context, _blocked = _context(browser, 1366, 768)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in_in_browser(page, area.base_url, name, "/inspecciones/nueva")
        page.click("#mapa-panel summary")
        page.select_option("#mapa-area", f"municipio={SAN_JACINTO}")
        page.click("#mapa-descargar")
        expect(page.locator("#mapa-plan")).to_contain_text("San Jacinto Amilpas: ")
        page.click("#mapa-si")
        expect(page.locator("#mapa-estado")).to_contain_text("Mapa guardado", timeout=120_000)
        page.click("#mapa-actualizar")
        expect(page.locator("#mapa-plan")).to_contain_text("San Jacinto Amilpas: ")
        page.click("#mapa-si")
        expect(page.locator("#mapa-estado")).to_contain_text("Mapa actualizado", timeout=120_000)
        names = page.evaluate(
            "caches.keys().then(ks => ks.filter(k => k.startsWith('linde-mapa-')))"
        )
        assert len(names) == 1  # the old pack went once the new one was complete
        expect(page.locator("#mapa svg.leaflet-tile path.capa-disputas").first).to_be_attached()
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(500)  # Leaflet fades tiles in: the screenshot is for a person
        shot(page, "mapa-1366", area.kind)
        page.once("dialog", lambda d: d.accept())
        page.click("#mapa-borrar")
        expect(page.locator("#mapa-estado")).to_have_text("Mapa borrado del teléfono.")
        expect(page.locator("#mapa-resumen")).to_have_text("ninguno guardado en este teléfono")
        assert (
            page.evaluate("caches.keys().then(ks => ks.filter(k => k.startsWith('linde-mapa-')))")
            == []
        )
    finally:
        context.close()
    assert errors == []
