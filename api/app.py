"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send

from api import docs, errors, openapi, security
from api.auth import BasicMemory
from api.downloads import TRANSPORT_KEY, ExportSlots
from api.limits import BodyLimit
from api.ogc.cache import ResponseCache
from api.pages import admin as admin_pages
from api.pages import inspector_app, offline_map, signin
from api.pages import review as review_page
from api.pages import routes as pages
from api.replica import ReadReplica
from api.routes import (
    claims,
    collections,
    decisions,
    disputes,
    evidence,
    health,
    inspections,
    logos,
    lookup,
    maps,
    review,
    river_choices,
    tiles,
    users,
    versions,
)
from api.settings import AppSettings, app_settings
from api.store import limits_storage
from api.throttle import SignInThrottle
from api.tokens import TokenCache
from geo.errors import InvalidInput
from layers import migrate
from layers.clock import SYSTEM_CLOCK, Clock
from layers.collections import SharedCounterReads
from layers.engine import (
    FEATURE_READ_CONNECTIONS,
    FEATURE_READS_NAME,
    POOL_CAPACITY,
    TILE_READ_CONNECTIONS,
    TILE_READS_NAME,
    AsyncReader,
    engine_name,
    make_engine,
)
from layers.settings import Settings, get_settings
from layers.tile_changes import ChangeLogs
from maps.assets import STATIC_DIR
from maps.renderer import Renderer

#: pool connections kept for downloads (``LINDE_EXPORTS_AT_ONCE`` may not exceed it)
DOWNLOAD_CONNECTIONS = 5


def proxy_options(settings: AppSettings) -> dict[str, Any]:
    """uvicorn's options for proxy headers: believed only from ``LINDE_TRUSTED_PROXIES``.

    Empty (the default), ``X-Forwarded-For``/``-Proto`` are ignored from everyone, loopback
    included: otherwise any local process, or a proxy that passes the header through,
    could pick the address the sign-in throttle counts.
    """
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}


