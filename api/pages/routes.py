"""The pages, in Spanish, over the same API and tokens.

* ``GET /mapas``: choose a metro zone or a river, layers and dates; preview and download.
* ``GET /disputas/{id}``: the commission's review of a disputed zone: its map beside
  the case file, and the actions the signed-in role allows.
* ``GET /inspecciones/nueva``: the inspectors' phone page; submissions wait on the
  device (IndexedDB) until they are sent, with their own UUID, so a retry never
  duplicates. It is an installable app that opens without signal: its service
  worker, manifest, script and session endpoint are in ``api.pages.inspector_app``.

The person signs in at ``/entrar`` (``api.pages.signin``); the pages then call the
JSON API with the session cookie, which no page script can read, and echo the
session's CSRF token on writes. The API decides what that person may see and do.
``/disputas/{id}`` and ``/inspecciones/nueva`` send a browser without a session to
``/entrar`` and back; ``/mapas`` shows public maps without one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from api.auth import session_of
from api.deps import ConnectionDep
from api.fields import RowId
from api.pages.common import to_sign_in
from api.pages.inspector_app import ACCURACY_WARNING_M
from formats import FORMATS
from geo.disputes import ADMIN_MOVES, MOVES
from geo.river_names import grouped
from geo.river_names import label as river_label
from layers.collections import COLLECTIONS
from layers.maps import map_choices
from layers.river_index import river_entries
from layers.users import Principal
from maps.legend import CATEGORY_LABELS, PARTY_COLORS, STATUS_ES

router = APIRouter(tags=["pages"])
_env = Environment(
    loader=PackageLoader("api.pages", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


#: the layers /mapas offers as data, in its order, as a planner names them
DATA_LAYERS_ES = {
    "municipalities": "Municipios (límite oficial)",
    "metro_zones": "Zona metropolitana (contorno)",
    "claims": "Límites reclamados",
    "rivers": "Ríos",
    "inspections": "Inspecciones de campo",
    "disputed_zones": "Zonas en disputa",
}


def _data_layers(caller: Principal | None) -> list[dict[str, object]]:
    """Each layer with whether this person may read it, and if not, why (in Spanish)."""
    out: list[dict[str, object]] = []
    for key, label in DATA_LAYERS_ES.items():
        role = COLLECTIONS[key].read_role
        readable = role is None or (caller is not None and caller.role.can_act_as(role))
        why = ""
        if not readable:
            why = "requiere sesión" if caller is None else "su rol no la puede leer"
        out.append({"id": key, "label": label, "readable": readable, "why": why})
    return out


@router.get("/mapas", response_class=HTMLResponse, summary="Página de mapas (es-MX)")
def maps_page(request: Request, conn: ConnectionDep) -> HTMLResponse:
    caller = session_of(request)
    choices = map_choices(conn)
    entries = river_entries(conn)
    html = _env.get_template("mapas.html").render(
        caller=caller,
        data_layers=_data_layers(caller),
        formats=list(FORMATS.values()),
        river_groups=[
            {"name": g.name, "rivers": [{"id": r.id, "label": river_label(r)} for r in g.rivers]}
            for g in grouped(entries)
        ],
        river_count=len(entries),
        **choices,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _page(template: str, **values: object) -> HTMLResponse:
    html = _env.get_template(template).render(**values)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


#: the kinds of zone, as the list page names them
KIND_ES = {"overlap": "traslape", "gap": "hueco", "manual": "registrada a mano"}
#: one colour per status on the list map and beside its counts
STATUS_COLOURS = {
    "detected": "#b35806",
    "open": "#d7301f",
    "under_review": "#7b3294",
    "agreement": "#2c7fb8",
    "resolved": "#1a9850",
    "dismissed": "#737373",
}


@router.get("/disputas", response_class=HTMLResponse, summary="Zonas en disputa (es-MX)")
def disputes_page(request: Request, conn: ConnectionDep) -> Response:
    """The commission's list: a map and a table of every zone the person may see, with
    filters, sorting and counts per status (the data from ``GET /disputes-overview``)."""
    caller = session_of(request)
    if caller is None:
        return to_sign_in(request)
    return _page(
        "disputas.html",
        caller=caller,
        status_es=STATUS_ES,
        kind_es=KIND_ES,
        status_colours=STATUS_COLOURS,
        metro_zones=map_choices(conn)["metro_zones"],
    )


@router.get(
    "/disputas/{zone_id}", response_class=HTMLResponse, summary="Revisión de una zona en disputa"
)
def dispute_page(request: Request, zone_id: RowId) -> Response:
    caller = session_of(request)
    if caller is None:
        return to_sign_in(request)
    moves = {k.value: [m.value for m in v] for k, v in MOVES.items()}
    admin_moves = {k.value: [m.value for m in v] for k, v in ADMIN_MOVES.items()}
    return _page(
        "disputa.html",
        caller=caller,
        zone_id=zone_id,
        moves=moves,
        admin_moves=admin_moves,
        status_es=STATUS_ES,
        categories_es=CATEGORY_LABELS,
        party_colors=PARTY_COLORS,
        evidence_max_mb=request.app.state.settings.evidence_max_bytes // (1024 * 1024),
    )


@router.get(
    "/inspecciones/nueva",
    response_class=HTMLResponse,
    summary="Registrar una inspección desde el teléfono (funciona sin señal)",
)
def new_inspection_page(request: Request) -> Response:
    caller = session_of(request)
    if caller is None:
        return to_sign_in(request)
    return _page("inspeccion.html", caller=caller, accuracy_warning_m=ACCURACY_WARNING_M)
