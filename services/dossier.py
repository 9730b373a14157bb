"""The expediente of a disputed zone as an A4 PDF: read, draw the map, print.

One use case for the API (and any future CLI command): it reads the zone, its case
file and its map on a read connection, draws the map as a PNG without a basemap (so
the dossier is the same offline) and prints the dossier (``maps.dossier``) as a paged
PDF with page numbers, both with the app's one renderer and one admission, so a burst
of dossiers waits or is refused like any other render.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from geo.mexico import today_in_mexico
from layers.disputes import zones
from layers.disputes.rows import CaseEventRow, ZoneDetail
from layers.engine import on_read_connection
from maps.dossier import FOOTER, dossier_html
from maps.export import to_html
from maps.renderer import Paged, Renderer
from maps.report import with_metadata
from services import maps as map_requests


def dossier_pdf(engine: Engine, renderer: Renderer, zone_id: int, *, made_at: datetime) -> bytes:
    """The zone's expediente, printed.

    Raises:
        NotFound: no such zone.
        RendererBusy, RendererUnavailable: as for any map drawn as a PDF.
    """
    with renderer.admitted():

        def read(conn: Connection) -> tuple[ZoneDetail, list[CaseEventRow], str]:
            zone = zones.get_zone(conn, zone_id)
            events = zones.list_events(conn, zone_id)
            m = map_requests.dispute(conn, zone_id, tiles=False, made_on=today_in_mexico(made_at))
            return zone, events, to_html(m)

        zone, events, map_html = on_read_connection(engine, read)
        png = renderer.draw(map_html, "png", paper="a4", orientation="landscape")
        document = dossier_html(zone, events, map_png=png, made_at=made_at)
        pdf = renderer.draw(
            document, "pdf", paper="a4", orientation="portrait", paged=Paged(FOOTER)
        )
    title = zone.get("name") or f"Zona en disputa {zone_id}"
    return with_metadata(
        pdf,
        {
            "/Title": f"Expediente: {title}",
            "/Author": "Comisión de Límites (Linde)",
            "/Subject": f"Expediente de la zona en disputa {zone_id}",
            "/Creator": "Linde (Chromium)",
        },
    )
