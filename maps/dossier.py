"""The expediente of a disputed zone as one printable HTML document (A4, in Spanish).

A pure function from what the commission reads (the zone with its measures, localities
and inspections, its case file, the map drawn as a PNG) to HTML that the renderer
prints as a paged PDF (``maps.renderer.Paged``): map, parties, measures, localities
and the people estimated inside, the whole case file, the decision and its references,
the sources credited and the date and time it was made, in Mexico City time. Every
text from data goes through Jinja's autoescape.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from geo.mexico import MEXICO_TZ
from maps.legend import STATUS_ES, category_label, format_number

KIND_ES = {
    "overlap": "traslape de reclamos",
    "gap": "vacío (nadie la reclama)",
    "manual": "registrada por la comisión",
}
EVENT_ES = {
    "detection": "Detección",
    "registered": "Registro",
    "status": "Cambio de estado",
    "decision": "Resolución",
    "edit": "Edición",
    "meeting": "Reunión",
    "evidence": "Prueba documental",
    "proposal": "Propuesta",
    "agreement": "Acuerdo",
    "note": "Nota",
}
#: what the dossier credits, besides the claims' own sources
SOURCES = (
    "Límites municipales: INEGI, Marco Geoestadístico.",
    "Localidades y población: INEGI, Censo de Población y Vivienda 2020 "
    "(población dentro estimada por la fracción de superficie de cada localidad).",
    "Superficies y longitudes medidas en la proyección INEGI EPSG:6372 (Lambert, ITRF2008).",
)
FOOTER = (
    '<div style="font-size:8px;width:100%;padding:0 16mm;color:#444;'
    'font-family:sans-serif;display:flex;justify-content:space-between">'
    "<span>Linde · Expediente de zona en disputa</span>"
    '<span>Página <span class="pageNumber"></span> de <span class="totalPages"></span></span>'
    "</div>"
)

_env = Environment(
    loader=PackageLoader("maps", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def ha(m2: float | None) -> str:
    return "—" if m2 is None else f"{format_number(float(m2) / 10000, 2)} ha"


def length(m: float | None) -> str:
    if m is None:
        return "—"
    return f"{format_number(m / 1000, 2)} km" if m >= 1000 else f"{format_number(m, 1)} m"


def when(moment: datetime | str | None) -> str:
    """A moment as read in Mexico City: ``02/03/2026 11:00 (hora del centro de México)``."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(MEXICO_TZ).strftime("%d/%m/%Y %H:%M")


def _event_rows(event: Mapping[str, Any], names: Mapping[str, str]) -> list[tuple[str, str]]:
    """The content of one case event as (term, text) pairs."""
    d: Mapping[str, Any] = event.get("details") or {}

    def party(key: str) -> str:
        return f"{names.get(key, key)} ({key})"

    kind = event["kind"]
    rows: list[tuple[str, Any]] = []
    if kind == "meeting":
        rows = [("Lugar", d.get("place")), ("Asistentes", ", ".join(d.get("attendees") or []))]
    elif kind == "evidence":
        file = d.get("file") or {}
        rows = [("Documento", d.get("document")), ("Archivo", file.get("file_name"))]
        if file.get("sha256"):
            rows.append(("SHA-256", file["sha256"]))
    elif kind == "proposal":
        rows = [("Superficie dibujada", ha(event.get("area_m2")) if event.get("area_m2") else None)]
        if d.get("party"):
            rows.append(("Recibe lo dibujado", party(d["party"])))
        for b in d.get("balance") or []:
            rows.append(
                (
                    party(b["cvegeo"]),
                    f"recibe {ha(b['receives_m2'])}, gana {ha(b['gains_m2'])}, "
                    f"pierde {ha(b['loses_m2'])} frente al límite oficial",
                )
            )
    elif kind == "agreement":
        rows = [("Referencia", d.get("reference") or d.get("source_reference"))]
    elif kind == "decision":
        rows = [("Referencia", d.get("source_reference"))]
        rows += [(party(k), f"recibe {ha(v)}") for k, v in (d.get("parts_m2") or {}).items()]
        if d.get("split_along_official_line"):
            rows.append(("Forma", "división por el límite oficial (INEGI)"))
        rows += [(party(k), f"reclamo nuevo n.º {v}") for k, v in (d.get("claims") or {}).items()]
    elif kind == "status":
        rows = [
            (
                "Cambio",
                f"{STATUS_ES.get(d.get('from', ''), d.get('from'))} → "
                f"{STATUS_ES.get(d.get('to', ''), d.get('to'))}",
            )
        ]
    elif kind == "edit":
        rows = [("Nombre", d.get("name")), ("Notas", d.get("notes"))]
    return [(k, str(v)) for k, v in rows if v not in (None, "", [])]


def dossier_html(
    zone: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    *,
    map_png: bytes | None,
    made_at: datetime,
    claim_sources: Sequence[str] = (),
) -> str:
    """The expediente as HTML.

    Args:
        zone: ``GET /disputes/{id}`` (detail: parties, measures, localities,
            population estimate, inspections, official line).
        events: the whole case file, oldest first (``GET /disputes/{id}/events``).
        map_png: the zone's map drawn by the renderer, or ``None`` (then said so).
        made_at: when it is made (aware); printed in Mexico City time.
        claim_sources: the claims' own sources, credited beside INEGI's.
    """
    names = {p["cvegeo"]: p["name"] for p in zone.get("parties") or []}
    decisions = [e for e in events if e["kind"] == "decision"]
    references = [
        (
            e,
            (e.get("details") or {}).get("reference")
            or (e.get("details") or {}).get("source_reference"),
        )
        for e in events
        if e["kind"] in ("agreement", "decision")
    ]
    return _env.get_template("expediente.html").render(
        zone=zone,
        title=zone.get("name") or f"Zona en disputa {zone['id']}",
        status=STATUS_ES.get(zone["status"], zone["status"]),
        kind=KIND_ES.get(zone["kind"], zone["kind"]),
        events=[
            {
                "title": EVENT_ES.get(e["kind"], e["kind"]),
                "when": when(e.get("occurred_at")),
                "who": e.get("recorded_by"),
                "summary": e.get("summary"),
                "rows": _event_rows(e, names),
            }
            for e in events
        ],
        decision=decisions[-1] if decisions else None,
        decision_rows=_event_rows(decisions[-1], names) if decisions else [],
        decision_when=when(decisions[-1].get("occurred_at")) if decisions else "",
        references=[
            (EVENT_ES[e["kind"]], when(e.get("occurred_at")), ref) for e, ref in references if ref
        ],
        inspections=[
            {**i, "category": category_label(i["category"]), "when": when(i.get("observed_at"))}
            for i in zone.get("inspections") or []
        ],
        map_src="data:image/png;base64," + base64.b64encode(map_png).decode() if map_png else None,
        made=when(made_at),
        sources=[*SOURCES, *(f"Límites reclamados: {s}" for s in claim_sources)],
        ha=ha,
        length=length,
        number=format_number,
    )
