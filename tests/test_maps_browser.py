"""Maps and the maps page in real headless Chromium (Debian's), with the network cut off.

Every request that does not go to the test server (127.0.0.1) is aborted, as on a
government network that blocks CDNs. The only requests allowed to fail are the
online basemap's tile images; everything else a map needs must come from Linde.
Screenshots are kept in ``tests/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from layers.users import add_user
from tests.conftest import Database
from tests.helpers import PASSWORD, offline_page, river_id, shot, sign_in_in_browser

pytestmark = pytest.mark.browser


def test_offline_metro_zone_map_draws_its_features(oaxaca: Database, browser: Any):
    page, record = offline_page(browser)
    page.goto(f"{oaxaca.base_url}/maps/metro-zones/20.1.01?choropleth=population")
    page.wait_for_selector("path.leaflet-interactive")
    page.wait_for_timeout(300)
    shot(page, "metro-zone-offline", oaxaca.kind)
    assert record.page_errors == []
    assert record.unexpected_console_errors() == []
    assert all(kind == "image" and "tile" in url for kind, url in record.blocked), record.blocked
    # 26 municipalities and the zone outline, drawn as SVG paths
    assert page.locator("path.leaflet-interactive").count() >= 26
    assert page.locator(".linde-label").count() == 26
    assert page.locator(".linde-title h1").inner_text() == "Zona metropolitana de Oaxaca"
    assert "Población (Censo 2020)" in page.locator(".linde-legend").inner_text()
    assert page.locator(".leaflet-control-scale-line").inner_text().endswith(("km", "m"))
    # the features are on screen, not off to one side: the outline spans most of the map
    width, height = page.evaluate(
        """() => { const r = [...document.querySelectorAll('path.leaflet-interactive')]
             .map(p => p.getBoundingClientRect());
           return [Math.max(...r.map(b => b.right)) - Math.min(...r.map(b => b.left)),
                   Math.max(...r.map(b => b.bottom)) - Math.min(...r.map(b => b.top))]; }"""
    )
    assert width > 1280 * 0.3 and height > 800 * 0.5


def test_offline_river_map_clusters_and_filters(oaxaca: Database, browser: Any):
    with oaxaca.client() as http:
        rid = http.get("/collections/rivers/items", params={"filter": "key = 'Atoyac'"}).json()[
            "features"
        ][0]["id"]
    page, record = offline_page(browser)
    page.goto(f"{oaxaca.base_url}/maps/rivers/{rid}?tiles=false")
    page.wait_for_selector("path.leaflet-interactive")
    shot(page, "river-offline", oaxaca.kind)
    assert record.page_errors == [] and record.console_errors == [] and record.blocked == []
    assert page.locator(".linde-title h1").inner_text() == "Río Atoyac"
    assert "Zona federal" in (page.locator(".leaflet-control-layers").text_content() or "")


def test_maps_page_shows_only_the_last_preview_asked_for(oaxaca: Database, browser: Any):
    """A preview that answers after a newer one was asked for is dropped: the river
    chosen last stays on screen (the server's answers may come back in any order)."""
    page, record = offline_page(browser, 1400, 900)
    page.goto(f"{oaxaca.base_url}/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    page.check("input[value=rio]")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    options = page.locator("select[name=rio] option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    atoyac = river_id(oaxaca, "Atoyac")
    shown = page.locator("select[name=rio]").input_value()
    stale = next(v for v in values if v not in (atoyac, shown))
    held: list[Any] = []

    def hold_the_stale_one(route: Any) -> None:
        if f"/maps/rivers/{stale}?" in route.request.url:
            held.append(route)  # answered below, after Atoyac's
        else:
            route.continue_()

    page.route("**/maps/rivers/**", hold_the_stale_one)
    page.select_option("select[name=rio]", stale)
    page.select_option("select[name=rio]", atoyac)
    frame = page.frame_locator("#mapa")
    frame.locator(".linde-title h1", has_text="Río Atoyac").wait_for()
    # Atoyac's request goes straight through (offline_page's route matches only the
    # outside), so its map can be drawn before Playwright has run the handler that holds
    # the stale one: let it run (a wait for that event, bounded, not for a time)
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert len(held) == 1
    with page.expect_response(lambda r: f"/maps/rivers/{stale}?" in r.url) as late:
        held[0].continue_()
    late.value.finished()
    # the late answer is read and dropped in the page's next turns; give them time
    page.wait_for_timeout(1500)
    assert frame.locator(".linde-title h1").inner_text() == "Río Atoyac"
    assert page.locator("#estado").inner_text() == "Vista previa lista."
    assert record.page_errors == []


def test_maps_page_previews_a_zone_then_a_river(oaxaca: Database, browser: Any):
    page, record = offline_page(browser, 1400, 900)
    page.goto(f"{oaxaca.base_url}/mapas")
    # zones with municipalities imported come first (Oaxaca's), so the first preview draws
    assert "sin municipios" not in page.locator("select[name=zona] option").first.inner_text()
    # a locator, not wait_for_function: that evaluates a string, which the pages' CSP forbids
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    frame = page.frame_locator("#mapa")
    frame.locator("path.leaflet-interactive").first.wait_for()
    page.select_option("select[name=zona]", "20.1.01")
    frame.locator(".linde-title h1", has_text="Zona metropolitana de Oaxaca").wait_for()
    frame.locator(".linde-label", has_text="San Jacinto Amilpas").wait_for()
    shot(page, "mapas-zone", oaxaca.kind)

    page.check("input[value=rio]")
    page.select_option("select[name=rio]", river_id(oaxaca, "Atoyac"))
    # a locator, not wait_for_function: that evaluates a string, which the pages' CSP forbids
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    frame.locator(".linde-title h1", has_text="Río Atoyac").wait_for()
    shot(page, "mapas-river", oaxaca.kind)
    assert record.page_errors == []
    assert record.unexpected_console_errors() == []

    with page.expect_download() as download:
        page.click("button[data-formato=html]")
    saved = download.value
    assert saved.suggested_filename.startswith("rio-") and saved.suggested_filename.endswith(
        ".html"
    )
    exported = Path(saved.path()).read_text(encoding="utf-8")
    assert "linde-title" in exported and "<script src=" not in exported  # self-contained
    page.select_option("select[name=capa]", "rivers")
    page.select_option("select[name=formato_datos]", "geojson")
    with page.expect_download() as data:
        page.click("#descargar-datos")
    assert '"Atoyac"' in Path(data.value.path()).read_text(encoding="utf-8")


def test_exported_file_opens_from_disk_with_no_network(
    oaxaca: Database, browser: Any, tmp_path: Path
):
    with oaxaca.client() as http:
        html = http.get("/maps/metro-zones/20.1.01", params={"download": "true"}).content
    path = tmp_path / "zona.html"
    path.write_bytes(html)
    page, record = offline_page(browser)
    page.goto(path.as_uri())
    page.wait_for_selector(".linde-label")
    shot(page, "exported-file", oaxaca.kind)
    assert record.page_errors == [] and record.unexpected_console_errors() == []
    assert all(kind == "image" and "tile" in url for kind, url in record.blocked)
    assert page.locator(".linde-label").count() == 26


def test_planner_sees_clustered_inspections_and_filters_them_by_date(
    atoyac_inspections: Database, browser: Any
):
    db = atoyac_inspections
    page, record = offline_page(browser, 1400, 900)
    # a planner signs in through /entrar, as a browser does (the page has no token field)
    add_user(db.engine, "planeacion-mapas", "planner", actor="test", password=PASSWORD)
    sign_in_in_browser(page, db.base_url, "planeacion-mapas", "/mapas")
    page.check("input[value=rio]")
    page.select_option("select[name=rio]", river_id(db, "Atoyac"))
    frame = page.frame_locator("#mapa")
    frame.locator(".linde-filter .linde-count").wait_for()
    frame.locator(".linde-count", has_text="de ").wait_for()
    total = int(frame.locator(".linde-count").inner_text().split(" de ")[1].split()[0])
    assert total >= 5  # 9 of the 28 CONAGUA sites lie within 1 km of the coarse line
    legend = frame.locator(".linde-legend").inner_text()
    assert "Contaminación del agua" in legend and "Descarga de agua residual" in legend
    assert frame.locator(".marker-cluster, path.leaflet-interactive").count() > 2
    shot(page, "mapas-river-inspections", db.kind)

    # narrowing the dates in the map hides points, without asking the server again
    frame.locator("input[name=hasta]").fill("2019-03-31")
    frame.locator("input[name=hasta]").dispatch_event("change")
    shown = int(frame.locator(".linde-count").inner_text().split(" de ")[0])
    assert 0 < shown < total
    shot(page, "mapas-river-filtered", db.kind)
    assert record.page_errors == [] and record.unexpected_console_errors() == []
    # the inspections came with the session, which no script can read, and no token is kept
    session = next(c for c in page.context.cookies() if c["name"] == "linde_session")
    assert session["httpOnly"]
    assert page.evaluate("sessionStorage.getItem('linde-token')") is None
