"""How every OGC API answer is served: change counters read on the event loop, an ETag
from them, 304 or a cached body when possible, and the query built and rendered in a
worker thread only on a miss. Shared by the features, versions and tiles routes.

Two orders of work:

* :func:`respond`: the counters first (one read shared by the requests waiting at the
  same moment), then a 304, a cached body, or a body built on a cache miss;
* :func:`respond_fresh`: when neither a 304 nor the cache can answer (no
  ``If-None-Match``, no body held for the URL), the body and the counters in one
  statement on the event loop (``layers.queries.rendered``), a round trip fewer; the
  ETag is then of the very snapshot the body was read in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Connection

from api.deps import HeldConnection, read_target
from api.ogc.cache import Cached, ResponseCache, etag, matches, resource_key
from api.ogc.render import JSON, dumps
from geo.errors import InvalidInput, InvalidParameter
from layers import collections as registry
from layers.collections import COLLECTIONS, Collection
from layers.engine import on_read_connection
from layers.queries import items as item_queries


def scoped(request: Request, q: item_queries.ItemsQuery) -> item_queries.ItemsQuery:
    """``q`` limited to the rows the caller reaches (set by ``readable_collection``)."""
    rows = getattr(request.state, "rows", None)
    return q if rows is None or rows.everything else replace(q, rows=rows)


def cacheable_version(request: Request, version: str | None) -> str | None:
    """A caller who reaches only some rows gets an answer of their own: never cached."""
    rows = getattr(request.state, "rows", None)
    return version if rows is None or rows.everything else None


def response_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.response_cache
    return cache


@contextmanager
def as_parameter_errors() -> Iterator[None]:
    """Input problems found while building a query are a 400 about a parameter."""
    try:
        yield
    except InvalidParameter:
        raise
    except InvalidInput as exc:
        raise InvalidParameter(exc.message, problems=exc.problems) from exc


async def counters(request: Request) -> list[tuple[str, int]]:
    """The layers' change counters, read on the event loop: without blocking it on
    PostgreSQL (``AsyncReader``; requests waiting at the same moment share one read,
    see ``SharedCounterReads``), on a connection held only for them on SQLite. With a
    read replica, from the database this request reads (``api.replica``)."""
    target = read_target(request)
    shared: registry.SharedCounterReads | None = request.app.state.counter_reads
    if shared is not None and target.reader is shared.reader:
        return await shared.read()
    if target.reader is not None:
        return await registry.counters_async(target.reader, target.engine)
    async with HeldConnection(request) as conn:
        return registry.counters(conn)


async def collection_version(request: Request, c: Collection) -> str | None:
    return registry.versions(await counters(request), c)


async def respond(
    request: Request,
    version: str | None,
    build: Callable[[Connection], Cached],
    *,
    private: bool,
    cache: ResponseCache | None = None,
    build_async: Callable[[], Awaitable[Cached]] | None = None,
) -> Response:
    """Serve ``build(conn)``'s body with an ETag; 304 or a cached body when possible.

    The change counters (``version``) were read on the event loop; only a cache miss
    takes a connection (within the loop's connection slots) and goes to a worker
    thread to query and render. A hit or a 304 takes none. ``cache``: another cache
    than the responses' (vector tiles keep their own, so neither evicts the other).
    ``build_async``: a miss is built by it instead, on the event loop, without a
    connection slot or a thread (a read through the ``AsyncReader``).
    """
    negotiated = request.headers.get("accept", "")
    headers = _headers(private)
    # the body is read from the database the counters came from, so a lagging replica's
    # body is never stored under the primary's newer ETag
    engine = read_target(request).engine
    slots: asyncio.Semaphore = request.app.state.connection_slots
    if version is None:  # no change counters: nothing can be cached safely
        if build_async is not None:
            fresh = await build_async()
        else:
            async with slots:
                fresh = await run_in_threadpool(on_read_connection, engine, build)
        return Response(
            fresh.body, media_type=fresh.media_type, headers=headers | dict(fresh.headers)
        )
    tag = etag(version, str(request.url), negotiated)
    headers["ETag"] = tag
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    cache = cache if cache is not None else response_cache(request)
    resource = resource_key(str(request.url), negotiated)
    entry = cache.get(resource, tag)
    if entry is None:
        if build_async is not None:
            entry = await build_async()
        else:
            async with slots:
                entry = await run_in_threadpool(on_read_connection, engine, build)
        cache.offer(resource, tag, entry)
    return Response(entry.body, media_type=entry.media_type, headers=headers | dict(entry.headers))


def _headers(private: bool) -> dict[str, str]:
    return {
        "Vary": "Accept, Authorization, Cookie",
        "Cache-Control": ("private" if private else "public") + ", no-cache",
    }


Counters = list[tuple[str, int]]


async def respond_fresh(
    request: Request,
    c: Collection,
    build: Callable[[Connection], Cached],
    fetch: Callable[[], Awaitable[tuple[Cached, Counters]]] | None,
) -> Response:
    """Serve a read of collection ``c``: by ``fetch()`` (body and counters in one
    statement, on the event loop) when no 304 or cached body can answer, else as
    :func:`respond` does with ``build``.

    ``fetch`` None: always :func:`respond`. The ETag, the headers and what the cache
    is offered are the same either way.
    """
    private = c.read_role is not None
    if fetch is None or "if-none-match" in request.headers:
        version = cacheable_version(request, await collection_version(request, c))
        return await respond(request, version, build, private=private)
    cache = response_cache(request)
    negotiated = request.headers.get("accept", "")
    url = str(request.url)
    resource = resource_key(url, negotiated)
    if cache.holds(resource):  # a body may be served from memory: the counters first
        version = cacheable_version(request, await collection_version(request, c))
        return await respond(request, version, build, private=private)
    entry, counted = await fetch()
    headers = _headers(private)
    version = cacheable_version(request, registry.versions(counted, c))
    if version is not None:
        tag = etag(version, url, negotiated)
        headers["ETag"] = tag
        cache.offer(resource, tag, entry)
    return Response(entry.body, media_type=entry.media_type, headers=headers | dict(entry.headers))


def json_body(value: Any, media_type: str = JSON, **headers: str) -> Cached:
    return Cached(dumps(value), media_type, tuple(headers.items()))


def html_body(body: str) -> Cached:
    return Cached(body.encode(), "text/html; charset=utf-8", ())


async def all_versions(request: Request) -> str | None:
    counted = await counters(request)
    parts = [registry.versions(counted, c) for c in COLLECTIONS.values()]
    return None if any(p is None for p in parts) else "|".join(p or "" for p in parts)
