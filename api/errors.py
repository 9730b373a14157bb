"""One JSON shape for every error: ``{"code", "description", "error": {"code", "message",
"details"}}``.

The root ``code`` and ``description`` are what the OGC API - Features exception schema
asks of every error (``code`` required); ``error`` carries the same stable code, the
message and the details by field, as Linde always has.

The HTTP status of each error class is chosen here and nowhere else. A 5xx never
carries a database message or a stack trace: those go to the server log only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError as DBAPIDataError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.catalogue import in_spanish, wants_spanish
from api.concurrency import zone_etag
from geo.errors import (
    Conflict,
    Forbidden,
    Gone,
    ImportRejected,
    InvalidGeometry,
    InvalidInput,
    InvalidParameter,
    LindeError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Problem,
    RendererBusy,
    RendererUnavailable,
    ServiceUnavailable,
    StaleVersion,
    TooManyRequests,
    Unauthenticated,
    UnreadableFile,
)
from layers import failures
from layers.failures import StorageFull

log = logging.getLogger("linde.api")

STATUS: dict[type[LindeError], int] = {
    InvalidParameter: 400,
    InvalidGeometry: 422,
    ImportRejected: 422,
    UnreadableFile: 422,
    InvalidInput: 422,
    NotFound: 404,
    Gone: 410,
    Conflict: 409,
    PreconditionFailed: 412,
    StaleVersion: 412,
    PreconditionRequired: 428,
    Unauthenticated: 401,
    Forbidden: 403,
    TooManyRequests: 429,
    RendererUnavailable: 503,
    ServiceUnavailable: 503,
    StorageFull: 507,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An error body: valid against OGC API - Features' ``exception.yaml`` (root ``code``)
    and carrying Linde's own ``error`` object (code, message, details by field)."""
    return {
        "code": code,
        "description": message,
        "error": {"code": code, "message": message, "details": details or []},
    }


