"""The supervisors' review page in headless Chromium: a supervisor filters, opens a
record with its photo, approves one, refers one, has a stale edit refused in Spanish,
marks the rest attended in bulk and downloads the ZIP with the photos. Only the test
server answers; screenshots go to ``tests/artifacts/``."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from playwright.sync_api import expect

from layers.users import add_user
from tests.conftest import METRO_2020, Database
from tests.helpers import offline_page, ok, png_photo, post_inspection, shot

pytestmark = pytest.mark.browser

PASSWORD = "contraseña-de-revisión"
SPOT = (-96.73815, 17.06201)  # Oaxaca de Juárez (20067), on the Atoyac
NEARBY = (-96.7266, 17.0654)  # Oaxaca de Juárez
ELSEWHERE = (-96.67344, 17.06772)  # Santa Lucía del Camino (20390)


@pytest.fixture(scope="module")
def page_db(engine_kind: str, seeded_database: Any) -> Database:
    database: Database = seeded_database(engine_kind, "reviewpage", metro_zones=(METRO_2020,))
    add_user(database.engine, "supervisora", "commission", actor="test", password=PASSWORD)
    add_user(database.engine, "inspectora", "inspector", actor="test", password=PASSWORD)
    return database


def _sign_in(page: Any, name: str) -> None:
    page.wait_for_url(re.compile(r"/entrar\?siguiente="))
    page.fill("#nombre", name)
    page.fill("#contrasena", PASSWORD)
    page.click("form.caja button.primary")


def _row(page: Any, inspection_id: str) -> Any:
    return page.locator(f"#inspecciones tbody tr[data-id='{inspection_id}']")


def test_a_supervisor_filters_decides_and_exports(page_db: Database, browser: Any) -> None:
    db = page_db
    photo = png_photo()
    a = post_inspection(db, SPOT, "debris_fill", 4, "2024-03-05T10:30:00-06:00", photo=photo)
    b = post_inspection(db, NEARBY, "solid_waste", 3, "2024-03-06T10:30:00-06:00")
    c = post_inspection(db, SPOT, "discharge", 5, "2024-03-07T10:30:00-06:00")
    away = post_inspection(db, ELSEWHERE, "other", 1, "2024-03-08T10:30:00-06:00")
    page, record = offline_page(browser, 1366, 768, accept_downloads=True)
    page.goto(f"{db.base_url}/inspecciones/revision")
    _sign_in(page, "supervisora")
    page.wait_for_url("**/inspecciones/revision")
    expect(page.locator("#estado")).to_have_text("4 inspecciones con estos filtros.")

    # filter to Oaxaca de Juárez: the table, the map and the URL follow
    page.select_option("#f-municipio", "20067")
    expect(page.locator("#estado")).to_have_text("3 inspecciones con estos filtros.")
    assert "municipality=20067" in page.url
    assert page.locator("#inspecciones tbody tr").count() == 3
    assert page.locator("#mapa path.leaflet-interactive").count() == 3
    # beside them, the municipal limits and the rivers from Linde's own layers
    # (locator checks, not wait_for_function: the page's CSP forbids the eval it polls with)
    expect(page.locator("#mapa path:not(.leaflet-interactive)").first).to_be_attached()
    expect(page.locator("#conteos li[data-revision=pending] b")).to_have_text("3")
    expect(_row(page, away["id"])).to_have_count(0)
    shot(page, "revision-filtros", db.kind)

    # a record: its photo, annotations and (empty) history
    _row(page, a["id"]).click()
    expect(page.locator("#ficha h2")).to_contain_text("Relleno con escombro")
    expect(page.locator("#ficha dl")).to_contain_text("Oaxaca de Juárez (20067)")
    image = page.locator("#ficha .fotos img")
    expect(image).to_have_count(1)
    expect(image).to_have_js_property("naturalWidth", 8)  # the photo itself, loaded
    shot(page, "revision-ficha", db.kind)
    page.fill("#a-motivo", "Bien documentada")
    page.click("#ficha button[data-accion=approve]")
    expect(page.locator("#aviso-accion")).to_have_text("1 inspección(es) aprobada(s).")
    expect(_row(page, a["id"]).locator("td.revision")).to_have_text("aprobada")
    expect(page.locator("#ficha ol")).to_contain_text(
        "supervisora: pendiente → aprobada — Bien documentada"
    )

    # refer one to a municipality
    _row(page, b["id"]).click()
    expect(page.locator("#ficha h2")).to_contain_text("Residuos sólidos")
    page.select_option("#a-municipio", "20390")
    page.click("#ficha button[data-accion=refer]")
    expect(page.locator("#aviso-accion")).to_have_text("1 inspección(es) turnada(s) al municipio.")
    expect(_row(page, b["id"]).locator("td.seguimiento")).to_contain_text("turnada al municipio")

    # someone approves c behind the page's back: the page's rejection is refused in Spanish
    _row(page, c["id"]).click()
    expect(page.locator("#ficha h2")).to_contain_text("Descarga")
    with db.client("commission") as http:
        ok(http.post(f"/inspections/{c['id']}/review", json={"status": "approved"}))
    page.fill("#a-motivo", "No es una descarga")
    page.click("#ficha button[data-accion=reject]")
    expect(page.locator("#a-resultado")).to_contain_text("alguien la cambió")
    expect(page.locator("#a-resultado")).to_contain_text("Vuelva a cargar")
    shot(page, "revision-vieja", db.kind)
    page.click("#a-resultado button")  # "Volver a cargar"
    expect(_row(page, c["id"]).locator("td.revision")).to_have_text("aprobada")

    # the three shown, marked attended at once
    page.check("#todas")
    expect(page.locator("#n-elegidas")).to_have_text("3 elegidas")
    page.select_option("#l-accion", "attend")
    page.click("#l-aplicar")
    expect(page.locator("#aviso-accion")).to_have_text(
        "3 inspección(es) marcada(s) como atendida(s)."
    )
    expect(page.locator("#conteos li[data-seguimiento=attended] b")).to_have_text("3")
    with db.client("planner") as http:
        for item in (a, b, c):
            props = http.get(f"/inspections/{item['id']}").json()["properties"]
            assert props["follow_up_status"] == "attended"
        assert (
            http.get(f"/inspections/{away['id']}").json()["properties"]["follow_up_status"]
            == "open"
        )
    shot(page, "revision", db.kind)

    # the filtered set as a ZIP with its photos
    with page.expect_download() as download:
        page.click("#exportar a[data-formato=zip]")
    archive = zipfile.ZipFile(download.value.path())
    rows = list(csv.DictReader(io.StringIO(archive.read("inspecciones.csv").decode("utf-8-sig"))))
    assert {r["id"] for r in rows} == {a["id"], b["id"], c["id"]}
    sha = a["properties"]["photos"][0]["sha256"]
    assert next(r for r in rows if r["id"] == a["id"])["Fotos"] == f"photos/{sha}.png"
    assert archive.read(f"photos/{sha}.png") == photo
    assert {r["Seguimiento"] for r in rows} == {"atendida"}

    # the same view on a phone, from the shared link
    phone, phone_record = offline_page(browser, 390, 844)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(page.url)
    expect(phone.locator("#estado")).to_have_text("3 inspecciones con estos filtros.")
    shot(phone, "revision-telefono", db.kind)
    phone.locator("#mapa").scroll_into_view_if_needed()
    shot(phone, "revision-telefono-mapa", db.kind)
    assert record.page_errors == [] and phone_record.page_errors == []
    # the refused stale move is the only failed load (browsers log every 4xx)
    assert [u for t, u in record.unexpected_console_errors() if "412" not in t] == []


def test_an_inspector_is_refused_in_spanish(page_db: Database, browser: Any) -> None:
    page, _record = offline_page(browser, 390, 844)
    page.goto(f"{page_db.base_url}/inspecciones/revision")
    _sign_in(page, "inspectora")
    expect(page.locator("main")).to_contain_text("es para supervisores")
    response = page.goto(f"{page_db.base_url}/inspecciones/revision")
    assert response is not None and response.status == 403
