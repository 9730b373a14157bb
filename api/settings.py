"""The API's settings (prefix ``LINDE_``), apart from storage's (``layers.settings``).

One class per concern, as tipg has them: ``ApiSettings`` holds what only the served
app reads (CORS, the caches, body and upload limits, sessions, throttles, the map
renderer, what a page inlines); ``layers.settings.Settings`` keeps what storage, the
importers and the command line read (database, engines, folders, geometry limits,
token lifetime). ``AppSettings`` is both: what ``create_app`` takes.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from layers.settings import Settings


class ApiSettings(BaseSettings):
    """What the HTTP API reads: CORS, caches, body limits, sessions, throttles, renderer."""

    model_config = SettingsConfigDict(env_prefix="LINDE_", extra="forbid")

    cors_origins: list[str] = Field(
        default_factory=list,
        description="Web origins allowed to call the API from a browser (CORS), as a JSON "
        'list: ["https://sig.oaxaca.gob.mx"]. Empty (the default): none, CORS is closed.',
    )
    token_cache_seconds: float = Field(
        default=0,
        ge=0,
        le=300,
        description="Seconds a worker remembers who a token belongs to. 0 (the default): "
        "every request asks the database, so a revoked token, a disabled or re-scoped "
        "user stops at once on every worker. Above 0, a token revoked elsewhere (the CLI, "
        "another worker) keeps working here for up to this long.",
    )
    failed_signins_per_minute: int = Field(
        default=30,
        ge=0,
        description="Failed sign-ins (wrong token, password or session) one client address "
        "may make per minute; beyond it, that address's guesses get 429 until the minute "
        "has passed. A right token still passes. 0 turns it off.",
    )
    failed_signins_per_name_per_minute: int = Field(
        default=10,
        ge=0,
        description="Wrong passwords for one user name from one address per minute; "
        "beyond it, that name from that address gets 429. Other addresses are not "
        "affected, so an attacker cannot lock a person out. 0 turns it off.",
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, description="A browser session ends after this long unused."
    )
    session_hours: int = Field(
        default=12, ge=1, description="A browser session ends this long after sign-in, used or not."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of the reverse proxies whose X-Forwarded-For / "
        'X-Forwarded-Proto Linde believes, as a JSON list: ["10.0.0.5"]. Empty (the '
        "default): none, not even loopback; the client address is the connection's.",
    )
    response_cache_mb: int = Field(
        default=64,
        ge=0,
        description="Memory per worker for rendered OGC API responses; 0 turns the cache off.",
    )
    tile_cache_mb: int = Field(
        default=64,
        ge=0,
        description="Memory per worker for vector tiles, apart from other responses so "
        "neither evicts the other; 0 turns it off.",
    )
    map_cache_mb: int = Field(
        default=64,
        ge=0,
        description="Memory per worker for drawn maps (GET /maps/...: HTML, PNG, PDF), kept "
        "while the layers each one read are unchanged; 0 turns it off.",
    )
    map_inline_max_features: int = Field(
        default=300,
        ge=0,
        description="A page's map draws a layer of more features than this from Linde's "
        "vector tiles instead of inline GeoJSON (files always inline); see maps.vector_tiles.",
    )
    map_inline_max_vertices: int = Field(
        default=100_000,
        ge=0,
        description="Likewise for a layer of more vertices than this.",
    )
    count_cap: int = Field(
        default=100_000,
        ge=1,
        description="numberMatched is counted up to this many features and left out above it.",
    )
    exports_at_once: int = Field(
        default=4,
        ge=1,
        le=5,
        description="Downloads (f=csv, gpkg …) one worker prepares or sends at once; "
        "beyond it a download gets 503 with Retry-After. At most 5: the pool keeps "
        "5 connections for them (api.app.DOWNLOAD_CONNECTIONS).",
    )
    exports_per_client: int = Field(
        default=2,
        ge=1,
        description="Downloads one client address may have under way at once (503 beyond).",
    )
    export_stall_seconds: float = Field(
        default=60,
        gt=0,
        description="A download whose client reads nothing for this long is cut off "
        "(its connection closed, its temporary file removed).",
    )
    max_body_mb: int = Field(
        default=16,
        ge=1,
        description="Largest JSON request body in MB (a full-detail municipality is ~3 MB); "
        "a larger one gets 413 before it is read.",
    )
    max_import_mb: int = Field(
        default=64,
        ge=1,
        description="Largest file a batch import over HTTP may upload, in MB (larger files: "
        "`linde import inspections` on the server).",
    )
    render_pages: int = Field(
        default=2,
        ge=1,
        le=32,
        description="PNG/PDF maps drawn at once per worker (each a page of the one headless "
        "Chromium the worker keeps; about 100-200 MB each).",
    )
    render_queue: int = Field(
        default=6,
        ge=0,
        description="PNG/PDF requests that may wait for a free page; more get 503 with "
        "Retry-After at once.",
    )
    render_wait_s: float = Field(
        default=20,
        gt=0,
        le=300,
        description="Seconds a queued PNG/PDF request waits for a page before it gets 503.",
    )
    photo_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    photos_per_inspection: int = Field(default=10, ge=0)
    review_zip_max_bytes: int = Field(
        default=500 * 1024 * 1024,
        ge=0,
        description="The most the photos of one review export (a ZIP with photos) may weigh.",
    )
    evidence_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)


class AppSettings(Settings, ApiSettings):
    """The served app's settings: storage's and the API's, read from the same
    environment (``LINDE_…``)."""

    model_config = SettingsConfigDict(env_prefix="LINDE_", extra="forbid")


def app_settings(settings: Settings | None) -> AppSettings:
    """``settings`` with the API's own read from the environment when only storage's
    were given (``create_app(Settings(database_url=…))``)."""
    if settings is None:
        return AppSettings()
    if isinstance(settings, AppSettings):
        return settings
    return AppSettings(**settings.model_dump(exclude_unset=True))


@lru_cache
def get_app_settings() -> AppSettings:
    return AppSettings()
