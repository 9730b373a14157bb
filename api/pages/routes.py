"""``GET /mapas``: choose a metro zone or a river, layers and dates; preview and download.

The page itself is public, as are metro zones and rivers. A planner pastes a token
(kept in the browser's session storage only) to see inspection points and to
download them; the page sends it as ``Authorization: Bearer`` to the same API.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from api.deps import ConnectionDep
from layers.maps import map_choices

router = APIRouter(tags=["pages"])
_env = Environment(
    loader=PackageLoader("api.pages", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@router.get("/mapas", response_class=HTMLResponse, summary="Página de mapas (es-MX)")
def maps_page(conn: ConnectionDep) -> HTMLResponse:
    choices = map_choices(conn)
    html = _env.get_template("mapas.html").render(**choices)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
