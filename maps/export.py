"""Saving a map: a self-contained HTML file, or a PNG / PDF drawn by headless Chromium.

The PNG and PDF come from a real browser (``maps.renderer``): the self-contained
HTML file is drawn with every request blocked but the basemap's tiles from the
exact tile server the map names, so the picture is exactly what the offline HTML
file shows, plus tiles when the machine is online.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

import folium
from markupsafe import escape

from maps.assets import localize, resolve
from maps.renderer import Renderer, document_policy
from maps.report import frame_of, pdf_metadata, with_metadata
from maps.vector import BaseTiles

Format = Literal["html", "png", "pdf"]
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "png": "image/png",
    "pdf": "application/pdf",
}


def to_html(m: folium.Map, static_url: str | None = None) -> str:
    """The map as one HTML document.

    Args:
        static_url: where Linde serves its Leaflet assets (``/maps/static``) for a page
            shown by the service; ``None`` (for files) inlines every script and style
            sheet, so the file opens with no network at all, and gives the file its own
            Content-Security-Policy (a ``<meta>`` first in its head): inline code and
            ``data:`` only, images also from the basemap's tile server, no connections,
            so a file opened from a disk can call nowhere either.
    """
    root = m.get_root()
    localize(root)
    document = resolve(root.render(), static_url)
    frame = frame_of(m)
    if frame is not None and frame.title:
        # the document's title is the PDF's title (Chromium writes it): <title> holds
        # text, not script, so escaping it as HTML text is the whole of what it needs
        document = document.replace("<head>", f"<head>\n<title>{escape(frame.title)}</title>", 1)
    if static_url is None:
        meta = (
            '<meta http-equiv="Content-Security-Policy" '
            f'content="{document_policy(tile_origins(m))}">'
        )
        document = document.replace("<head>", "<head>\n" + meta, 1)
    return document


def tile_origins(m: folium.Map) -> frozenset[str]:
    """The exact origins (``https://tile.openstreetmap.org``) of the map's basemaps:
    the only hosts a render of it may reach. Empty when no basemap was asked for."""
    origins = set()
    for child in m._children.values():
        if isinstance(child, BaseTiles):
            parts = urlsplit(child.url)
            if parts.scheme in ("http", "https") and parts.hostname and "{" not in parts.netloc:
                port = f":{parts.port}" if parts.port else ""
                origins.add(f"{parts.scheme}://{parts.hostname}{port}".lower())
    return frozenset(origins)


def render_map(
    m: folium.Map, fmt: Literal["png", "pdf"], renderer: Renderer | None = None
) -> bytes:
    """The map drawn as PNG or PDF by ``renderer`` (a one-off one when ``None``).

    Raises:
        RendererUnavailable: no Chromium, or it failed.
        RendererBusy: the renderer has too many renders already.
    """
    document = to_html(m)
    once = renderer is None
    drawer = Renderer(pages=1, queue=0) if renderer is None else renderer
    try:
        body = drawer.render(document, fmt, tile_origins=tile_origins(m))
    finally:
        if once:
            drawer.close()
    return with_metadata(body, pdf_metadata(m)) if fmt == "pdf" else body


def export(m: folium.Map, fmt: Format) -> bytes:
    """The map as a self-contained HTML file, a PNG or a PDF page."""
    if fmt == "html":
        return to_html(m).encode("utf-8")
    return render_map(m, fmt)
