"""The pages' maps draw big layers from Linde's vector tiles (Leaflet.VectorGrid);
files keep inline GeoJSON.

The line between small and big is a setting (``map_inline_max_features`` /
``_vertices``); these tests lower it so that the Oaxaca metro zone's 26
municipalities count as big, as a state's would. In Chromium the network is cut off
but for the test server: the tiles come from 127.0.0.1, fetched by the page for its
sandboxed map frame, with the person's session where the layer is private.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import shapely
from playwright.sync_api import expect

from layers.users import add_user
from maps.vector_tiles import too_big_to_inline
from tests.conftest import Database
from tests.helpers import biggest, offline_page, shot

PASSWORD = "contraseña-de-teselas"
TILE = re.compile(r"/collections/(\w+)/tiles/WebMercatorQuad/(\d+)/\d+/\d+")
#: a line that makes the Oaxaca metro zone's layers "big"
LOW = {"map_inline_max_features": 3, "map_inline_max_vertices": 10}


def test_the_line_between_inline_and_tiles() -> None:
    square = shapely.box(0, 0, 1, 1)  # 5 vertices
    assert not too_big_to_inline(
        np.array([square] * 3, dtype=object), max_features=3, max_vertices=15
    )
    assert too_big_to_inline(np.array([square] * 4, dtype=object), max_features=3, max_vertices=100)
    assert too_big_to_inline(np.array([square] * 3, dtype=object), max_features=3, max_vertices=14)


def test_only_a_page_preview_asks_for_tiles_files_stay_inline(oaxaca: Database, serve: Any) -> None:
    base = serve(oaxaca, **LOW)
    with replace(oaxaca, base_url=base).client() as http:
        page_map = http.get(
            "/maps/metro-zones/20.1.01", params={"assets": "server", "vector_tiles": "true"}
        )
        assert page_map.status_code == 200
        assert "/collections/municipalities/tiles/WebMercatorQuad/" in page_map.text
        assert "Leaflet.VectorGrid.bundled.min.js" in page_map.text
        for params in ({"vector_tiles": "true"}, {"assets": "server"}):
            as_file = http.get("/maps/metro-zones/20.1.01", params=params)
            assert "/collections/municipalities/tiles/" not in as_file.text, params
    # with the default line, a metro zone is small: inline even in a page
    with oaxaca.client() as http:
        small = http.get(
            "/maps/metro-zones/20.1.01", params={"assets": "server", "vector_tiles": "true"}
        )
        assert "/collections/municipalities/tiles/" not in small.text


def _tile_log(page: Any) -> list[tuple[str, int, int]]:
    """(collection, zoom, status) of every tile the page fetched."""
    seen: list[tuple[str, int, int]] = []

    def on_response(r: Any) -> None:
        found = TILE.search(r.url)
        if found:
            seen.append((found.group(1), int(found.group(2)), r.status))

    page.on("response", on_response)
    return seen


def _frame(page: Any) -> Any:
    return page.main_frame.child_frames[0]


def _drawn(frame: Any) -> int:
    """Paths VectorGrid drew (its SVG tiles), not Leaflet's own overlay paths."""
    return int(frame.evaluate("document.querySelectorAll('svg.leaflet-tile path').length"))


@pytest.mark.browser
@pytest.mark.both_engines
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["desktop", "phone"])
def test_maps_page_draws_a_state_sized_layer_from_tiles(
    oaxaca: Database, serve: Any, browser: Any, size: tuple[int, int]
) -> None:
    base = serve(oaxaca, **LOW)
    page, record = offline_page(browser, *size)
    tiles = _tile_log(page)
    page.goto(f"{base}/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    frame = _frame(page)
    frame.wait_for_selector("svg.leaflet-tile path", state="attached")
    # the state's scale: zoomed out, the map asks for the tiles of that zoom
    with page.expect_response(lambda r: "/municipalities/tiles/WebMercatorQuad/8/" in r.url):
        frame.evaluate(
            "() => { const k = Object.keys(window).find(n => /^map_[0-9a-f]+$/.test(n));"
            " window[k].setView([17.06, -96.72], 8, { animate: false }); }"
        )
    # polled: a frame out of sight (the phone's, below the form) gets no animation frames
    frame.wait_for_function(
        "() => document.querySelectorAll('svg.leaflet-tile path').length > 0", polling=100
    )
    shot(page, f"mapas-teselas-{size[0]}", oaxaca.kind)
    assert _drawn(frame) > 0
    municipalities = [t for t in tiles if t[0] == "municipalities"]
    assert municipalities, tiles
    assert all(status == 200 for _c, _z, status in municipalities), municipalities
    assert 8 in {z for _c, z, _s in municipalities}, municipalities
    # nothing left this machine but the basemap's images, which were refused
    assert all(kind == "image" and "tile" in url for kind, url in record.blocked), record.blocked
    assert record.page_errors == []
    assert record.unexpected_console_errors() == []
    # back at the zone's scale, the pointer over a municipality names it (from the tile)
    frame.evaluate(
        "() => { const k = Object.keys(window).find(n => /^map_[0-9a-f]+$/.test(n));"
        " window[k].setView([17.06, -96.72], 11, { animate: false }); }"
    )
    frame.wait_for_function(
        "() => [...document.querySelectorAll('svg.leaflet-tile path')].length > 20", polling=100
    )
    page.locator("#mapa").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot(page, f"mapas-teselas-z11-{size[0]}", oaxaca.kind)


@pytest.mark.browser
@pytest.mark.both_engines
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["desktop", "phone"])
def test_dispute_page_draws_private_claims_from_tiles_with_the_session(
    metro: Database, serve: Any, browser: Any, size: tuple[int, int]
) -> None:
    base = serve(metro, **LOW)
    zone = biggest(metro)
    add_user(metro.engine, "comision-teselas", "commission", actor="test", password=PASSWORD)
    page, record = offline_page(browser, *size)
    tiles = _tile_log(page)
    page.goto(f"{base}/disputas/{zone['id']}")
    page.wait_for_url(re.compile(r"/entrar\?siguiente="))
    page.fill("#nombre", "comision-teselas")
    page.fill("#contrasena", PASSWORD)
    # the claims are private: their tiles come with the person's session, not a 401
    with page.expect_response(lambda r: "/collections/claims/tiles/" in r.url) as claim_tile:
        page.click("form.caja button.primary")
    assert claim_tile.value.status == 200
    expect(page.locator("#estado")).to_contain_text("Expediente al día")
    frame = page.frame_locator("#mapa")
    frame.locator(".linde-title h1").wait_for()
    _frame(page).wait_for_function(
        "() => document.querySelectorAll('svg.leaflet-tile path').length > 0", polling=100
    )
    page.locator("#mapa").scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # let the last tiles paint before the picture
    shot(page, f"disputa-teselas-{size[0]}", metro.kind)
    claims = [t for t in tiles if t[0] == "claims"]
    assert claims and all(status == 200 for _c, _z, status in claims), tiles
    assert any(t[0] == "municipalities" for t in tiles), tiles
    assert all(kind == "image" and "tile" in url for kind, url in record.blocked), record.blocked
    assert record.page_errors == []
    assert record.unexpected_console_errors() == []