def answer(
    request: Request,
    body: dict[str, Any],
    status_code: int,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The error as JSON, its message in Spanish when ``Accept-Language`` prefers it
    (``api.catalogue``; the pages send ``es-MX``); codes and fields never change."""
    if wants_spanish(request.headers.get("accept-language")):
        body = in_spanish(body)
        headers = {**(headers or {}), "Content-Language": "es-MX"}
    return JSONResponse(body, status_code=status_code, headers=headers)


def status_of(exc: LindeError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def _linde_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LindeError)
    headers = None
    if isinstance(exc, Unauthenticated):
        # Basic is offered back only to a client that tried it (desktop GIS): a page's
        # script would otherwise make the browser pop up its own password dialog
        basic = request.headers.get("authorization", "").lower().startswith("basic")
        headers = {"WWW-Authenticate": 'Basic realm="Linde"' if basic else "Bearer"}
    if isinstance(exc, TooManyRequests | ServiceUnavailable | RendererBusy):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Gone) and exc.history:
        # where its past is read, as a Link header (RFC 8288): the body keeps the one shape
        history = str(request.base_url).rstrip("/") + exc.history
        headers = {"Link": f'<{history}>; rel="version-history"; type="application/geo+json"'}
    problems = exc.problems
    if isinstance(exc, StaleVersion):
        problems = [_stale(request, exc, p) if p.field == "version" else p for p in problems]
    return answer(
        request,
        error_body(exc.code, exc.message, [p.as_dict() for p in problems]),
        status_code=status_of(exc),
        headers=headers,
    )


def _stale(request: Request, exc: StaleVersion, problem: Problem) -> Problem:
    """Over HTTP the version a write expected travels in ``If-Match``: name that field,
    and for a zone the ETag now current, to send instead."""
    zone_id = request.path_params.get("zone_id")
    if problem.reason == "stale" and exc.current_version is not None and zone_id is not None:
        return Problem(
            "If-Match", f"stale: current ETag {zone_etag(int(zone_id), exc.current_version)}"
        )
    return Problem("If-Match", problem.reason)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "header")]
    return ".".join(parts) or "request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": _location(tuple(e.get("loc", ()))), "reason": str(e.get("msg", "invalid"))}
        for e in exc.errors()
    ]
    message = "; ".join(f"{d['field']}: {d['reason']}" for d in details)
    return answer(request, error_body("invalid_input", message, details), status_code=422)


def _routes(routes: Iterable[Any]) -> Iterable[Any]:
    """Every endpoint route, routers included by others unfolded."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        elif getattr(route, "methods", None):
            yield route


def _methods_of(routes: Iterable[Any], path: str) -> set[str]:
    """The methods served at ``path``: by the routes written for exactly that path if
    there are any (``/claims/official`` is not ``/claims/{claim_id}``), else by the
    templated routes matching it."""
    exact: set[str] = set()
    templated: set[str] = set()
    for route in _routes(routes):
        if route.path == path:
            exact |= route.methods
        elif route.path_regex.match(path):
            templated |= route.methods
    return exact or templated


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    message = str(exc.detail)
    if exc.status_code == 405:
        # Starlette names the methods of the first route matching the path only
        allowed = sorted(_methods_of(request.app.router.routes, request.url.path))
        headers["Allow"] = ", ".join(allowed)
        message = f"{request.method} is not allowed here; use {', '.join(allowed)}"
    return answer(request, error_body(code, message), status_code=exc.status_code, headers=headers)


async def _too_large(request: Request, exc: Exception) -> JSONResponse:
    """A number too large for the database's integers (SQLite raises it in Python)."""
    log.info("number out of range on %s %s: %s", request.method, request.url.path, exc)
    return answer(
        request,
        error_body(
            "invalid_input", "a number in the request is too large to be stored or compared"
        ),
        status_code=422,
    )


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refused to store or compare (text holding a NUL character on
    PostgreSQL, a number out of its range): the statement failed, so nothing was written."""
    assert isinstance(exc, DBAPIDataError)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "invalid value"
    log.info("refused value on %s %s: %s", request.method, request.url.path, reason)
    if "NUL" in reason:
        reason = "text may not contain the NUL character (\\u0000)"
    return answer(
        request,
        error_body("invalid_input", f"a value in the request cannot be stored: {reason}"),
        status_code=422,
    )


async def _client_gone(request: Request, _exc: Exception) -> Response:
    """The client hung up while its body was being read (a phone's timeout): nothing was
    written, nobody is listening for an answer, and nothing went wrong on this side."""
    log.info("client went away during %s %s", request.method, request.url.path)
    return Response(status_code=400)


async def _database_failure(request: Request, exc: Exception) -> JSONResponse:
    """A database failure: 503 with Retry-After when the database is unreachable, busy
    or damaged (``layers.failures``); any other is a defect, a 500."""
    explained = failures.explain(exc)
    if explained is None:
        return await _unexpected(request, exc)
    log.warning(
        "%s on %s %s: %s",
        explained.code,
        request.method,
        request.url.path,
        str(getattr(exc, "orig", None) or exc).strip().splitlines()[0],
    )
    return await _linde_error(request, explained)


async def _too_deep(request: Request, exc: Exception) -> JSONResponse:
    """Input nested deeper than Python recurses (a JSON document of 100,000 brackets
    parsed somewhere other than ``api.fields.json_document``): the input's fault."""
    log.info("input nested too deeply on %s %s", request.method, request.url.path)
    return answer(
        request,
        error_body("invalid_input", "the request nests too deeply to be read"),
        status_code=422,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # The server drops the connection after an unhandled error: say so, so the client
    # opens a new one for its next request instead of failing on a dead one.
    return answer(
        request,
        error_body("internal_error", "Linde could not complete the request; the error was logged."),
        status_code=500,
        headers={"Connection": "close"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LindeError, _linde_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIDataError, _unstorable)
    app.add_exception_handler(OverflowError, _too_large)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(RecursionError, _too_deep)
    for failure in (DBAPIError, PoolTimeout, psycopg.Error, psycopg_pool.PoolTimeout):
        app.add_exception_handler(failure, _database_failure)
    for sqlite_failure in failures.SQLITE_ERRORS:
        app.add_exception_handler(sqlite_failure, _database_failure)
    app.add_exception_handler(Exception, _unexpected)
