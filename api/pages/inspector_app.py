"""The inspectors' installable app: its service worker, manifest, script, icons and session.

The app is ``/inspecciones/nueva`` (``api.pages.routes``) plus what this module serves
under ``/inspecciones/``, the service worker's scope:

* ``sw.js``: caches a versioned app shell (the page, its script, Leaflet) so that after
  one visit the app opens with no signal. It answers GETs of the shell only and never
  touches a write: a POST goes to the network as if there were no worker. Its version
  is a digest of the shell's files, so any change of the shell installs a new worker;
  the page asks the person before switching, never in the middle of sending the queue.
* ``manifest.webmanifest`` and two PNG icons: the browser can install the app.
* ``app.js``: the page's script (queue in IndexedDB, capture, export and import).
* ``mapa.js``: the map's layers and the offline map pack (``api.pages.offline_map``):
  Linde's own vector tiles drawn by Leaflet.VectorGrid, kept in Cache Storage.
* ``sesion``: the signed-in person's name and current CSRF token, as JSON. A page
  opened from the cache carries the token of the session it was cached in; the queue
  asks here before each round of sends, so a new sign-in is used at once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.auth import session_of
from api.errors import error_body

router = APIRouter(tags=["pages"])

STATIC = Path(__file__).resolve().parent / "static" / "inspecciones"
TEMPLATE = Path(__file__).resolve().parent / "templates" / "inspeccion.html"
LEAFLET = "/maps/static/leaflet-1.9.4"
VECTORGRID = "/maps/static/leaflet.vectorgrid-1.3.0"

#: What the service worker keeps so the app opens without signal.
SHELL = (
    "/inspecciones/nueva",
    "/inspecciones/app.js",
    "/inspecciones/mapa.js",
    "/inspecciones/manifest.webmanifest",
    "/inspecciones/icono-192.png",
    "/inspecciones/icono-512.png",
    f"{LEAFLET}/leaflet.js",
    f"{LEAFLET}/leaflet.css",
    f"{LEAFLET}/images/marker-icon.png",
    f"{LEAFLET}/images/marker-icon-2x.png",
    f"{LEAFLET}/images/marker-shadow.png",
    f"{LEAFLET}/images/layers.png",
    f"{LEAFLET}/images/layers-2x.png",
    f"{VECTORGRID}/Leaflet.VectorGrid.bundled.min.js",
)

#: An accuracy worse than this (metres) is flagged on the phone before sending.
ACCURACY_WARNING_M = 30


def shell_version() -> str:
    """A digest of the shell's own files: it changes whenever the app does."""
    digest = hashlib.sha256()
    for path in (TEMPLATE, *sorted(STATIC.iterdir())):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update("\n".join(SHELL).encode())
    return digest.hexdigest()[:12]


VERSION = shell_version()

_NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/inspecciones/sw.js", include_in_schema=False)
def service_worker() -> Response:
    script = (STATIC / "sw.js").read_text(encoding="utf-8")
    script = script.replace("__VERSION__", VERSION).replace(
        "__SHELL__", ",\n  ".join(f'"{path}"' for path in SHELL)
    )
    return Response(script, media_type="text/javascript", headers=_NO_CACHE)


@router.get("/inspecciones/app.js", include_in_schema=False)
def app_script() -> Response:
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    return Response(script, media_type="text/javascript", headers=_NO_CACHE)


@router.get("/inspecciones/mapa.js", include_in_schema=False)
def map_script() -> Response:
    script = (STATIC / "mapa.js").read_text(encoding="utf-8")
    return Response(script, media_type="text/javascript", headers=_NO_CACHE)


@router.get("/inspecciones/icono-{size}.png", include_in_schema=False)
def icon(size: int) -> Response:
    path = STATIC / f"icono-{size}.png"
    if size not in (192, 512) or not path.exists():
        return JSONResponse(error_body("not_found", "no such icon"), status_code=404)
    return Response(path.read_bytes(), media_type="image/png", headers=_NO_CACHE)


@router.get("/inspecciones/manifest.webmanifest", include_in_schema=False)
def manifest() -> JSONResponse:
    body = {
        "name": "Linde · Inspecciones",
        "short_name": "Inspecciones",
        "description": "Registrar inspecciones en campo, con o sin señal.",
        "lang": "es-MX",
        "start_url": "/inspecciones/nueva",
        "scope": "/inspecciones/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#9c2a3c",
        "icons": [
            {"src": f"/inspecciones/icono-{s}.png", "sizes": f"{s}x{s}", "type": "image/png"}
            for s in (192, 512)
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json", headers=_NO_CACHE)


@router.get("/inspecciones/sesion", include_in_schema=False)
def current_session(request: Request) -> JSONResponse:
    """The person of this browser's session and its CSRF token (401 without one)."""
    caller = session_of(request)
    if caller is None:
        return JSONResponse(
            error_body("unauthenticated", "sign in at /entrar"),
            status_code=401,
            headers={"Cache-Control": "no-store"},
        )
    return JSONResponse(
        {"name": caller.name, "role": caller.role.value, "csrf_token": caller.csrf_token},
        headers={"Cache-Control": "no-store"},
    )
