"""Security headers on every response, and CORS only for the origins configured.

* Every response: ``X-Content-Type-Options: nosniff`` (a JSON or CSV answer is never
  run as a script) and ``Referrer-Policy: strict-origin-when-cross-origin`` (the
  browsers' default, stated: OpenStreetMap's tile servers ask for the origin).
* HTML (pages, collection views): a ``Content-Security-Policy`` that lets the page
  load and call only this service, plus OpenStreetMap's tiles as images;
  ``'unsafe-inline'`` scripts and styles because the pages and Folium's maps are
  written inline. Pages may be framed by this service only.
* Maps (``/maps/…`` HTML): the same, plus ``sandbox allow-scripts``, so a map opened
  on its own runs in an origin of its own (it can read no cookie or storage of this
  service), and ``connect-src 'none'``: a map calls nothing. The pages that show a
  map frame it with ``sandbox="allow-scripts"`` for the same reason. Names on a map
  are data, never code (``maps.payload``); these walls hold even if that failed.
  ``'unsafe-eval'`` only where a map is drawn with leaflet-measure, which compiles
  its templates at run time: the maps and the dispute page, whose frame inherits
  its policy.
* The interactive API docs (``/docs``, ``/redoc``) load only assets Linde ships
  (``api/docs.py``), so the page policy holds for them too, plus ``blob:`` workers for
  ReDoc, which runs its search in a worker made from a blob.
* CORS: closed unless ``LINDE_CORS_ORIGINS`` lists origins; then those origins may
  send the headers Linde reads (Authorization, If-Match…) and read the ones it sets.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

import orjson
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

_TILES = "https://tile.openstreetmap.org https://*.tile.openstreetmap.org"


def _policy(*, script: str, connect: str, form: str, extra: tuple[str, ...] = ()) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {_TILES}",
            "font-src 'self' data:",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form}",
            "frame-ancestors 'self'",
            *extra,
        ]
    )


PAGE_POLICY = _policy(script="'self' 'unsafe-inline'", connect="'self'", form="'self'")
#: eval: leaflet-measure (the dispute map's measure tool) compiles its templates with
#: lodash's Function(); the dispute page's map frame (srcdoc) inherits the page's policy
MAP_PAGE_POLICY = _policy(
    script="'self' 'unsafe-inline' 'unsafe-eval'", connect="'self'", form="'self'"
)
MAP_POLICY = _policy(
    script="'self' 'unsafe-inline' 'unsafe-eval'",
    connect="'none'",
    form="'none'",
    extra=("sandbox allow-scripts",),
)
#: ReDoc builds its search worker from a blob: allowed on the docs pages only
DOCS_POLICY = PAGE_POLICY + "; worker-src 'self' blob:"
_DOCS = ("/docs", "/redoc")


def policy_for(path: str) -> str:
    """The Content-Security-Policy of an HTML answer at ``path``."""
    if path.startswith(_DOCS):
        return DOCS_POLICY
    if path.startswith("/maps/"):
        return MAP_POLICY
    if path.startswith("/disputas/"):
        return MAP_PAGE_POLICY
    return PAGE_POLICY


class SecurityHeaders:
    """Pure ASGI (no per-request task like ``BaseHTTPMiddleware``): it only adds headers
    to the response's start message, and refuses URLs holding a NUL character."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            await _refuse_nul(scope, send)
            return
        policy = policy_for(str(scope["path"]))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = policy
                    headers["X-Frame-Options"] = "SAMEORIGIN"
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse_nul(scope: Scope, send: Send) -> None:
    """No identifier or parameter of Linde holds a NUL character; PostgreSQL cannot even
    compare text holding one, so such a request is refused before it reaches a route."""
    where = "the path"
    for pair in bytes(scope["query_string"]).split(b"&"):
        name, _, value = pair.partition(b"=")
        if b"%00" in value or b"%00" in name:
            where = f"parameter {unquote_plus(name.decode('latin-1'))!r}"
            break
    message = f"{where} holds a NUL character (%00), which no path or parameter may contain"
    field = where.removeprefix("parameter ").strip("'") if where != "the path" else "path"
    body = orjson.dumps(error_body("bad_request", message, [{"field": field, "reason": "NUL"}]))
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, cors_origins: list[str]) -> None:
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "Accept",
            ],
            expose_headers=["ETag", "Location", "Content-Disposition", "Content-Crs"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
