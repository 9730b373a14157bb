"""The commission's whole path through a dispute, in real Chromium, on the shipped
Oaxaca extract: detection → open → meeting → evidence file → proposal drawn on the map
→ agreement → decision previewed, then confirmed → resolved, with the claims it made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from layers.users import add_user
from tests.conftest import Database
from tests.disputes_data import SAN_JACINTO
from tests.helpers import PASSWORD, biggest, offline_page, ok, shot, sign_in_in_browser

OAXACA = "20067"
#: a whole (tiny) PDF: header, one empty page, trailer
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def draw_rectangle(page: Any, left: float, top: float, right: float, bottom: float) -> None:
    """Draw a rectangle with geoman's tool on the zone map, corners as fractions of the map."""
    frame = page.frame_locator("#mapa")
    frame.locator(".leaflet-pm-icon-rectangle").click()
    box = page.locator("#mapa").bounding_box()
    x0, y0 = box["x"] + box["width"] * left, box["y"] + box["height"] * top
    x1, y1 = box["x"] + box["width"] * right, box["y"] + box["height"] * bottom
    page.mouse.click(x0, y0)
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2)
    page.mouse.move(x1, y1)
    page.mouse.click(x1, y1)


def _claims(http: Any, cvegeo: str) -> list[dict[str, Any]]:
    return ok(http.get("/claims", params={"cvegeo": cvegeo, "limit": 100}))["features"]


