"""Request body size limits, enforced before a byte is parsed.

A body over its route's limit is answered 413 at once when its ``Content-Length``
says so, and otherwise as soon as the bytes read pass the limit (chunked uploads):
a 100 MB JSON body is never buffered, parsed or written anywhere. Limits per route:

* ``POST /inspections/import``: ``max_import_mb`` (the file of a batch import);
* ``POST /inspections`` as multipart (with photos): room for
  ``photos_per_inspection`` photos of ``photo_max_bytes`` each, plus 1 MB;
* any other request with a body: ``max_body_mb`` (JSON documents).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import HTTP_CODES, error_body
from api.settings import AppSettings

MB = 1024 * 1024
_NO_BODY = {"GET", "HEAD", "OPTIONS", "DELETE"}


_HINTS = {
    "max_import_mb": "split the file, or run `linde import inspections FILE` on the server",
    "photo_max_bytes": "send fewer or smaller photos",
    "max_body_mb": "send a smaller document (simplify a very detailed polygon)",
}


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(
            413,
            f"the request body is larger than this endpoint accepts ({limit // MB} MB); "
            f"{_HINTS[setting]}, or raise the limit with LINDE_{setting.upper()}",
        )
        self.limit = limit
        self.setting = setting


def limit_for(
    method: str, path: str, content_type: str, settings: AppSettings
) -> tuple[int, str] | None:
    """The body limit in bytes and the setting that sets it; None when not limited here."""
    if method in _NO_BODY:
        return None
    path = path.rstrip("/")
    if path == "/inspections/import":
        return settings.max_import_mb * MB, "max_import_mb"
    if path == "/inspections" and content_type.startswith("multipart/"):
        room = settings.photos_per_inspection * settings.photo_max_bytes + MB
        return max(room, settings.max_body_mb * MB), "photo_max_bytes"
    return settings.max_body_mb * MB, "max_body_mb"


class BodyLimit:
    """Pure ASGI middleware: counts the body as it is received, whoever reads it."""

    def __init__(self, app: ASGIApp, settings: AppSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = limit_for(
            scope["method"], scope["path"], _header(scope, b"content-type"), self.settings
        )
        if found is None:
            await self.app(scope, receive, send)
            return
        limit, setting = found
        length = _content_length(_header(scope, b"content-length"))
        if length == -1:
            await _answer(send, 400, "Content-Length is not a whole number of bytes")
            return
        if length is not None and length > limit:
            await _answer(send, 413, BodyTooLarge(limit, setting).detail)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit, setting)
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge as exc:  # raised where no handler turned it into a response
            if started:
                raise
            await _answer(send, 413, exc.detail)


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value).decode("latin-1").strip().lower()
    return ""


def _content_length(value: str) -> int | None:
    """The declared length; None when absent, -1 when not a number."""
    if not value:
        return None
    return int(value) if value.isdigit() else -1


async def _answer(send: Send, status: int, message: str) -> None:
    details = [{"field": "body", "reason": message}]
    body = json.dumps(error_body(HTTP_CODES[status], message, details)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
