"""What makes a map fit for a report: the planner's own heading, and a PDF that says
what it is (title, author, subject in its document information).

The heading lives in the map's title block (``maps.elements.Frame``); its words are
data, shown as text. Chromium writes a PDF's title from the document's ``<title>``
(``maps.export.to_html`` sets it) but no author or subject; :func:`with_metadata`
adds them with pypdf without touching the pages.
"""

from __future__ import annotations

import base64
import io

import folium
from pypdf import PdfReader, PdfWriter

from maps.elements import Frame


def frame_of(m: folium.Map) -> Frame | None:
    """The map's title block (``None`` for a map no builder of Linde made)."""
    return next((c for c in m._children.values() if isinstance(c, Frame)), None)


def set_heading(
    m: folium.Map,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    institution: str | None = None,
    logo_png: bytes | None = None,
) -> folium.Map:
    """The map with the planner's own title, subtitle or institution in place of the
    builder's (each left as it was when ``None``), and the logo above them
    (``logo_png``: a PNG ``layers.logos`` checked and re-drew). The words are data: they reach the
    page as JSON and are shown as text.

    Raises:
        ValueError: a map without Linde's title block.
    """
    frame = frame_of(m)
    if frame is None:
        raise ValueError("this map has no title block of Linde's to change")
    if title is not None and title.strip():
        frame.title = title.strip()
    if subtitle is not None:
        frame.subtitle = subtitle.strip()
    if institution is not None:
        frame.institution = institution.strip()
    if logo_png is not None:
        frame.logo = "data:image/png;base64," + base64.b64encode(logo_png).decode("ascii")
    return m


#: who a map PDF says wrote it when the planner names no institution
DEFAULT_AUTHOR = "Linde"


def pdf_metadata(m: folium.Map) -> dict[str, str]:
    """A map PDF's title, author and subject: the map's title, the institution (or
    Linde) and its subtitle."""
    frame = frame_of(m)
    if frame is None:
        return {"/Author": DEFAULT_AUTHOR, "/Creator": DEFAULT_AUTHOR}
    return {
        "/Title": frame.title,
        "/Author": frame.institution or DEFAULT_AUTHOR,
        "/Subject": frame.subtitle or frame.title,
        "/Creator": "Linde (Chromium)",
    }


def with_metadata(pdf: bytes, metadata: dict[str, str]) -> bytes:
    """The PDF with its document information set (title, author, subject …); pages,
    text and vector drawing are copied untouched."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata(metadata)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
