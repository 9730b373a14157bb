"""Maps fit for a report: legend classes, labels without collisions, no controls in print,
the planner's heading, paper sizes, PDF text and metadata, the date in Mexico.

The browser checks load the real Oaxaca metro zone's map in Debian's Chromium with print
styles, as the renderer draws it, and measure the rendered label boxes in the DOM.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geo.mexico import today_in_mexico
from maps.elements import short_name
from maps.legend import classify
from maps.renderer import CONTROLS_SELECTOR, page_mm
from tests.conftest import Database
from tests.helpers import OUTSIDE

ZONE = "20.1.01"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

#: the overlap area (px²) of every pair of visible labels, and the labels shown
LABEL_OVERLAP_JS = """() => {
  const boxes = [...document.querySelectorAll('.linde-label > div')]
    .filter(e => e.getClientRects().length > 0)
    .map(e => [e.textContent, e.getBoundingClientRect()]);
  let area = 0;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i][1], b = boxes[j][1];
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 0 && h > 0) area += w * h;
  }
  return [area, boxes.map(b => b[0])];
}"""


# -- pure ---------------------------------------------------------------------------


def test_counts_get_whole_classes_without_empty_ones() -> None:
    # the legend read "0 – 0, 0 – 1, 1 – 2, 2 – 5" for these counts
    classes, labels = classify(np.array([0, 0, 0, 1, 2, 5, np.nan]), 5)
    assert labels == ["0", "1", "2 – 5"]
    assert classes.tolist() == [0, 0, 0, 1, 2, 2, -1]  # -1: "sin dato"
    # every class shown holds a value, and limits do not repeat across classes
    population = np.array([1_200, 3_400, 3_400, 15_000, 45_000, 270_955, 80_000, 2_500])
    classes, labels = classify(population, 5)
    assert sorted(set(classes.tolist())) == list(range(len(labels)))
    assert labels[0].startswith("1,200") and labels[-1].endswith("270,955")
    assert classify(np.array([7.0, 7.0]), 5)[1] == ["7"]


def test_the_map_is_dated_in_mexico_not_in_utc() -> None:
    late_evening_in_oaxaca = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)
    assert today_in_mexico(late_evening_in_oaxaca) == date(2026, 12, 7)


def test_an_inspections_hour_is_shown_in_mexico_city_time() -> None:
    import pandas as pd

    from maps.inspection_points import inspection_popup

    row = pd.Series({"observed_at": pd.Timestamp("2026-03-10T01:30:00Z"), "category": "discharge"})
    # Mexico City keeps UTC-6 all year since 2022
    assert inspection_popup(row)["lines"][0] == "Observada: 09/03/2026 19:30"


def test_names_shorten_as_printed_maps_write_them() -> None:
    assert short_name("Santa María Atzompa") == "Sta. Ma. Atzompa"
    assert short_name("San Jacinto Amilpas") == "S. Jacinto Amilpas"
    assert short_name("Oaxaca de Juárez") == "Oaxaca de Juárez"


def test_paper_sizes() -> None:
    assert page_mm("a4", "landscape") == (297.0, 210.0)
    assert page_mm("letter", "portrait") == (215.9, 279.4)
    with pytest.raises(ValueError, match="a4"):
        page_mm("a3", "portrait")


# -- in the browser -----------------------------------------------------------------


def printed_map(browser: Any, url: str, paper: str, orientation: str) -> Any:
    """The map laid out as the renderer lays it out: the page's size, print styles."""
    width, height = (round(mm / 25.4 * 96) for mm in page_mm(paper, orientation))
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.route(OUTSIDE, lambda r: r.abort())
    page.emulate_media(media="print")
    page.goto(url)
    page.wait_for_selector(".linde-label")
    page.wait_for_function(
        "() => document.querySelectorAll('.linde-label-dropped, .linde-label').length > 0"
    )
    return page


