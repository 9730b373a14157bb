"""The commission's list of zones (``GET /disputes-overview`` and ``/disputas``).

On the shipped Oaxaca metro-zone extract (the ``metro`` fixture: official claims of
its 26 municipalities, San Jacinto Amilpas's locality claim, one detection run).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from geo.measures import population_inside
from layers.users import add_user
from tests.conftest import Database
from tests.disputes_data import SAN_JACINTO
from tests.helpers import biggest, offline_page, ok, problem, shot

#: a metro-zone municipality party to no zone the fixture detects
SANTA_LUCIA = "20390"
PASSWORD = "contraseña-de-la-mesa"


def test_population_inside_weighs_each_locality_by_its_share() -> None:
    found: list[dict[str, Any]] = [
        {"population": 1000, "share_inside": 0.25},
        {"population": 10, "share_inside": 1.0},
        {"population": None, "share_inside": 0.5},
    ]
    assert population_inside(found) == 260
    assert population_inside([]) == 0


def test_overview_counts_filters_and_sorts(metro: Database) -> None:
    with metro.client("planner") as http:
        every = ok(http.get("/disputes-overview"))
        zones = every["zones"]
        assert zones and every["total"] == len(zones)
        assert every["counts"] == {"detected": len(zones)}
        areas = [z["area_m2"] for z in zones]
        assert areas == sorted(areas, reverse=True)
        assert all(z["geometry"]["type"] in ("Polygon", "MultiPolygon") for z in zones)
        assert any(z["population_estimate"] > 0 for z in zones)
        by_people = ok(http.get("/disputes-overview", params={"sort": "population"}))["zones"]
        people = [z["population_estimate"] for z in by_people]
        assert people == sorted(people, reverse=True)
        # the estimate is the one the zone's own page shows
        top = by_people[0]
        assert (
            ok(http.get(f"/disputes/{top['id']}"))["population_estimate"]
            == (top["population_estimate"])
        )
        metro_only = ok(http.get("/disputes-overview", params={"metro_zone": "20.1.01"}))
        assert metro_only["total"] == len(zones)
        assert ok(http.get("/disputes-overview", params={"metro_zone": "9.1.01"}))["zones"] == []
        sja = ok(http.get("/disputes-overview", params={"cvegeo": SAN_JACINTO}))["zones"]
        assert sja and all(SAN_JACINTO in {p["cvegeo"] for p in z["parties"]} for z in sja)
        opened = ok(http.get("/disputes-overview", params={"status": "open"}))
        # counts ignore the status filter: the page shows them beside it
        assert opened["zones"] == [] and opened["counts"] == every["counts"]
        bad = http.get("/disputes-overview", params={"sort": "name"})
        assert bad.status_code == 422 and "sort" in bad.text


def test_overview_is_scoped_to_the_parties_zones(metro: Database) -> None:
    with metro.client("planner") as http:
        every = ok(http.get("/disputes-overview"))["zones"]
    for cvegeo in (SAN_JACINTO, SANTA_LUCIA):
        _user, token = add_user(
            metro.engine, f"rep-{cvegeo}", "commission", actor="t", cvegeo=cvegeo
        )
        with metro.client() as http:
            seen = ok(http.get("/disputes-overview", headers={"Authorization": f"Bearer {token}"}))[
                "zones"
            ]
        assert {z["id"] for z in seen} == {
            z["id"] for z in every if cvegeo in {p["cvegeo"] for p in z["parties"]}
        }
    with metro.client() as anonymous:
        assert anonymous.get("/disputes-overview").status_code == 401


# --- the page, in headless Chromium -----------------------------------------------------


def _sign_in_at(page: Any, base_url: str, name: str) -> None:
    """Open /disputas without a session: it sends the browser to /entrar and back."""
    page.goto(f"{base_url}/disputas")
    page.wait_for_url(re.compile(r"/entrar\?siguiente="))
    page.fill("#nombre", name)
    page.fill("#contrasena", PASSWORD)
    page.click("form.caja button.primary")
    page.wait_for_url(re.compile(r"/disputas$"))


@pytest.mark.browser
def test_commission_lists_filters_and_sorts_the_zones(metro: Database, browser: Any) -> None:
    with metro.client("planner") as http:
        every = ok(http.get("/disputes-overview"))
        by_people = ok(http.get("/disputes-overview", params={"sort": "population"}))["zones"]
    add_user(metro.engine, "comision", "commission", actor="test", password=PASSWORD)
    page, record = offline_page(browser, 1366, 768)
    _sign_in_at(page, metro.base_url, "comision")
    expect(page.locator("#estado")).to_have_text(
        f"{every['total']} zona(s), la más grande primero.", timeout=60_000
    )
    rows = page.locator("#zonas tbody tr")
    expect(rows).to_have_count(every["total"])
    expect(page.locator("#conteos li[data-estado=detected] b")).to_have_text(str(every["total"]))
    expect(page.locator("#conteos li[data-estado=open] b")).to_have_text("0")
    # one shape per zone on the map, coloured by status
    expect(page.locator("#mapa path.leaflet-interactive")).to_have_count(every["total"])
    first = rows.first
    expect(first.locator("td").nth(1)).to_have_text("traslape")
    expect(first.locator("td").nth(2)).to_have_text("detectada")
    shot(page, "disputas-1366", metro.kind)

    page.select_option("#f-orden", "population")
    expect(page.locator("#estado")).to_contain_text("más población afectada primero")
    expect(rows.first).to_have_attribute("data-zona", str(by_people[0]["id"]))
    shown = rows.first.locator("td").nth(5).inner_text()
    assert shown.replace(",", "") == str(by_people[0]["population_estimate"])

    page.select_option("#f-municipio", SAN_JACINTO)
    sja = [z for z in every["zones"] if SAN_JACINTO in {p["cvegeo"] for p in z["parties"]}]
    expect(rows).to_have_count(len(sja))
    assert f"cvegeo={SAN_JACINTO}" in page.url

    page.select_option("#f-estado", "open")
    expect(page.locator("#estado")).to_have_text("No hay zonas en disputa con estos filtros.")
    expect(rows).to_have_count(0)
    # the counts stay those of every status, to choose from
    expect(page.locator("#conteos li[data-estado=detected] b")).to_have_text(str(len(sja)))

    page.select_option("#f-estado", "")
    rows.first.locator("a").click()
    page.wait_for_url(re.compile(r"/disputas/\d+$"))
    assert record.blocked == [] and record.page_errors == []

    phone, phone_record = offline_page(browser, 390, 844)
    _sign_in_at(phone, metro.base_url, "comision")
    expect(phone.locator("#zonas tbody tr")).to_have_count(every["total"], timeout=60_000)
    shot(phone, "disputas-390", metro.kind)
    assert phone_record.blocked == [] and phone_record.page_errors == []


@pytest.mark.browser
def test_a_party_lists_only_its_zones_and_a_planner_reads_them_all(
    metro: Database, browser: Any
) -> None:
    with metro.client("planner") as http:
        every = ok(http.get("/disputes-overview"))["zones"]
    sja = [z for z in every if SAN_JACINTO in {p["cvegeo"] for p in z["parties"]}]
    assert len(sja) > 0
    add_user(
        metro.engine, "rep-sja", "commission", actor="test", password=PASSWORD, cvegeo=SAN_JACINTO
    )
    add_user(metro.engine, "planeacion", "planner", actor="test", password=PASSWORD)
    for name, expected in (("rep-sja", sja), ("planeacion", every)):
        page, record = offline_page(browser, 1366, 768)
        _sign_in_at(page, metro.base_url, name)
        rows = page.locator("#zonas tbody tr")
        expect(rows).to_have_count(len(expected), timeout=60_000)
        assert {int(rows.nth(i).get_attribute("data-zona")) for i in range(len(expected))} == {
            z["id"] for z in expected
        }
        assert record.blocked == [] and record.page_errors == []


# --- one zone: measures, people, the whole case file ------------------------------------


def test_the_case_file_speaks_spanish_and_measures_a_proposal(metro: Database) -> None:
    zone = biggest(metro)
    with metro.client("commission") as http:
        events = ok(http.get(f"/disputes/{zone['id']}/events"))["events"]
        assert events[0]["kind"] == "detection"
        assert re.match(
            r"corrida \d+: traslape reclamado por Oaxaca de Juárez \(20067\) y "
            r"San Jacinto Amilpas \(20157\), [\d,.]+ ha$",
            events[0]["summary"],
        )
        assert "run" not in events[0]["summary"] and "overlap" not in events[0]["summary"]
        ok(
            http.post(
                f"/disputes/{zone['id']}/events",
                json={
                    "kind": "proposal",
                    "summary": "La zona entera",
                    "geometry": zone["geometry"],
                },
            ),
            201,
        )
        proposal = ok(http.get(f"/disputes/{zone['id']}/events"))["events"][-1]
    # the proposal's area in EPSG:6372 is the zone's, as stored with it
    assert proposal["area_m2"] == pytest.approx(zone["area_m2"], rel=1e-6)
    assert proposal["length_m"] is None
    assert zone["population_estimate"] == population_inside(zone["localities"])


@pytest.mark.browser
def test_a_zone_page_shows_measures_people_and_every_event_in_full(
    metro: Database, browser: Any
) -> None:
    zone = biggest(metro)
    with metro.client("commission") as http:
        ok(
            http.post(
                f"/disputes/{zone['id']}/events",
                json={
                    "kind": "meeting",
                    "occurred_at": "2026-03-02T17:00:00Z",
                    "summary": "Primera mesa de trabajo",
                    "details": {
                        "place": "Palacio municipal de San Jacinto Amilpas",
                        "attendees": ["Síndica de Oaxaca de Juárez", "Síndico de San Jacinto"],
                    },
                },
            ),
            201,
        )
    add_user(metro.engine, "comision-zona", "commission", actor="test", password=PASSWORD)
    for width, height in ((1366, 768), (390, 844)):
        page, record = offline_page(browser, width, height)
        page.goto(f"{metro.base_url}/disputas/{zone['id']}")
        page.wait_for_url(re.compile(r"/entrar\?siguiente="))
        page.fill("#nombre", "comision-zona")
        page.fill("#contrasena", PASSWORD)
        page.click("form.caja button.primary")
        expect(page.locator("#estado")).to_contain_text("Expediente al día", timeout=60_000)
        people = f"{zone['population_estimate']:,} personas (estimación)"
        expect(page.locator("#z-poblacion")).to_have_text(people)
        assert page.locator("#z-perimetro").inner_text().endswith(("m", "km"))
        assert page.locator("#z-linea").inner_text() != ""
        expect(page.locator("#z-localidades tbody tr")).to_have_count(len(zone["localities"]))
        meeting = page.locator("#expediente li", has_text="Reunión")
        expect(meeting).to_contain_text("Palacio municipal de San Jacinto Amilpas")
        expect(meeting).to_contain_text("Síndica de Oaxaca de Juárez, Síndico de San Jacinto")
        expect(page.locator("#expediente li").first).to_contain_text("traslape reclamado por")
        page.frame_locator("#mapa").locator(".linde-legend").wait_for()
        shot(page, f"disputa-desk-{width}", metro.kind)
        # only the basemap's tiles were asked of the internet (and stopped)
        assert all("tile.openstreetmap.org" in url for _kind, url in record.blocked)
        assert record.page_errors == []


# --- actions from the page ----------------------------------------------------------------


@pytest.mark.browser
def test_commission_names_meets_and_agrees_from_the_page(metro: Database, browser: Any) -> None:
    zone = biggest(metro)
    add_user(metro.engine, "comision-acciones", "commission", actor="test", password=PASSWORD)
    page, record = offline_page(browser, 1366, 768)
    page.goto(f"{metro.base_url}/disputas/{zone['id']}")
    page.wait_for_url(re.compile(r"/entrar\?siguiente="))
    page.fill("#nombre", "comision-acciones")
    page.fill("#contrasena", PASSWORD)
    page.click("form.caja button.primary")
    expect(page.locator("#estado")).to_contain_text("Expediente al día", timeout=60_000)

    page.fill("[name=nombre]", "Fraccionamiento Los Sauces")
    page.click("#nombrar")
    expect(page.locator("#estado")).to_have_text("Zona nombrada «Fraccionamiento Los Sauces».")
    expect(page.locator("#titulo")).to_have_text("Fraccionamiento Los Sauces")
    page.click("button[data-destino=open]")
    expect(page.locator("#estado")).to_have_text("Estado cambiado a «abierta».")

    # a meeting without its place is refused on the page, in Spanish, and nothing is sent
    page.fill("[name=reunion-fecha]", "2026-03-02T11:00")
    page.fill("[name=reunion-asistentes]", "Síndica de Oaxaca de Juárez\nSíndico de San Jacinto")
    page.click("#registrar-reunion")
    expect(page.locator("#estado")).to_have_text("Para registrar la reunión falta el lugar.")
    page.fill("[name=reunion-lugar]", "Sala de cabildo, San Jacinto Amilpas")
    page.fill("[name=reunion-resumen]", "Recorrido y revisión de planos")
    page.click("#registrar-reunion")
    expect(page.locator("#estado")).to_have_text("Reunión registrada.")
    page.fill("[name=acuerdo-texto]", "Levantamiento topográfico conjunto")
    page.fill("[name=acuerdo-referencia]", "Acta CL/2026/014")
    page.click("#registrar-acuerdo")
    expect(page.locator("#estado")).to_have_text("Acuerdo registrado.")
    acuerdo = page.locator("#expediente li", has_text="Acuerdo")
    expect(acuerdo).to_contain_text("Acta CL/2026/014")
    expect(page.locator("#expediente li", has_text="Reunión")).to_contain_text("Sala de cabildo")

    with metro.client("planner") as http:
        now = ok(http.get(f"/disputes/{zone['id']}"))
        events = ok(http.get(f"/disputes/{zone['id']}/events"))["events"]
    assert now["name"] == "Fraccionamiento Los Sauces" and now["status"] == "open"
    meeting = next(e for e in events if e["kind"] == "meeting")
    assert meeting["details"] == {
        "place": "Sala de cabildo, San Jacinto Amilpas",
        "attendees": ["Síndica de Oaxaca de Juárez", "Síndico de San Jacinto"],
    }
    assert meeting["recorded_by"] == "comision-acciones"
    agreement = next(e for e in events if e["kind"] == "agreement")
    assert agreement["details"] == {"reference": "Acta CL/2026/014"}

    # someone renames the zone behind the page's back: the page's rename is refused
    with metro.client("commission") as http:
        ok(
            http.patch(
                f"/disputes/{zone['id']}",
                json={"name": "Los Sauces"},
                headers={"If-Match": now["etag"]},
            )
        )
    page.fill("[name=nombre]", "Colonia Ejidal")
    page.click("#nombrar")
    expect(page.locator("#estado")).to_contain_text("Alguien cambió esta zona")
    expect(page.locator("#titulo")).to_have_text("Los Sauces")
    with metro.client("planner") as http:
        assert ok(http.get(f"/disputes/{zone['id']}"))["name"] == "Los Sauces"
    shot(page, "disputa-acciones", metro.kind)
    assert record.page_errors == []


# --- evidence as files --------------------------------------------------------------------

#: a whole (tiny) PDF: header, one empty page, trailer
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _events(db: Database, zone_id: int) -> list[dict[str, Any]]:
    with db.client("planner") as http:
        events: list[dict[str, Any]] = ok(http.get(f"/disputes/{zone_id}/events"))["events"]
        return events


def test_evidence_files_are_checked_by_content_stored_by_sha256_and_read_in_scope(
    metro: Database,
) -> None:
    import hashlib

    zone = biggest(metro)
    url = f"/disputes/{zone['id']}/evidence"
    with metro.client("commission") as http:
        added = http.post(
            url,
            data={"document": "Plano catastral 1998"},
            files={"file": ("plano.pdf", PDF, "application/octet-stream")},
            headers={"If-Match": zone["etag"]},
        )
        assert added.status_code == 201, added.text
        sha = hashlib.sha256(PDF).hexdigest()
        assert added.json()["details"]["file"] == {
            "sha256": sha,
            "media_type": "application/pdf",
            "size_bytes": len(PDF),
            "file_name": "plano.pdf",
        }
        assert added.headers["ETag"] != zone["etag"]
        before = len(_events(metro, zone["id"]))
        # named .pdf, but text: refused by content, naming the field, nothing written
        for name, data, reason in (
            ("acta.pdf", b"<html>no soy un pdf</html>", "is not a PDF or a JPEG"),
            ("corto.pdf", PDF[:60], "cut short"),
            ("vacio.pdf", b"", "empty"),
        ):
            bad = http.post(
                url, data={"document": "x"}, files={"file": (name, data, "application/pdf")}
            )
            assert bad.status_code == 422, bad.text
            assert reason in bad.json()["error"]["message"]
            assert "file" in bad.text
        # a stale version is refused too
        stale = http.post(
            url,
            data={"document": "otra"},
            files={"file": ("plano.pdf", PDF, "application/pdf")},
            headers={"If-Match": zone["etag"]},
        )
        assert stale.status_code == 412
    assert len(_events(metro, zone["id"])) == before
    with metro.client("planner") as http:
        got = http.get(f"{url}/{sha}")
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert "attachment" in got.headers["content-disposition"]
        assert "plano" not in got.headers["content-disposition"]
        others = [z for z in ok(http.get("/disputes-overview"))["zones"] if z["id"] != zone["id"]]
        # the file is reachable only through the zone whose case file holds it
        assert http.get(f"/disputes/{others[0]['id']}/evidence/{sha}").status_code == 404
    with metro.client("commission") as http:
        # details naming a stored file by hand are refused (once a 500, then a way to
        # make another zone's case file name this zone's document): only the evidence
        # route writes details.file
        other = f"/disputes/{others[0]['id']}"
        for forged in (
            {"sha256": sha},
            {"sha256": sha, "media_type": "application/pdf", "size_bytes": 10, "file_name": "x"},
        ):
            written = http.post(
                f"{other}/events",
                json={"kind": "evidence", "details": {"document": "copia", "file": forged}},
            )
            assert "upload the document" in problem(written, 422, "details")
        assert http.get(f"{other}/evidence/{sha}").status_code == 404
    _user, token = add_user(metro.engine, "rep-lucia", "commission", actor="t", cvegeo=SANTA_LUCIA)
    with metro.client() as http:
        outside = http.get(f"{url}/{sha}", headers={"Authorization": f"Bearer {token}"})
        assert outside.status_code == 404


@pytest.mark.browser
def test_a_party_attaches_its_evidence_and_a_bad_file_is_refused_with_the_reason(
    metro: Database, browser: Any, tmp_path: Path
) -> None:
    zone = biggest(metro)
    add_user(
        metro.engine, "rep-sja-doc", "commission", actor="t", password=PASSWORD, cvegeo=SAN_JACINTO
    )
    good = tmp_path / "plano-1998.pdf"
    good.write_bytes(PDF)
    bad = tmp_path / "acta.pdf"
    bad.write_bytes(b"MZ\x90\x00 un ejecutable con nombre de pdf")
    page, record = offline_page(browser, 390, 844)
    page.goto(f"{metro.base_url}/disputas/{zone['id']}")
    page.wait_for_url(re.compile(r"/entrar\?siguiente="))
    page.fill("#nombre", "rep-sja-doc")
    page.fill("#contrasena", PASSWORD)
    page.click("form.caja button.primary")
    expect(page.locator("#estado")).to_contain_text("Expediente al día", timeout=60_000)
    # a party's representative adds evidence but does not move the zone
    assert page.locator("#acciones").is_hidden()
    expect(page.locator("#pruebas")).to_be_visible()
    page.fill("[name=prueba-titulo]", "Acta de cabildo")
    page.set_input_files("[name=prueba-archivo]", str(bad))
    page.click("#adjuntar")
    expect(page.locator("#estado")).to_have_text(
        "No se adjuntó el documento: el archivo no es un PDF ni una imagen JPEG, PNG o WebP"
        " (se revisa su contenido, no su nombre)."
    )
    assert not [e for e in _events(metro, zone["id"]) if e["kind"] == "evidence"]
    page.fill("[name=prueba-titulo]", "Plano catastral 1998")
    page.set_input_files("[name=prueba-archivo]", str(good))
    page.click("#adjuntar")
    expect(page.locator("#estado")).to_have_text("Documento adjuntado al expediente.")
    item = page.locator("#expediente li", has_text="Prueba documental")
    expect(item).to_contain_text("Plano catastral 1998")
    expect(item).to_contain_text("plano-1998.pdf")
    with page.expect_download() as download:
        item.locator("a.descarga").click()
    assert Path(download.value.path()).read_bytes() == PDF
    (evidence,) = [e for e in _events(metro, zone["id"]) if e["kind"] == "evidence"]
    assert evidence["recorded_by"] == "rep-sja-doc"
    shot(page, "disputa-prueba-390", metro.kind)
    assert record.page_errors == []


@pytest.mark.browser
def test_commission_runs_detection_from_the_list_and_sees_what_changed(
    metro: Database, browser: Any
) -> None:
    from tests.helpers import claim_sja

    with metro.client("planner") as http:
        before = ok(http.get("/disputes-overview"))["total"]
    add_user(metro.engine, "comision-deteccion", "commission", actor="t", password=PASSWORD)
    page, record = offline_page(browser, 1366, 768)
    _sign_in_at(page, metro.base_url, "comision-deteccion")
    expect(page.locator("#zonas tbody tr")).to_have_count(before, timeout=60_000)
    # San Jacinto claims 30 m more around its locality: the zones change
    with metro.client("commission") as http:
        claim_sja(http, 30.0, "2025-01-01T00:00:00Z")
    page.select_option("#d-zona", "20.1.01")
    page.click("#deteccion button[type=submit]")
    expect(page.locator("#d-resultado")).to_contain_text(" zona(s) nueva(s), ", timeout=60_000)
    said = page.locator("#d-resultado").inner_text()
    with metro.client("planner") as http:
        run = ok(http.get("/detection-runs", params={"limit": 1}))["runs"][0]  # the newest
    assert said.startswith(f"Detección {run['id']} en ")
    assert (
        f"{run['zones_created']} zona(s) nueva(s), {run['zones_changed']} cambiaron, "
        f"{run['zones_unchanged']} sin cambio, {run['zones_vanished']} ya no existen" in said
    )
    assert run["zones_created"] + run["zones_changed"] > 0
    expect(page.locator("#zonas tbody tr[data-cambio]")).to_have_count(
        run["zones_created"] + run["zones_changed"]
    )
    page.fill("#d-municipio", "201")
    page.click("#deteccion button[type=submit]")
    expect(page.locator("#d-resultado")).to_have_text(
        "La clave del municipio son 5 cifras (p. ej. 20157)."
    )
    shot(page, "disputas-deteccion", metro.kind)
    assert record.page_errors == []
