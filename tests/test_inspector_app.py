"""The inspectors' installable app in headless Chromium: it opens without signal, keeps
what it captured across a browser restart, records the moment and accuracy of the
capture, and asks before a second send of the same point.

Only the metro zone is loaded (``load_metro``); points fall in Oaxaca de Juárez.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from layers.schema import inspection_photos, inspections
from tests.conftest import Database
from tests.helpers import (
    CHROMIUM,
    FLAGS,
    PASSWORD,
    load_metro,
    offline_page,
    person_with_password,
    shot,
    sign_in_where_sent,
)

pytestmark = pytest.mark.browser

OAXACA_CENTRE = {"latitude": 17.0654, "longitude": -96.7266}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 60)).save(out, "JPEG")
    return out.getvalue()


PHOTO = {"name": "ribera.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}


def _count(db: Database, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _stored(db: Database) -> list[dict[str, Any]]:
    with httpx.Client(
        base_url=db.base_url, headers={"Authorization": f"Bearer {db.tokens['planner']}"}
    ) as http:
        features: list[dict[str, Any]] = http.get("/collections/inspections/items").json()[
            "features"
        ]
    return features


def _open_signed_in(page: Any, db: Database, role: str = "inspector", name: str = "") -> str:
    """Sign in (as ``name``, or a new person of ``role``) and open the app; who it is."""
    name = name or person_with_password(db, role)
    page.goto(f"{db.base_url}/inspecciones/nueva")
    sign_in_where_sent(page, name)
    page.wait_for_url("**/inspecciones/nueva")
    # the service worker is active only once the whole shell is kept (install waits for it)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    return name


def test_the_app_is_installable_and_reopens_without_signal(
    api: Database, browser: Any, tmp_path: Path
) -> None:
    load_metro(api, tmp_path)
    page, record = offline_page(browser, 390, 844, has_touch=True)
    _open_signed_in(page, api)
    manifest = httpx.get(f"{api.base_url}/inspecciones/manifest.webmanifest").json()
    assert manifest["start_url"] == "/inspecciones/nueva" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        got = httpx.get(api.base_url + icon["src"])
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    kept = page.evaluate(
        """caches.keys().then(ks => caches.open(ks.find(k => k.startsWith("linde-inspecciones-")))
             .then(c => c.keys()).then(rs => rs.map(r => new URL(r.url).pathname)))"""
    )
    assert "/inspecciones/nueva" in kept and "/maps/static/leaflet-1.9.4/leaflet.js" in kept

    # no signal at all, then a new tab: the app opens from the phone and records
    page.context.set_offline(True)
    again = page.context.new_page()
    answers: list[tuple[str, str, bool]] = []
    again.on("response", lambda r: answers.append((r.request.method, r.url, r.from_service_worker)))
    opened = again.goto(f"{api.base_url}/inspecciones/nueva")
    assert opened is not None and opened.from_service_worker
    expect(again.locator("header h1")).to_have_text("Nueva inspección")
    expect(again.locator("#red")).to_have_text("sin señal")
    again.locator("#mapa").tap(position={"x": 200, "y": 150})
    again.click("#enviar")
    expect(again.locator("#pendientes")).to_have_text("1")
    expect(again.locator("#estado")).to_contain_text("Guardada en el teléfono")
    shot(again, "app-sin-senal-390", api.kind)
    assert _count(api, inspections) == 0
    page.context.set_offline(False)
    expect(again.locator("#pendientes")).to_have_text("0", timeout=20_000)
    assert _count(api, inspections) == 1
    # the write went to the network, never through the worker
    writes = [(m, sw) for m, url, sw in answers if m == "POST"]
    assert writes == [("POST", False)]
    assert record.page_errors == []


def test_a_point_made_offline_with_a_photo_survives_a_restart_and_is_sent_once(
    api: Database, browser: Any, tmp_path: Path
) -> None:
    load_metro(api, tmp_path)
    profile = tmp_path / "perfil"
    options: dict[str, Any] = {
        "executable_path": CHROMIUM,
        "args": FLAGS,
        "viewport": {"width": 390, "height": 844},
        "has_touch": True,
    }
    posts: list[str] = []
    first = browser.browser_type.launch_persistent_context(str(profile), **options)
    try:
        page = first.new_page()
        _open_signed_in(page, api)
        first.set_offline(True)
        page.locator("#mapa").tap(position={"x": 200, "y": 150})
        page.select_option("#categoria", "solid_waste")
        page.set_input_files("#fotos", files=[PHOTO])
        page.click("#enviar")
        expect(page.locator("#pendientes")).to_have_text("1")
        expect(page.locator("#cola")).to_contain_text("1 foto(s)")
    finally:
        first.close()
    assert _count(api, inspections) == 0

    # the browser starts again, still without signal: the app and its queue are there
    second = browser.browser_type.launch_persistent_context(str(profile), offline=True, **options)
    try:
        page = second.new_page()
        page.on(
            "request",
            lambda r: (
                posts.append(r.url)
                if r.method == "POST" and r.url.endswith("/inspections")
                else None
            ),
        )
        page.goto(f"{api.base_url}/inspecciones/nueva")
        expect(page.locator("#pendientes")).to_have_text("1")
        expect(page.locator("#cola li")).to_contain_text("Residuos sólidos")
        second.set_offline(False)
        expect(page.locator("#pendientes")).to_have_text("0", timeout=20_000)
        expect(page.locator("#mis-puntos")).to_contain_text("Municipio: Oaxaca de Juárez")
        # the signal drops and comes back again: nothing is sent twice
        second.set_offline(True)
        second.set_offline(False)
        page.reload()
        expect(page.locator("#pendientes")).to_have_text("0")
    finally:
        second.close()
    assert len(posts) == 1
    assert _count(api, inspections) == 1
    assert _count(api, inspection_photos) == 1


def test_time_and_accuracy_are_stored_as_captured(
    api: Database, browser: Any, tmp_path: Path
) -> None:
    load_metro(api, tmp_path)
    page, record = offline_page(
        browser,
        390,
        844,
        has_touch=True,
        timezone_id="America/Mexico_City",
        geolocation={**OAXACA_CENTRE, "accuracy": 8},
        permissions=["geolocation"],
    )
    # a whole minute: the field then shows "10:20", not "10:20:00" (the second point,
    # seven seconds past a minute, checks that seconds are kept)
    loaded = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    page.clock.install(time=loaded)
    _open_signed_in(page, api)
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            sent.append(json.loads(r.post_data or "{}"))
            if r.method == "POST" and r.url.endswith("/inspections")
            else None
        ),
    )

    # 1. a GPS fix two minutes after the page loaded, sent five minutes later
    captured = loaded + timedelta(minutes=2)
    page.clock.pause_at(captured)
    page.click("#ubicacion")
    expect(page.locator("#precision")).to_have_value("8.0")
    # the field shows the phone's local time; a whole minute is written without its
    # seconds ("10:20"), so compare the instant, not the text
    shown = datetime.fromisoformat(page.input_value("#momento"))
    assert shown == captured.astimezone(ZoneInfo("America/Mexico_City")).replace(tzinfo=None)
    expect(page.locator("#zona-horaria")).to_contain_text("UTC-06:00")
    page.clock.fast_forward("05:07")
    page.click("#enviar")
    expect(page.locator("#pendientes")).to_have_text("0")
    expect(page.locator("#respuesta")).to_contain_text("Registrada")

    # 2. a tapped point: no accuracy at all, not the last fix's
    page.locator("#mapa").tap(position={"x": 120, "y": 120})
    expect(page.locator("#precision")).to_have_value("")
    page.click("#enviar")
    expect(page.locator("#pendientes")).to_have_text("0")

    # 3. a poor fix is flagged before sending
    page.context.set_geolocation({**OAXACA_CENTRE, "accuracy": 45})
    page.click("#ubicacion")
    expect(page.locator("#aviso-precision")).to_contain_text("más de 30 m")
    shot(page, "app-precision-baja-390", api.kind)

    # what was sent keeps the phone's offset; what is stored is that instant
    assert sent[0]["properties"]["observed_at"].endswith("-06:00")
    assert sent[0]["properties"]["gps_accuracy_m"] == 8.0
    assert sent[1]["properties"]["gps_accuracy_m"] is None
    stored = {f["id"]: f["properties"] for f in _stored(api)}
    gps = stored[sent[0]["id"]]
    assert datetime.fromisoformat(gps["observed_at"]) == captured
    assert gps["gps_accuracy_m"] == 8.0
    assert stored[sent[1]["id"]]["gps_accuracy_m"] is None
    tapped = datetime.fromisoformat(stored[sent[1]["id"]]["observed_at"])
    assert tapped == captured + timedelta(minutes=5, seconds=7)
    assert record.page_errors == []


def test_a_second_send_of_the_same_point_asks_first(
    api: Database, browser: Any, tmp_path: Path
) -> None:
    load_metro(api, tmp_path)
    page, record = offline_page(browser, 1366, 768)
    _open_signed_in(page, api)
    page.locator("#mapa").click(position={"x": 300, "y": 150})
    page.click("#enviar")
    expect(page.locator("#pendientes")).to_have_text("0")
    expect(page.locator("#respuesta")).to_contain_text("Registrada")
    assert _count(api, inspections) == 1

    asked: list[str] = []

    def answer(accept: bool) -> Any:
        def on_dialog(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    page.once("dialog", answer(False))  # "Enviar" again: it asks, and the person says no
    page.click("#enviar")
    expect(page.locator("#estado")).to_have_text("No se registró de nuevo.")
    assert _count(api, inspections) == 1
    page.once("dialog", answer(True))  # again, and this time yes: a second inspection
    page.click("#enviar")
    expect(page.locator("#estado")).to_have_text("Inspección enviada.")
    assert _count(api, inspections) == 2
    assert len(asked) == 2 and all("Ya registró este punto" in m for m in asked)
    shot(page, "app-1366", api.kind)
    assert record.page_errors == []


def test_a_send_refused_for_the_role_waits_for_the_right_sign_in(
    api: Database, browser: Any, tmp_path: Path
) -> None:
    load_metro(api, tmp_path)
    page, record = offline_page(browser, 390, 844, has_touch=True)
    _open_signed_in(page, api, role="planner")  # a planner may not record inspections
    page.locator("#mapa").tap(position={"x": 200, "y": 150})
    page.click("#enviar")
    waiting = page.locator("#cola li.sesion")
    expect(waiting).to_contain_text("espera una sesión de inspector")
    expect(waiting).to_contain_text("entre con una cuenta de inspección")
    assert _count(api, inspections) == 0
    shot(page, "app-espera-sesion-390", api.kind)
    # in another tab the person signs in as an inspector; this page, left open with
    # the old session's CSRF token, sends the queue when the signal comes back, once
    other = page.context.new_page()
    other.goto(f"{api.base_url}/entrar?siguiente=/cuenta")
    other.fill("#nombre", person_with_password(api, "inspector"))
    other.fill("#contrasena", PASSWORD)
    other.click("form.caja button.primary")
    other.wait_for_url("**/cuenta")
    other.close()
    page.context.set_offline(True)
    page.context.set_offline(False)
    expect(page.locator("#pendientes")).to_have_text("0", timeout=20_000)
    assert _count(api, inspections) == 1
    assert record.page_errors == []


def test_the_queue_goes_to_a_file_and_back_into_another_browser(
    api: Database, browser: Any, tmp_path: Path
) -> None:
    load_metro(api, tmp_path)
    page, record = offline_page(browser, 390, 844, has_touch=True)
    inspector = _open_signed_in(page, api)
    page.context.set_offline(True)
    page.locator("#mapa").tap(position={"x": 200, "y": 150})
    page.select_option("#categoria", "discharge")
    page.set_input_files("#fotos", files=[PHOTO])
    expect(page.locator("#fotos-elegidas")).to_have_text("1 foto(s) elegida(s).")
    page.click("#enviar")
    expect(page.locator("#pendientes")).to_have_text("1")
    with page.expect_download() as download:
        page.click("#exportar")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("linde-cola-") and saved.suffix == ".json"
    page.context.close()  # this browser's data is gone, as if cleared

    # another browser: the file brings the queue back, photo included; sent once
    fresh, record = offline_page(browser, 390, 844, has_touch=True)
    _open_signed_in(fresh, api, name=inspector)
    fresh.set_input_files("#importar", str(saved))
    expect(fresh.locator("#estado")).to_contain_text("Inspección enviada.", timeout=20_000)
    expect(fresh.locator("#pendientes")).to_have_text("0")
    fresh.set_input_files("#importar", str(saved))  # the same file again: nothing new
    expect(fresh.locator("#estado")).to_have_text("Importadas 0 de 1 (las demás ya estaban).")
    assert _count(api, inspections) == 1
    assert _count(api, inspection_photos) == 1
    assert record.page_errors == []
