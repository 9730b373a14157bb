"""Hostile names on maps, pages and exports, in real Chromium: nothing runs, the map draws.

Every text that can reach a map is given a name built to run script wherever it is
treated as code or HTML: a template literal (``${…}``), a backtick, quotes,
``</script>``, ``<img onerror>`` and a template expression (``{{7*7}}``). The names
are imported the way an operator would (municipalities, metro zone, river and
localities from files; claims, the zone's name, a case-file note and an inspection
note over the API), then the river map (anonymously), the dispute map, the maps
page's previews, the dispute page and the exported HTML files are opened. Each
payload, if it ran, would mark the document (``<html data-pwned>``); the test asserts
no document was marked, no script failed, the map's features are in the DOM and the
names are shown as written.

The data is a small synthetic stand-in for two metro-zone municipalities (20067 Oaxaca
de Juárez and 20157 San Jacinto Amilpas) over their real area, so the test needs no
data files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from layers.users import add_user
from tests.conftest import Database
from tests.helpers import PASSWORD, offline_page, shot, sign_in_in_browser
from tests.hostile import (
    DISPUTE,
    LOCALITY,
    NOTE,
    OAXACA,
    RIVER,
    SAN_JACINTO,
    ZONE,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def dialogs() -> Iterator[list[str]]:
    yield []


def watch(page: Any, seen: list[str]) -> None:
    """Record any dialog a payload might open (it would be a script that ran)."""

    def dismiss(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)


def no_injected_nodes(frame: Any) -> None:
    count = frame.evaluate(
        "[...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x').length"
    )
    assert count == 0


def check_map(frame: Any, record: Any, title: str) -> None:
    """The map drew, its title is the name as written, and nothing of the names ran."""
    frame.locator("path.leaflet-interactive").first.wait_for()
    assert frame.locator(".linde-title h1").inner_text() == title
    assert frame.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    no_injected_nodes(frame)
    assert record.page_errors == []


def test_river_map_draws_hostile_names_as_text_anonymously(
    hostile_data: Database,
    browser: Any,
    dialogs: list[str],
) -> None:
    db = hostile_data
    page, record = offline_page(browser)
    watch(page, dialogs)
    page.goto(f"{db.base_url}/maps/rivers/{db.river_id}?tiles=false")  # type: ignore[attr-defined]
    check_map(page, record, f"Río {RIVER}")
    page.locator("path.leaflet-interactive").first.hover()
    expect(page.locator(".leaflet-tooltip")).to_have_text(f"Río {RIVER}")
    page.locator(".leaflet-control-layers").hover()
    assert "Cauce del río" in page.locator(".leaflet-control-layers-list").inner_text()
    assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    no_injected_nodes(page)
    shot(page, "hostile-river", db.kind)
    assert dialogs == [] and record.page_errors == []


def test_dispute_map_shows_every_hostile_name_as_written(
    hostile_data: Database,
    browser: Any,
    dialogs: list[str],
) -> None:
    db = hostile_data
    page, record = offline_page(
        browser, extra_http_headers={"Authorization": f"Bearer {db.tokens['planner']}"}
    )
    watch(page, dialogs)
    page.goto(f"{db.base_url}/maps/disputes/{db.zone_id}?tiles=false")  # type: ignore[attr-defined]
    check_map(page, record, DISPUTE)
    # the layer control writes names as HTML: they are escaped, shown as written
    page.locator(".leaflet-control-layers").hover()
    names = page.locator(".leaflet-control-layers-list").inner_text()
    assert f"Reclamo de {SAN_JACINTO}" in names and f"Reclamo de {OAXACA}" in names
    legend = page.locator(".linde-legend").inner_text()
    assert f"Reclamado por {SAN_JACINTO}" in legend
    # tooltips, built when the pointer is over a feature
    for i in range(page.locator("path.leaflet-interactive").count()):
        page.locator("path.leaflet-interactive").nth(i).hover(force=True)
    tips = page.locator(".leaflet-tooltip").all_inner_texts()
    assert any(LOCALITY in t or SAN_JACINTO in t or OAXACA in t for t in tips), tips
    # the inspection's popup
    page.locator(".leaflet-marker-icon, path.leaflet-interactive").last.click(force=True)
    shot(page, "hostile-dispute", db.kind)
    assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    no_injected_nodes(page)
    assert dialogs == [] and record.page_errors == []


def test_exported_files_open_from_disk_and_run_no_name(
    hostile_data: Database,
    browser: Any,
    dialogs: list[str],
    tmp_path: Path,
) -> None:
    db = hostile_data
    with db.client("planner") as http:
        files = {
            "rio": http.get(
                f"/maps/rivers/{db.river_id}",  # type: ignore[attr-defined]
                params={"download": "true", "tiles": "false"},
            ),
            "disputa": http.get(
                f"/maps/disputes/{db.zone_id}",  # type: ignore[attr-defined]
                params={"download": "true", "tiles": "false"},
            ),
            "zona": http.get("/maps/metro-zones/20.1.01", params={"download": "true"}),
        }
    titles = {"rio": f"Río {RIVER}", "disputa": DISPUTE, "zona": ZONE}
    for stem, response in files.items():
        assert response.status_code == 200, response.text
        # a file opened from a disk keeps a policy of its own: it can call nowhere
        assert "connect-src 'none'" in response.text.split("</head>")[0]
        path = tmp_path / f"{stem}.html"
        path.write_bytes(response.content)
        page, record = offline_page(browser)
        watch(page, dialogs)
        page.goto(path.as_uri())
        check_map(page, record, titles[stem])
        page.locator(".leaflet-control-layers").hover()
        shot(page, f"hostile-export-{stem}", db.kind)
        assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    assert dialogs == []


def _frame_cannot_read_the_page(page: Any) -> None:
    """The map frame runs in an origin of its own: the page, its storage and its
    cookies are out of its reach."""
    assert page.locator("iframe#mapa").get_attribute("sandbox") == "allow-scripts"
    frame = page.frame_locator("#mapa").locator("html")
    reach = frame.evaluate(
        """() => {
            const out = [];
            try { out.push(window.parent.document.title); } catch (e) { out.push("blocked"); }
            try { out.push(sessionStorage.getItem("linde-token")); }
            catch (e) { out.push("blocked"); }
            try { out.push(document.cookie); } catch (e) { out.push("blocked"); }
            out.push(window.origin);
            return out; }"""
    )
    assert reach == ["blocked", "blocked", "blocked", "null"], reach


def _signed_in(page: Any, db: Database, role: str, then: str) -> None:
    """Sign a person of ``role`` in through /entrar, as a browser does, and land on ``then``."""
    name = f"{role}-persona-hostil"
    add_user(db.engine, name, role, actor="test", password=PASSWORD)
    sign_in_in_browser(page, db.base_url, name, then)


def test_maps_page_previews_run_no_name_and_cannot_read_the_token(
    hostile_data: Database,
    browser: Any,
    dialogs: list[str],
) -> None:
    db = hostile_data
    page, record = offline_page(browser, 1400, 900)
    watch(page, dialogs)
    _signed_in(page, db, "planner", "/mapas")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    frame = page.frame_locator("#mapa")
    frame.locator(".linde-title h1", has_text=ZONE).wait_for()
    frame.locator(".linde-label", has_text=SAN_JACINTO).wait_for()
    _frame_cannot_read_the_page(page)
    page.check("input[value=rio]")
    expect(page.locator("#estado")).to_have_text("Vista previa lista.")
    frame.locator(".linde-title h1", has_text=f"Río {RIVER}").wait_for()
    frame.locator("path.leaflet-interactive").first.wait_for()
    shot(page, "hostile-mapas", db.kind)
    assert frame.locator("html").evaluate("e => e.getAttribute('data-pwned')") is None
    assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    assert dialogs == [] and record.page_errors == []


def test_dispute_page_runs_no_name_and_its_map_cannot_read_the_token(
    hostile_data: Database,
    browser: Any,
    dialogs: list[str],
) -> None:
    db = hostile_data
    page, record = offline_page(browser, 1400, 900)
    watch(page, dialogs)
    _signed_in(page, db, "commission", f"/disputas/{db.zone_id}")  # type: ignore[attr-defined]
    expect(page.locator("#estado")).to_contain_text("Expediente al día")
    expect(page.locator("#titulo")).to_have_text(DISPUTE)
    assert NOTE in page.locator("#expediente").inner_text()
    frame = page.frame_locator("#mapa")
    frame.locator(".linde-title h1", has_text=DISPUTE).wait_for()
    frame.locator("path.leaflet-interactive").first.wait_for()
    assert f"Reclamado por {SAN_JACINTO}" in frame.locator(".linde-legend").inner_text()
    _frame_cannot_read_the_page(page)
    shot(page, "hostile-disputa", db.kind)
    assert frame.locator("html").evaluate("e => e.getAttribute('data-pwned')") is None
    assert page.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    no_injected_nodes(page)
    assert dialogs == [] and record.page_errors == []