class Linde(FastAPI):
    """FastAPI, keeping the server's transport in the scope of each HTTP request, so a
    download can drop a client that stopped reading (``api.downloads``); uvicorn's
    ``send`` is a method of the object that holds it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            owner = getattr(send, "__self__", None)
            scope[TRANSPORT_KEY] = getattr(owner, "transport", None)
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, clock: Clock = SYSTEM_CLOCK
) -> FastAPI:
    """Build the app. The engine is made (and migrated) at start-up unless one is given.

    ``clock`` is the time that token and session expiry and the token memory read (a
    test passes one it moves by hand).

    Every worker process holds only its own connection pool; nothing is shared in
    memory, so processes can be added behind a load balancer.
    """
    settings = app_settings(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        app.state.engine = engine or make_engine(settings=settings)
        # Requests holding a connection at once, checked out on the event loop: fewer
        # than the pool holds, so a checkout there never waits; the rest of the pool
        # serves work in threads (streamed downloads open their own connection).
        app.state.connection_slots = asyncio.Semaphore(POOL_CAPACITY - DOWNLOAD_CONNECTIONS)
        migrate.upgrade(app.state.engine)
        # hot reads on the event loop that do not block it (PostgreSQL; None on SQLite)
        app.state.async_reader = AsyncReader.for_engine(app.state.engine, settings)
        app.state.counter_reads = (
            SharedCounterReads(app.state.async_reader, app.state.engine)
            if app.state.async_reader is not None
            else None
        )
        app.state.tile_reader = AsyncReader.for_engine(
            app.state.engine, settings, TILE_READ_CONNECTIONS, TILE_READS_NAME
        )
        # feature pages and single features read on the event loop (layers.queries.rendered)
        app.state.page_reader = AsyncReader.for_engine(
            app.state.engine, settings, FEATURE_READ_CONNECTIONS, FEATURE_READS_NAME
        )
        own_readers = (app.state.async_reader, app.state.tile_reader, app.state.page_reader)
        for reader in own_readers:
            if reader is not None:
                await reader.open()
        (
            app.state.read_engine,
            app.state.read_async_reader,
            app.state.read_page_reader,
        ) = await open_replica(
            settings, app.state.engine, app.state.async_reader, app.state.page_reader
        )
        try:
            yield
        finally:
            if settings.read_database_url:
                await app.state.read_async_reader.close()
                await app.state.read_page_reader.close()
                app.state.read_engine.dispose()
            for reader in own_readers:
                if reader is not None:
                    await reader.close()
            app.state.renderer.close()
            if own:
                app.state.engine.dispose()

    app = Linde(
        title="Linde",
        summary="Límites metropolitanos de México: límites oficiales y reclamados, zonas en "
        "disputa, inspecciones en ríos.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from vendored assets by api.docs, not from a CDN
        redoc_url=None,
    )
    errors.install(app)
    app.state.settings = settings
    app.state.response_cache = ResponseCache(settings.response_cache_mb * 1024 * 1024)
    app.state.tile_cache = ResponseCache(settings.tile_cache_mb * 1024 * 1024)
    # a drawn map costs up to seconds of Chromium: kept from its first drawing
    app.state.map_cache = ResponseCache(settings.map_cache_mb * 1024 * 1024, min_uses=1)
    app.state.tile_changes = ChangeLogs()
    app.state.signin_throttle = SignInThrottle(
        settings.failed_signins_per_minute,
        settings.failed_signins_per_name_per_minute,
        limits_storage(settings),
    )
    app.state.clock = clock
    app.state.token_cache = TokenCache(settings.token_cache_seconds, clock=clock)
    app.state.basic_memory = BasicMemory()
    # one headless Chromium per worker, started on the first PNG/PDF and reused
    app.state.renderer = Renderer(
        pages=settings.render_pages, queue=settings.render_queue, wait_s=settings.render_wait_s
    )
    app.state.integrity_watch = health.IntegrityWatch()
    app.state.export_slots = ExportSlots(settings.exports_at_once, settings.exports_per_client)
    if settings.read_database_url:
        app.add_middleware(ReadReplica)
    # innermost first: the security headers and CORS wrap the body limit's 413 too
    app.add_middleware(BodyLimit, settings=settings)
    security.install(app, settings.cors_origins)
    openapi.install(app)
    for module in (
        collections,
        tiles,
        versions,
        health,
        lookup,
        claims,
        disputes,
        evidence,
        decisions,
        inspections,
        review,
        users,
        maps,
        logos,
        river_choices,
        pages,
        signin,
        admin_pages,
        inspector_app,
        offline_map,
        review_page,
    ):
        app.include_router(module.router)
    docs.install(app)  # /docs and /redoc, offline
    # Leaflet and its plugins, shipped in the package: maps never depend on a CDN
    app.mount(maps.STATIC_URL, StaticFiles(directory=STATIC_DIR), name="map-assets")
    return app


async def open_replica(
    settings: Settings,
    primary: Engine,
    primary_reader: AsyncReader | None,
    primary_pages: AsyncReader | None = None,
) -> tuple[Engine, AsyncReader | None, AsyncReader | None]:
    """The read replica's engine and event-loop readers (short reads, features); the
    primary's without one.

    Raises:
        InvalidInput: a replica configured beside SpatiaLite, or not PostgreSQL.
    """
    if not settings.read_database_url:
        return primary, primary_reader, primary_pages
    replica = make_engine(settings.read_database_url, settings)
    if engine_name(primary) != "postgis" or engine_name(replica) != "postgis":
        replica.dispose()
        raise InvalidInput(
            "LINDE_READ_DATABASE_URL is a PostgreSQL streaming replica of a PostgreSQL "
            "LINDE_DATABASE_URL; SpatiaLite has no replicas (unset it)"
        )
    reader = AsyncReader(replica, settings)
    pages = AsyncReader(replica, settings, FEATURE_READ_CONNECTIONS, FEATURE_READS_NAME)
    await reader.open()
    await pages.open()
    return replica, reader, pages