@pytest.mark.browser
@pytest.mark.parametrize(("paper", "orientation"), [("a4", "landscape"), ("letter", "portrait")])
def test_printed_zone_map_labels_never_overlap_and_controls_are_gone(
    oaxaca: Database, browser: Any, paper: str, orientation: str
) -> None:
    page = printed_map(
        browser,
        f"{oaxaca.base_url}/maps/metro-zones/{ZONE}?tiles=false&choropleth=population",
        paper,
        orientation,
    )
    page.evaluate("() => window.lindePlaceLabels()")
    overlap, shown = page.evaluate(LABEL_OVERLAP_JS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-labels-{paper}-{orientation}-{oaxaca.kind}.png"))
    assert overlap == 0, shown
    # the most populous municipality keeps its name; a fair share of the 26 are named
    assert "Oaxaca de Juárez" in shown
    assert len(shown) >= 10, shown
    visible_controls = page.evaluate(
        "(s) => [...document.querySelectorAll(s)].filter(e => e.getClientRects().length).length",
        CONTROLS_SELECTOR,
    )
    assert visible_controls == 0
    assert page.locator(".leaflet-control-zoom").count() == 1  # there, but not printed
    page.context.close()


# -- over HTTP ----------------------------------------------------------------------


def legend_labels(html: str) -> list[str]:
    """The legend's rows as the map's data holds them."""
    found = re.search(r'id="legend_[0-9a-f]+-data">(.*?)</script>', html)
    assert found, "no legend data in the map"
    return [e["label"] for e in json.loads(found.group(1))["entries"]]


def pdf_text(pdf: bytes, tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "map.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True)
    return text.stdout.decode(), info.stdout.decode()


@pytest.mark.browser  # the PDF and PNG come from headless Chromium
def test_report_pdf_holds_heading_legend_source_and_metadata(
    oaxaca: Database, tmp_path: Path
) -> None:
    words = {
        "title": "Zona metropolitana de Oaxaca: población 2020",
        "subtitle": "Anexo 3 del informe de coordinación",
        "institution": "Instituto de Planeación de Oaxaca",
    }
    params = {"tiles": "false", "choropleth": "population", **words}
    with oaxaca.client() as http:
        html = http.get(f"/maps/metro-zones/{ZONE}", params=params)
        pdf = http.get(f"/maps/metro-zones/{ZONE}", params={**params, "format": "pdf"})
        letter = http.get(
            f"/maps/metro-zones/{ZONE}",
            params={**params, "format": "pdf", "paper": "letter", "orientation": "portrait"},
        )
        png = http.get(f"/maps/metro-zones/{ZONE}", params={**params, "format": "png"})
        bad = http.get(f"/maps/metro-zones/{ZONE}", params={"format": "pdf", "paper": "a3"})
    assert html.status_code == pdf.status_code == letter.status_code == png.status_code == 200
    ARTIFACTS.mkdir(exist_ok=True)  # for a person to look at (git-ignored)
    (ARTIFACTS / f"report-zone-{oaxaca.kind}.pdf").write_bytes(pdf.content)
    (ARTIFACTS / f"report-zone-letter-{oaxaca.kind}.pdf").write_bytes(letter.content)
    (ARTIFACTS / f"report-zone-{oaxaca.kind}.png").write_bytes(png.content)
    classes = legend_labels(html.text)
    # the rivers that cross the zone are drawn with their federal zone
    assert any(c.startswith("Ríos (") and "Atoyac" in c for c in classes), classes
    assert any(c.startswith("Zona federal (") for c in classes), classes
    text, info = pdf_text(pdf.content, tmp_path)
    flat = " ".join(text.split())
    for expected in [words["title"], words["subtitle"], words["institution"], *classes]:
        assert expected in flat, (expected, flat)
    assert "Fuente: SEDATU, CONAPO, INEGI" in flat and "INEGI, Marco Geoestadístico" in flat
    assert re.search(r"Elaborado con Linde el \d\d/\d\d/20\d\d", flat)
    assert re.search(rf"Title:\s+{re.escape(words['title'])}", info)
    assert re.search(rf"Author:\s+{words['institution']}", info)
    assert re.search(rf"Subject:\s+{words['subtitle']}", info)
    assert re.search(r"Page size:\s+84\d\S* x 59\d\S* pts \(A4\)", info), info  # landscape
    _, letter_info = pdf_text(letter.content, tmp_path)
    assert re.search(r"Page size:\s+61\d\S* x 79\d\S* pts \(letter\)", letter_info), letter_info
    # a PNG at twice CSS resolution of an A4 landscape page: 2246 x 1588 px
    assert png.content[16:24] == (2246).to_bytes(4, "big") + (1588).to_bytes(4, "big")
    assert bad.status_code in (400, 422) and "paper" in bad.text


@pytest.mark.browser
def test_maps_page_downloads_a_letter_pdf_with_the_planners_heading(
    oaxaca: Database, browser: Any, tmp_path: Path
) -> None:
    for width, height in [(390, 844), (1366, 768)]:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.route(OUTSIDE, lambda r: r.abort())
        page.goto(f"{oaxaca.base_url}/mapas")
        page.select_option("select[name=zona]", ZONE)
        page.fill("input[name=titulo]", "Municipios de la zona, informe 2026")
        page.fill("input[name=institucion]", "Coordinación Metropolitana de Oaxaca")
        page.select_option("select[name=papel]", "letter")
        page.select_option("select[name=orientacion]", "portrait")
        page.locator("input[name=institucion]").dispatch_event("change")
        page.wait_for_function(
            "() => (document.getElementById('mapa').srcdoc || '').includes('informe 2026')"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.wait_for_timeout(500)  # only so the screenshot shows the drawn preview
        page.screenshot(
            path=str(ARTIFACTS / f"mapas-report-{width}x{height}-{oaxaca.kind}.png"), full_page=True
        )
        if width < 1000:
            context.close()
    with page.expect_download(timeout=60_000) as download:
        page.click("button[data-formato=pdf]")
    saved = tmp_path / "page.pdf"
    download.value.save_as(saved)
    text, info = pdf_text(saved.read_bytes(), tmp_path)
    assert "Municipios de la zona, informe 2026" in " ".join(text.split())
    assert re.search(r"Author:\s+Coordinación Metropolitana de Oaxaca", info)
    assert re.search(r"Page size:\s+61\d\S* x 79\d\S* pts \(letter\)", info), info
    context.close()