@pytest.mark.browser
def test_a_commission_member_takes_a_zone_from_detection_to_resolution(
    metro: Database, browser: Any, tmp_path: Path
) -> None:
    add_user(metro.engine, "comision-caso", "commission", actor="test", password=PASSWORD)
    page, record = offline_page(browser, 1366, 768)
    sign_in_in_browser(page, metro.base_url, "comision-caso", "/disputas")
    # detection from the list
    page.select_option("#d-zona", "20.1.01")
    page.click("#deteccion button[type=submit]")
    expect(page.locator("#d-resultado")).to_contain_text(" zona(s) nueva(s), ", timeout=60_000)
    zone = biggest(metro)
    page.goto(f"{metro.base_url}/disputas/{zone['id']}")
    expect(page.locator("#estado")).to_contain_text("Expediente al día", timeout=60_000)
    page.click("button[data-destino=open]")
    expect(page.locator("#estado")).to_have_text("Estado cambiado a «abierta».")
    # a meeting, then a document
    page.fill("[name=reunion-fecha]", "2026-03-02T11:00")
    page.fill("[name=reunion-lugar]", "Sala de cabildo, San Jacinto Amilpas")
    page.fill("[name=reunion-asistentes]", "Síndica de Oaxaca de Juárez\nSíndico de San Jacinto")
    page.click("#registrar-reunion")
    expect(page.locator("#estado")).to_have_text("Reunión registrada.")
    plano = tmp_path / "plano-1998.pdf"
    plano.write_bytes(PDF)
    page.fill("[name=prueba-titulo]", "Plano catastral 1998")
    page.set_input_files("[name=prueba-archivo]", str(plano))
    page.click("#adjuntar")
    expect(page.locator("#estado")).to_have_text("Documento adjuntado al expediente.")

    # a proposal drawn on the map: the balance is measured by Linde as it is drawn
    expect(page.locator("#propuesta")).to_be_visible()
    page.frame_locator("#mapa").locator(".leaflet-pm-icon-rectangle").wait_for(timeout=30_000)
    page.select_option("[name=propuesta-parte]", SAN_JACINTO)
    draw_rectangle(page, 0.12, 0.2, 0.45, 0.8)
    expect(page.locator("#balance tbody tr")).to_have_count(2, timeout=30_000)
    expect(page.locator("#guardar-propuesta")).to_be_enabled()
    sja_row = page.locator("#balance tbody tr", has_text=SAN_JACINTO)
    assert sja_row.locator("td").nth(1).inner_text().endswith(" ha")
    shot(page, "disputa-propuesta-1366", metro.kind)
    page.fill("[name=propuesta-resumen]", "San Jacinto conserva el poniente de la zona")
    page.click("#guardar-propuesta")
    expect(page.locator("#estado")).to_have_text("Propuesta guardada en el expediente.")
    propuesta = page.locator("#expediente li", has_text="Propuesta")
    expect(propuesta).to_contain_text("Balance frente al límite oficial")
    page.fill("[name=acuerdo-texto]", "Las partes aceptan la propuesta de reparto")
    page.fill("[name=acuerdo-referencia]", "Acta CL/2026/015")
    page.click("#registrar-acuerdo")
    expect(page.locator("#estado")).to_have_text("Acuerdo registrado.")

    # the decision: previewed first (nothing written), then confirmed
    with metro.client("planner") as http:
        events = ok(http.get(f"/disputes/{zone['id']}/events"))["events"]
        before = {k: _claims(http, k) for k in (OAXACA, SAN_JACINTO)}
    (proposal,) = [e for e in events if e["kind"] == "proposal"]
    assert proposal["details"]["party"] == SAN_JACINTO
    page.select_option("[name=resolucion-forma]", str(proposal["id"]))
    page.fill("[name=resolucion-referencia]", "Resolución CL/2026/003")
    page.click("#ver-previa")
    expect(page.locator("#estado")).to_have_text("Vista previa lista: revísela y confirme.")
    expect(page.locator("#previa-tabla tbody tr")).to_have_count(2)
    shot(page, "disputa-previa-1366", metro.kind)
    with metro.client("planner") as http:
        assert {k: _claims(http, k) for k in (OAXACA, SAN_JACINTO)} == before
        assert ok(http.get(f"/disputes/{zone['id']}"))["status"] == "open"
    page.click("#confirmar-resolucion")
    expect(page.locator("#estado")).to_have_text("Resolución aplicada: la zona queda resuelta.")
    expect(page.locator("#z-estado")).to_have_text("resuelta")
    decision = page.locator("#expediente li", has_text="Resolución")
    expect(decision).to_contain_text("Resolución CL/2026/003")
    assert page.locator("#resolucion").is_hidden() and page.locator("#propuesta").is_hidden()
    with metro.client("planner") as http:
        now = ok(http.get(f"/disputes/{zone['id']}"))
        events = ok(http.get(f"/disputes/{zone['id']}/events"))["events"]
        after = {k: _claims(http, k) for k in (OAXACA, SAN_JACINTO)}
    assert now["status"] == "resolved"
    made = events[-1]
    assert made["kind"] == "decision" and made["recorded_by"] == "comision-caso"
    assert made["details"]["source_reference"] == "Resolución CL/2026/003"
    for key in (OAXACA, SAN_JACINTO):
        assert len(after[key]) == len(before[key]) + 1
        assert after[key][0]["properties"]["source"] == "decision"
    # the parts are the proposal's: San Jacinto receives what its balance said
    received = {b["cvegeo"]: b["receives_m2"] for b in proposal["details"]["balance"]}
    assert made["details"]["parts_m2"] == {
        k: pytest.approx(v, abs=0.05) for k, v in received.items()
    }
    shot(page, "disputa-resuelta-1366", metro.kind)
    assert record.page_errors == []
    assert all("tile.openstreetmap.org" in url for _kind, url in record.blocked)


@pytest.mark.browser
def test_on_a_phone_the_proposal_and_decision_forms_fit(metro: Database, browser: Any) -> None:
    zone = biggest(metro)
    with metro.client("commission") as http:
        ok(
            http.post(
                f"/disputes/{zone['id']}/status",
                json={"status": "open"},
                headers={"If-Match": zone["etag"]},
            )
        )
    add_user(metro.engine, "comision-movil", "commission", actor="test", password=PASSWORD)
    page, record = offline_page(browser, 390, 844)
    sign_in_in_browser(page, metro.base_url, "comision-movil", f"/disputas/{zone['id']}")
    expect(page.locator("#estado")).to_contain_text("Expediente al día", timeout=60_000)
    page.click("#ver-previa")
    expect(page.locator("#previa-tabla tbody tr")).to_have_count(2)
    page.locator("#resolucion").scroll_into_view_if_needed()
    shot(page, "disputa-previa-390", metro.kind)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
    assert record.page_errors == []


