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
from tests.helpers import (
    PASSWORD,
    biggest,
    load_metro,
    offline_page,
    person_with_password,
    shot,
    sign_in_where_sent,
)

pytestmark = pytest.mark.browser


def _no_credential_a_script_can_read(page: Any) -> None:
    """The session id is in an HttpOnly cookie only: not in document.cookie, not in
    localStorage or sessionStorage, and no token is kept there either."""
    session = next(c for c in page.context.cookies() if c["name"] == "linde_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    readable = page.evaluate(
        "document.cookie + JSON.stringify(Object.assign({}, localStorage))"
        " + JSON.stringify(Object.assign({}, sessionStorage))"
    )
    assert session["value"] not in readable and "linde_" not in readable


def test_commission_reviews_a_zone_adds_a_note_and_moves_it(
    metro: Database,
    browser: Any,
) -> None:
    zone = biggest(metro)
    page, record = offline_page(browser, 1400, 900)
    person = person_with_password(metro, "commission")
    page.goto(f"{metro.base_url}/disputas/{zone['id']}")
    sign_in_where_sent(page, person)
    expect(page.locator("#estado")).to_contain_text("Expediente al día")
    _no_credential_a_script_can_read(page)
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
    assert events[-1]["recorded_by"] == person

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
    sign_in_where_sent(page, person_with_password(metro, "planner"))
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
    sign_in_where_sent(page, person_with_password(api, "inspector"))
    page.wait_for_url("**/inspecciones/nueva")
    _no_credential_a_script_can_read(page)

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
    sign_in_where_sent(page, person_with_password(api, "inspector"))
    page.wait_for_url("**/inspecciones/nueva")
    page.locator("#mapa").click(position={"x": 200, "y": 150})
    page.select_option("#categoria", "debris_fill")
    page.fill("#momento", "2099-01-01T10:00")  # in the future: the server refuses it
    page.click("#enviar")
    refused = page.locator("#cola li.rechazada")
    expect(refused).to_contain_text("rechazada")
    # the reason in Spanish, naming the field and the fix; the category by its label
    expect(refused).to_contain_text("la hora de observación está en el futuro: corrija la hora")
    expect(refused).to_contain_text("Relleno con escombro")
    expect(page.locator("#estado")).to_contain_text("rechazó")
    assert "future" not in refused.inner_text()
    assert _rows(api) == 0
    shot(page, "inspeccion-rechazada", api.kind)
    # corrected in the form and sent again, under the same UUID: stored once
    page.click("#cola li.rechazada button:has-text('Corregir')")
    expect(page.locator("#editando")).to_be_visible()
    page.fill("#momento", "2024-05-01T10:30:00")
    page.click("#enviar")
    expect(page.locator("#pendientes")).to_have_text("0")
    assert _rows(api) == 1
    expect(page.locator("#mis-puntos")).to_contain_text("Municipio:")
    assert record.page_errors == []


def test_a_person_signs_in_acts_and_signs_out_and_another_site_cannot_act(
    api: Database,
    browser: Any,
) -> None:
    person = person_with_password(api, "admin")
    page, record = offline_page(browser, 1366, 768)
    page.goto(f"{api.base_url}/mapas")
    page.click("text=Entrar")
    sign_in_where_sent(page, person)
    page.wait_for_url("**/mapas")
    expect(page.locator("aside")).to_contain_text(f"Sesión de {person}")
    _no_credential_a_script_can_read(page)

    def status(path: str) -> int:
        return int(page.evaluate(f"fetch('{path}').then(r => r.status)"))

    assert status("/me") == 200
    # another site (localhost is not 127.0.0.1) posts a form to sign the person out:
    # no CSRF token, so the session survives
    other = page.context.new_page()
    # (a page of Linde's would refuse to post elsewhere: its CSP says form-action 'self')
    other.goto(api.base_url.replace("127.0.0.1", "localhost") + "/health")
    with other.expect_navigation():
        other.evaluate(
            """target => { const f = document.createElement("form"); f.method = "post";
            f.action = target; document.body.appendChild(f); f.submit(); }""",
            f"{api.base_url}/salir",
        )
    other.close()
    assert status("/me") == 200
    # the admin pages, in Spanish, acting with the session
    page.goto(f"{api.base_url}/admin/usuarios")
    page.fill("#n-nombre", "rep-sja")
    page.select_option("#n-rol", "commission")
    page.fill("#n-contrasena", "una-contraseña-larga")
    page.click("form.caja button.primary")
    expect(page.locator(".aviso.ok")).to_contain_text("Usuario rep-sja dado de alta.")
    shot(page, "admin-usuarios", api.kind)
    page.goto(f"{api.base_url}/admin/bitacora?accion=user.")
    expect(page.locator("table")).to_contain_text("user.created")
    shot(page, "admin-bitacora", api.kind)
    # sign out with the header's button: the session ends on the server
    page.click("header button:has-text('Salir')")
    page.wait_for_url("**/entrar")
    shot(page, "entrar", api.kind)
    assert status("/me") == 401
    assert record.page_errors == []
    assert [t for t, u in record.unexpected_console_errors() if "401" not in t] == []


def test_the_sign_in_page_on_a_phone(api: Database, browser: Any) -> None:
    person = person_with_password(api, "inspector", None)
    page, record = _phone(browser)
    page.goto(f"{api.base_url}/cuenta")
    expect(page.locator("h1")).to_have_text("Entrar a Linde")
    page.fill("#nombre", person)
    page.fill("#contrasena", "equivocada")
    page.click("form.caja button.primary")
    expect(page.locator(".aviso.error")).to_have_text("Nombre de usuario o contraseña incorrectos.")
    shot(page, "entrar-error-telefono", api.kind)
    page.fill("#contrasena", PASSWORD)
    page.click("form.caja button.primary")
    page.wait_for_url("**/cuenta")
    expect(page.locator("h1")).to_have_text("Mi cuenta")
    shot(page, "cuenta-telefono", api.kind)
    assert record.page_errors == []
