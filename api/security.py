"""Security headers on every response, and CORS only for the origins configured.

* Every response: ``X-Content-Type-Options: nosniff`` (a JSON or CSV answer is never
  run as a script) and ``Referrer-Policy: strict-origin-when-cross-origin`` (the
  browsers' default, stated: OpenStreetMap's tile servers ask for the origin).
* HTML (pages, collection views, maps): a ``Content-Security-Policy`` that lets the
  page load and call only this service, plus OpenStreetMap's tiles as images;
  ``'unsafe-inline'`` scripts and styles because Folium writes its maps inline, and
  ``'unsafe-eval'`` because leaflet-measure compiles its templates at run time. Pages
  may be framed by this service only (the dispute page frames its map). The
  interactive API docs (``/docs``, ``/redoc``) load only assets Linde ships
  (``api/docs.py``), so the same policy holds for them, plus ``blob:`` workers for
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

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        # inline: Folium writes its maps as inline scripts; eval: leaflet-measure (the
        # dispute map's measure tool) compiles its templates with lodash's Function()
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https://tile.openstreetmap.org "
        "https://*.tile.openstreetmap.org",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
#: ReDoc builds its search worker from a blob: allowed on the docs pages only
DOCS_POLICY = PAGE_POLICY + "; worker-src 'self' blob:"
_DOCS = ("/docs", "/redoc")


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
        policy = DOCS_POLICY if str(scope["path"]).startswith(_DOCS) else PAGE_POLICY

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
