"""``/docs`` and ``/redoc`` work offline: in headless Chromium with every request that
does not go to the test server aborted, both draw the API from assets Linde serves,
under the same Content-Security-Policy as Linde's other pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Database
from tests.helpers import offline_page, shot

pytestmark = pytest.mark.browser


def test_the_docs_pages_ship_their_assets_and_a_policy(oaxaca: Database) -> None:
    with oaxaca.client() as http:
        for path in ("/docs", "/redoc"):
            r = http.get(path)
            assert r.status_code == 200
            assert "cdn.jsdelivr.net" not in r.text and "fonts.googleapis" not in r.text
            assert "default-src 'self'" in r.headers["content-security-policy"]
            for asset in ("/docs/static/swagger-ui-dist-5.36.0/swagger-ui-bundle.js",):
                if path == "/docs":
                    assert asset in r.text and http.get(asset).status_code == 200
        assert http.get("/docs/static/redoc-2.5.4/redoc.standalone.js").status_code == 200
        assert http.get("/docs/static/redoc-2.5.4/LICENSE").status_code == 200


@pytest.mark.parametrize("engine_kind", ["spatialite"], indirect=True)  # the engine plays no part
@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_swagger_ui_draws_the_api_offline(
    oaxaca: Database,
    browser: Any,
    width: int,
    height: int,
) -> None:
    page, record = offline_page(browser, width, height)
    page.goto(f"{oaxaca.base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Linde", timeout=60_000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=60_000)
    assert page.locator(".opblock").count() > 20
    shot(page, f"docs-{width}", oaxaca.kind)
    assert record.blocked == [] and record.page_errors == []
    assert record.console_errors == []


@pytest.mark.parametrize("engine_kind", ["spatialite"], indirect=True)  # the engine plays no part
@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_redoc_draws_the_api_offline(
    oaxaca: Database,
    browser: Any,
    width: int,
    height: int,
) -> None:
    page, record = offline_page(browser, width, height)
    page.goto(f"{oaxaca.base_url}/redoc")
    expect(page.locator("h1").first).to_contain_text("Linde", timeout=60_000)
    expect(page.locator("[data-section-id]").first).to_be_attached(timeout=60_000)
    shot(page, f"redoc-{width}", oaxaca.kind)
    assert record.blocked == [] and record.page_errors == []
    # ReDoc's sidebar always asks for Redocly's logo from its CDN; the policy stops it
    # before any request is made (nothing was blocked above) and ReDoc hides the image
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [t for t, _url in record.console_errors if logo not in t] == []


def test_the_landing_page_leads_to_the_spanish_pages(oaxaca: Database) -> None:
    """Each link answers in Spanish; the inspectors' app first sends a browser without a
    session to sign in at /entrar, and back (api.pages.routes)."""
    with oaxaca.client() as http:
        landing = http.get("/", params={"f": "html"})
        assert landing.status_code == 200
        for path, signs_in in (
            ("/mapas", False),
            ("/disputas", True),
            ("/inspecciones/nueva", True),
        ):
            assert f'href="{path}"' in landing.text, path
            page = http.get(path, follow_redirects=True)
            assert page.status_code == 200 and '<html lang="es">' in page.text, path
            hops = [(r.status_code, r.headers["location"]) for r in page.history]
            assert hops == ([(303, f"/entrar?siguiente={path}")] if signs_in else []), path


@pytest.mark.parametrize("engine_kind", ["spatialite"], indirect=True)  # the engine plays no part
def test_the_dispute_list_page_asks_for_a_sign_in(oaxaca: Database, browser: Any) -> None:
    """The list shows only the zones a person may see, so it starts at /entrar (the
    list itself is tested in test_desk)."""
    page, record = offline_page(browser, 390, 844)
    page.goto(f"{oaxaca.base_url}/disputas")
    page.wait_for_url(re.compile(r"/entrar\?siguiente=/disputas$"))
    expect(page.locator("#nombre")).to_be_visible()
    assert record.blocked == [] and record.page_errors == []
