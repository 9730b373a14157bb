"""The commission's dispute page and the inspectors' phone page, in headless Chromium.

As in ``test_maps_browser``: Debian's chromium, every request that does not go to
the test server aborted, no console errors allowed but the blocked basemap tiles,
screenshots kept in ``tests/artifacts/``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from layers.schema import inspections
from tests.conftest import Database
from tests.helpers import biggest, load_metro, offline_page, shot

pytestmark = pytest.mark.browser


def _sign_in(page: Any, token: str) -> None:
    page.fill("input[name=token]", token)
    page.click("#entrar")


def test_commission_reviews_a_zone_adds_a_note_and_moves_it(
    metro: Database,
    browser: Any,
) -> None:
    zone = biggest(metro)
    page, record = offline_page(browser, 1400, 900)
    page.goto(f"{metro.base_url}/disputas/{zone['id']}")
    expect(page.locator("#estado")).to_have_text("Pegue su token para ver la zona.")
    _sign_in(page, metro.tokens["commission"])
    expect(page.locator("#estado")).to_contain_text("Expediente al día")
    # the map beside the case file: the zone hatched, the parties' claims, the legend
    frame = page.frame_locator("#mapa")
    frame.locator(".linde-title h1").wait_for()
    assert "En disputa" in frame.locator(".linde-legend").inner_text()
    assert "San Jacinto Amilpas" in page.locator("#z-partes").inner_text()
    assert page.locator("#expediente li").count() >= 1  # the detection
    shot(page, "disputa-commission", metro.kind)

    page.click("button[data-destino=open]")
    expect(page.locator("#estado")).to_have_text("Estado cambiado a «abierta».")
    page.fill("textarea[name=nota]", "Recorrido de campo con ambos cabildos")
    page.click("#agregar-nota")
    expect(page.locator("#estado")).to_have_text("Nota agregada.")
    with metro.client("planner") as http:
        now = http.get(f"/disputes/{zone['id']}").json()
        events = http.get(f"/disputes/{zone['id']}/events").json()["events"]
    assert now["status"] == "open"
    assert [e["summary"] for e in events if e["kind"] == "note"] == [
        "Recorrido de campo con ambos cabildos"
    ]
    assert events[-1]["recorded_by"] == "commission-user"

    # someone else changes the zone behind the page's back: the page's write is refused
    with metro.client("commission") as http:
        renamed = http.patch(
            f"/disputes/{zone['id']}",
            json={"name": "Los Sauces"},
            headers={"If-Match": now["etag"]},
        )
        assert renamed.status_code == 200, renamed.text
    page.click("button[data-destino=under_review]")
    expect(page.locator("#estado")).to_contain_text("Alguien cambió esta zona")
    with metro.client("planner") as http:
        assert http.get(f"/disputes/{zone['id']}").json()["status"] == "open"
    expect(page.locator("#titulo")).to_have_text("Los Sauces")  # reloaded
    shot(page, "disputa-stale", metro.kind)
    assert record.page_errors == []
    # the refused stale move is the only failed load (browsers log every 4xx)
    assert [url for text, url in record.unexpected_console_errors() if "412" not in text] == []


def test_a_planner_reads_the_case_file_without_actions(
    metro: Database,
    browser: Any,
) -> None:
    zone = biggest(metro)
    page, record = offline_page(browser, 1400, 900)
    page.goto(f"{metro.base_url}/disputas/{zone['id']}")
    _sign_in(page, metro.tokens["planner"])
    expect(page.locator("#estado")).to_contain_text("Expediente al día")
    assert page.locator("#acciones").is_hidden()
    assert page.locator("button[data-destino]").count() == 0
    page.goto(f"{metro.base_url}/disputas/987654")
    expect(page.locator("#estado")).to_have_text("No existe la zona en disputa 987654.")
    assert record.page_errors == []


def _phone(chromium: Any, **context: Any) -> tuple[Any, Any]:
    """A phone-sized page (390 × 844) where only the test server answers."""
    return offline_page(chromium, 390, 844, **context)


def _rows(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inspections)).scalar_one())


def test_an_inspector_records_points_online_offline_and_through_a_lost_answer(
    api: Database,
    browser: Any,
    tmp_path: Any,
) -> None:
    load_metro(api, tmp_path)
    page, record = _phone(
        browser,
        geolocation={"latitude": 17.0654, "longitude": -96.7266, "accuracy": 8},
        permissions=["geolocation"],
    )
    page.goto(f"{api.base_url}/inspecciones/nueva")
    page.fill("#token", api.tokens["inspector"])
    page.dispatch_event("#token", "change")

    # 1. the device's location, then sent at once, and answered with its annotations
    page.click("#ubicacion")
    expect(page.locator("#punto")).to_contain_text("17.065400, -96.726600")
    assert page.input_value("#precision") == "8.0"
    page.select_option("#categoria", "solid_waste")
    page.fill("#descripcion", "Bolsas de basura en la ribera")
    page.click("#enviar")
    expect(page.locator("#respuesta")).to_contain_text("Municipio: Oaxaca de Juárez")
    expect(page.locator("#pendientes")).to_have_text("0")
    assert _rows(api) == 1
    shot(page, "inspeccion-enviada", api.kind)

    # 2. no signal: kept on the phone, sent once the signal is back
    page.context.set_offline(True)
    page.locator("#mapa").click(position={"x": 200, "y": 150})  # a tap places the point
    page.select_option("#categoria", "debris_fill")
    page.click("#enviar")
    expect(page.locator("#pendientes")).to_have_text("1")
    expect(page.locator("#red")).to_have_text("sin señal")
    assert _rows(api) == 1
    shot(page, "inspeccion-sin-senal", api.kind)
    page.context.set_offline(False)
    expect(page.locator("#pendientes")).to_have_text("0", timeout=20_000)
    assert _rows(api) == 2

    # 3. the server stores it but the answer is lost on the way back: sent again, same id
    lost: list[str] = []

    def lose_the_answer(r: Any) -> None:
        if r.request.method == "POST" and not lost:
            answer = r.fetch()  # the server receives and stores it
            lost.append(str(answer.status))
            r.abort()  # the phone never sees the answer
        else:
            r.continue_()

    page.route("**/inspections", lose_the_answer)
    page.locator("#mapa").click(position={"x": 180, "y": 170})
    page.click("#enviar")
    expect(page.locator("#pendientes")).to_have_text("1")
    assert lost == ["201"] and _rows(api) == 3
    page.context.set_offline(True)  # the signal drops and comes back: the queue is sent
    page.context.set_offline(False)
    expect(page.locator("#pendientes")).to_have_text("0", timeout=20_000)
    assert _rows(api) == 3  # the retry was recognised: nothing new
    with httpx.Client(
        base_url=api.base_url, headers={"Authorization": f"Bearer {api.tokens['planner']}"}
    ) as http:
        stored = http.get("/collections/inspections/items").json()["features"]
    assert len(stored) == 3
    first = next(f for f in stored if f["properties"]["category"] == "solid_waste")
    assert first["properties"]["municipality_cvegeo"] == "20067"
    assert first["properties"]["gps_accuracy_m"] == 8.0
    assert all(f["properties"]["municipality_cvegeo"] for f in stored)  # all annotated
    assert record.page_errors == []
    # the sends that met no signal or lost their answer are the only failed loads
    assert [
        text
        for text, url in record.unexpected_console_errors()
        if not (url.endswith("/inspections") and "ERR_" in text)
    ] == []


def test_a_refused_submission_stays_on_the_phone_with_the_reason(
    api: Database,
    browser: Any,
    tmp_path: Any,
) -> None:
    load_metro(api, tmp_path)
    page, record = _phone(browser)
    page.goto(f"{api.base_url}/inspecciones/nueva")
    page.fill("#token", api.tokens["inspector"])
    page.dispatch_event("#token", "change")
    page.locator("#mapa").click(position={"x": 200, "y": 150})
    page.fill("#momento", "2099-01-01T10:00")  # in the future: the server refuses it
    page.click("#enviar")
    expect(page.locator("#cola li.rechazada")).to_contain_text("rechazada")
    expect(page.locator("#estado")).to_contain_text("rechazó")
    assert _rows(api) == 0
    page.click("#cola li.rechazada button")
    expect(page.locator("#pendientes")).to_have_text("0")
    assert record.page_errors == []