@pytest.mark.browser
def test_the_dossier_pdf_from_the_page_holds_parties_measures_and_decision(
    metro: Database, browser: Any, tmp_path: Path
) -> None:
    import subprocess

    zone = biggest(metro)
    with metro.client("commission") as http:
        opened = ok(
            http.post(
                f"/disputes/{zone['id']}/status",
                json={"status": "open"},
                headers={"If-Match": zone["etag"]},
            )
        )
        ok(
            http.post(
                f"/disputes/{zone['id']}/decision-plan",
                json={"split_along_official_line": True, "source_reference": "Acta CL/2026/020"},
                headers={"If-Match": opened["etag"]},
            )
        )
    add_user(metro.engine, "comision-pdf", "commission", actor="test", password=PASSWORD)
    page, record = offline_page(browser, 1366, 768)
    sign_in_in_browser(page, metro.base_url, "comision-pdf", f"/disputas/{zone['id']}")
    expect(page.locator("#estado")).to_contain_text("Expediente al día", timeout=60_000)
    with page.expect_download(timeout=90_000) as download:
        page.click("#expediente-pdf")
    pdf = tmp_path / "expediente.pdf"
    pdf.write_bytes(Path(download.value.path()).read_bytes())
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "Oaxaca de Juárez",
        "San Jacinto Amilpas",
        "20157",
        f"{zone['area_ha']:.2f} ha",
        "Perímetro",
        "Línea en disputa",
        "Población afectada",
        "Acta CL/2026/020",
        "división por el límite oficial",
        "Página 1 de",
        "INEGI, Marco Geoestadístico",
        "hora del centro de México",
    ):
        assert expected in text, f"{expected!r} is not in the dossier"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    for png in sorted(tmp_path.glob("p-*.png")):
        (Path(__file__).resolve().parent / "artifacts").mkdir(exist_ok=True)
        target = Path(__file__).resolve().parent / "artifacts" / f"expediente-{png.name}"
        target.write_bytes(png.read_bytes())
    assert record.page_errors == []


@pytest.mark.browser
def test_a_planner_reads_only_and_a_party_proposes_but_does_not_decide(
    metro: Database, browser: Any
) -> None:
    zone = biggest(metro)
    with metro.client("commission") as http:
        ok(
            http.post(
                f"/disputes/{zone['id']}/status",
                json={"status": "open"},
                headers={"If-Match": zone["etag"]},
            )
        )
    add_user(metro.engine, "planeacion-caso", "planner", actor="test", password=PASSWORD)
    add_user(
        metro.engine,
        "rep-sja-caso",
        "commission",
        actor="test",
        password=PASSWORD,
        cvegeo=SAN_JACINTO,
    )
    seen = {}
    for name in ("planeacion-caso", "rep-sja-caso"):
        page, record = offline_page(browser, 1366, 768)
        sign_in_in_browser(page, metro.base_url, name, f"/disputas/{zone['id']}")
        expect(page.locator("#estado")).to_contain_text("Expediente al día", timeout=60_000)
        page.frame_locator("#mapa").locator(".linde-legend").wait_for()
        seen[name] = {
            "propuesta": page.locator("#propuesta").is_visible(),
            "resolucion": page.locator("#resolucion").is_visible(),
            "acciones": page.locator("#acciones").is_visible(),
            "dibujo": page.frame_locator("#mapa").locator(".leaflet-pm-toolbar").count() > 0,
            "expediente": page.locator("#expediente-pdf").is_visible(),
        }
        assert record.page_errors == []
    assert seen["planeacion-caso"] == {
        "propuesta": False,
        "resolucion": False,
        "acciones": False,
        "dibujo": False,
        "expediente": True,
    }
    assert seen["rep-sja-caso"] == {
        "propuesta": True,
        "resolucion": False,
        "acciones": False,
        "dibujo": True,
        "expediente": True,
    }
