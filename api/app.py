"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from api import errors, openapi, security
from api.limits import BodyLimit
from api.ogc.cache import ResponseCache
from api.pages import routes as pages
from api.routes import (
    claims,
    collections,
    disputes,
    health,
    inspections,
    lookup,
    maps,
    tiles,
    users,
)
from api.throttle import SignInThrottle
from api.tokens import TokenCache
from layers import migrate
from layers.collections import SharedCounterReads
from layers.engine import (
    POOL_CAPACITY,
    TILE_READ_CONNECTIONS,
    TILE_READS_NAME,
    AsyncReader,
    make_engine,
)
from layers.settings import Settings, get_settings
from maps.assets import STATIC_DIR
from maps.renderer import Renderer

#: pool connections kept for streamed downloads, which outlive their request
DOWNLOAD_CONNECTIONS = 5


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app. The engine is made (and migrated) at start-up unless one is given.

    Every worker process holds only its own connection pool; nothing is shared in
    memory, so processes can be added behind a load balancer.
    """
    settings = settings or get_settings()

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
        app.state.async_reader = AsyncReader.for_engine(app.state.engine)
        app.state.counter_reads = (
            SharedCounterReads(app.state.async_reader, app.state.engine)
            if app.state.async_reader is not None
            else None
        )
        app.state.tile_reader = AsyncReader.for_engine(
            app.state.engine, TILE_READ_CONNECTIONS, TILE_READS_NAME
        )
        for reader in (app.state.async_reader, app.state.tile_reader):
            if reader is not None:
                await reader.open()
        try:
            yield
        finally:
            for reader in (app.state.async_reader, app.state.tile_reader):
                if reader is not None:
                    await reader.close()
            app.state.renderer.close()
            if own:
                app.state.engine.dispose()

    app = FastAPI(
        title="Linde",
        summary="Límites metropolitanos de México: límites oficiales y reclamados, zonas en "
        "disputa, inspecciones en ríos.",
        version="0.1.0",
        lifespan=lifespan,
    )
    errors.install(app)
    app.state.settings = settings
    app.state.response_cache = ResponseCache(settings.response_cache_mb * 1024 * 1024)
    app.state.tile_cache = ResponseCache(settings.tile_cache_mb * 1024 * 1024)
    app.state.signin_throttle = SignInThrottle(settings.failed_signins_per_minute)
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    # one headless Chromium per worker, started on the first PNG/PDF and reused
    app.state.renderer = Renderer(
        pages=settings.render_pages, queue=settings.render_queue, wait_s=settings.render_wait_s
    )
    # innermost first: the security headers and CORS wrap the body limit's 413 too
    app.add_middleware(BodyLimit, settings=settings)
    security.install(app, settings.cors_origins)
    openapi.install(app)
    for module in (
        collections,
        tiles,
        health,
        lookup,
        claims,
        disputes,
        inspections,
        users,
        maps,
        pages,
    ):
        app.include_router(module.router)
    # Leaflet and its plugins, shipped in the package: maps never depend on a CDN
    app.mount(maps.STATIC_URL, StaticFiles(directory=STATIC_DIR), name="map-assets")
    return app
