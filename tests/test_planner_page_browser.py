"""The maps page's data downloads in real headless Chromium: every layer the person may
read, filtered as the map shows it, in every format, with the browser's session; a
refusal told in Spanish. Files are opened with GDAL's ``ogrinfo``."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from layers.users import add_user
from tests.conftest import METRO_2020, Database
from tests.helpers import (
    PASSWORD,
    offline_page,
    river_id,
    shot,
    sign_in_in_browser,
    two_inspections_on_the_atoyac,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page_data(engine_kind: str, seeded_database: Any) -> Database:
    database: Database = seeded_database(engine_kind, "planner_page", metro_zones=(METRO_2020,))
    two_inspections_on_the_atoyac(database)
    add_user(database.engine, "planeacion-datos", "planner", actor="test", password=PASSWORD)
    return database


def ogrinfo(path: Path) -> str:
    source = f"/vsizip/{path}" if path.suffix == ".zip" else str(path)
    ran = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", source], capture_output=True, text=True, check=True
    )
    return ran.stdout


def feature_count(info: str) -> int:
    return int(info.split("Feature Count: ")[1].split()[0])


def download(page: Any, layer: str, fmt: str) -> Path:
    page.select_option("select[name=capa]", layer)
    page.select_option("select[name=formato_datos]", fmt)
    with page.expect_download() as data:
        page.click("#descargar-datos")
    saved = data.value
    path = Path(saved.path()).with_name(saved.suggested_filename)
    Path(saved.path()).rename(path)
    return path


def test_anonymous_page_marks_the_layers_that_need_a_session(
    page_data: Database, browser: Any
) -> None:
    page, record = offline_page(browser, 1366, 768)
    page.goto(f"{page_data.base_url}/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    for layer in ("inspections", "claims", "disputed_zones"):
        option = page.locator(f"select[name=capa] option[value={layer}]")
        assert option.is_disabled() and "(requiere sesión)" in option.inner_text()
    assert not page.locator("select[name=capa] option[value=rivers]").is_disabled()
    formats = page.locator("select[name=formato_datos] option").all_inner_texts()
    assert "Shapefile (ZIP)" in formats and len(formats) == 6
    path = download(page, "municipalities", "csv")
    assert path.read_text(encoding="utf-8-sig").count("\n") == 27  # header and 26
    assert record.page_errors == []


def test_a_planner_downloads_what_the_map_shows(
    page_data: Database, browser: Any, tmp_path: Path
) -> None:
    page, record = offline_page(browser, 1366, 768)
    sign_in_in_browser(page, page_data.base_url, "planeacion-datos", "/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    page.select_option("select[name=zona]", "20.1.01")

    inspections = ogrinfo(download(page, "inspections", "gpkg"))
    assert feature_count(inspections) == 2 and "Categoría: String" in inspections
    municipalities = download(page, "municipalities", "shp")
    assert municipalities.name.endswith(".zip")
    assert feature_count(ogrinfo(municipalities)) == 26
    with zipfile.ZipFile(municipalities) as archive:
        assert "municipalities_campos.csv" in archive.namelist()
    assert feature_count(ogrinfo(download(page, "disputed_zones", "gpkg"))) == 0  # none yet
    shot(page, "mapas-datos-zona", page_data.kind)

    page.check("input[value=rio]")
    page.select_option("select[name=rio]", river_id(page_data, "Atoyac"))
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    page.uncheck("input[name=etiquetas_es]")
    along = ogrinfo(download(page, "inspections", "fgb"))
    assert feature_count(along) == 2 and "category: String" in along
    rivers = ogrinfo(download(page, "rivers", "geojson"))
    assert feature_count(rivers) == 1
    assert record.page_errors == [] and record.unexpected_console_errors() == []


def test_a_session_that_ended_is_explained_in_spanish(page_data: Database, browser: Any) -> None:
    page, _record = offline_page(browser, 390, 844)
    sign_in_in_browser(page, page_data.base_url, "planeacion-datos", "/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    page.context.clear_cookies()  # the session ends elsewhere (signed out in another tab)
    page.select_option("select[name=capa]", "inspections")
    page.click("#descargar-datos")
    expect(page.locator("#estado")).to_contain_text("solo se entrega con sesión")
    page.locator("#datos").scroll_into_view_if_needed()
    shot(page, "mapas-datos-telefono", page_data.kind)


def test_the_river_picker_groups_and_searches_as_one_types(
    page_data: Database, browser: Any
) -> None:
    page, record = offline_page(browser, 1366, 768)
    page.goto(f"{page_data.base_url}/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    page.check("input[value=rio]")
    groups = page.locator("select[name=rio] optgroup")
    assert groups.count() == 2  # Atoyac (three lines) and Salado (two), not five entries
    atoyacs = page.locator("select[name=rio] optgroup[label=Atoyac] option").all_inner_texts()
    assert len(atoyacs) == 3 and any(t.startswith("Atoyac · Oaxaca · ") for t in atoyacs)
    assert all(t.endswith(" km") for t in atoyacs)

    page.fill("input[name=buscar_rio]", "sALÁ")
    expect(page.locator("#rios-hallados")).to_have_text("2 ríos")
    assert page.locator("select[name=rio] optgroup").count() == 1
    expect(page.frame_locator("#mapa").locator(".linde-title h1")).to_have_text("Río Salado")
    shot(page, "mapas-rios-busqueda", page_data.kind)
    page.fill("input[name=buscar_rio]", "ningún río así")
    expect(page.locator("#rios-hallados")).to_have_text("Ningún río con ese nombre.")
    assert record.page_errors == [] and record.unexpected_console_errors() == []


def test_a_planner_adds_a_logo_and_a_wrong_file_is_explained(
    page_data: Database, browser: Any, tmp_path: Path
) -> None:
    logo = tmp_path / "escudo.png"
    Image.new("RGB", (300, 120), (156, 42, 60)).save(logo, "PNG")
    svg = tmp_path / "escudo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    page, record = offline_page(browser, 1366, 768)
    sign_in_in_browser(page, page_data.base_url, "planeacion-datos", "/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    page.fill("input[name=institucion]", "Instituto de Planeación")
    page.set_input_files("input[name=logotipo]", str(svg))
    expect(page.locator("#estado")).to_contain_text("No se aceptó el logotipo")
    page.set_input_files("input[name=logotipo]", str(logo))
    frame = page.frame_locator("#mapa")
    expect(frame.locator(".linde-title img.linde-logo")).to_be_visible()
    shot(page, "mapas-logotipo", page_data.kind)
    # Chromium logs the refused SVG's 422 itself; nothing else may fail
    others = [e for e in record.unexpected_console_errors() if not e[1].endswith("/maps/logos")]
    assert record.page_errors == [] and others == []
