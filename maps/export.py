"""Saving a map: a self-contained HTML file, or a PNG / PDF drawn by headless Chromium.

The PNG and PDF come from a real browser (Debian's ``chromium``, driven by
Playwright's Python package with ``executable_path``; Playwright never downloads a
browser here). A page is rendered with every request that does not go to a
``data:`` URI or to the basemap tiles blocked, so the picture is exactly what the
offline HTML file shows, plus tiles when the machine is online.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Literal

import folium

from geo.errors import RendererUnavailable
from maps.assets import localize, resolve

Format = Literal["html", "png", "pdf"]
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "png": "image/png",
    "pdf": "application/pdf",
}
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
#: an A4 page in landscape at 96 px per inch
A4_LANDSCAPE_PX = (1123, 794)
PNG_SIZE_PX = (1600, 1000)
#: how long a render waits for basemap tiles (they may never come offline)
TILE_WAIT_MS = 4000


def to_html(m: folium.Map, static_url: str | None = None) -> str:
    """The map as one HTML document.

    Args:
        static_url: where Linde serves its Leaflet assets (``/maps/static``) for a page
            shown by the service; ``None`` (for files) inlines every script and style
            sheet, so the file opens with no network at all.
    """
    root = m.get_root()
    localize(root)
    return resolve(root.render(), static_url)


def chromium_path() -> str:
    """The Chromium executable: ``LINDE_CHROMIUM``, else ``chromium`` on the PATH.

    Raises:
        RendererUnavailable: none found (the message says how to install it).
    """
    configured = os.environ.get("LINDE_CHROMIUM")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise RendererUnavailable(f"LINDE_CHROMIUM={configured} is not an executable file")
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RendererUnavailable(
        "PNG and PDF are drawn by headless Chromium, which is not installed on this "
        "server: install Debian's 'chromium' package (scripts/setup.sh does) or set "
        "LINDE_CHROMIUM; the HTML format works without it"
    )


def render(document: str, fmt: Literal["png", "pdf"]) -> bytes:
    """Draw an HTML map (self-contained, see :func:`to_html`) as PNG or as an A4 PDF page.

    Raises:
        RendererUnavailable: no Chromium or no Playwright, or the browser failed to start.
    """
    executable = chromium_path()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - it is a dependency of Linde
        raise RendererUnavailable(f"the Playwright package is missing ({exc})") from exc

    width, height = PNG_SIZE_PX if fmt == "png" else A4_LANDSCAPE_PX
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.route("**/*", _only_tiles)
                page.set_content(document, wait_until="load")
                # tiles still loading or unreachable after the wait: draw what is there
                with contextlib.suppress(PlaywrightError):
                    page.wait_for_load_state("networkidle", timeout=TILE_WAIT_MS)
                if fmt == "png":
                    return page.screenshot(full_page=False, type="png")
                page.emulate_media(media="print")
                return page.pdf(
                    width="297mm",
                    height="210mm",
                    print_background=True,
                    margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
                    page_ranges="1",
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise RendererUnavailable(f"headless Chromium failed: {str(exc).splitlines()[0]}") from exc


def _only_tiles(route: object) -> None:
    """Let basemap tile requests through; block everything else that leaves the page."""
    request = route.request  # type: ignore[attr-defined]
    url: str = request.url
    if url.startswith("data:") or (request.resource_type == "image" and "tile" in url):
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]


def export(m: folium.Map, fmt: Format) -> bytes:
    """The map as a self-contained HTML file, a PNG or a PDF page."""
    document = to_html(m)
    if fmt == "html":
        return document.encode("utf-8")
    return render(document, fmt)
