"""Settings read from the environment (prefix ``LINDE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_photos_dir() -> Path:
    """Default folder of inspection photos (per-user data, e.g. ~/.local/share/linde/photos)."""
    return Path(platformdirs.user_data_dir("linde", appauthor=False)) / "photos"


def default_database_path() -> Path:
    """The embedded SpatiaLite file in the per-user data folder (e.g. ~/.local/share/linde)."""
    return Path(platformdirs.user_data_dir("linde", appauthor=False)) / "linde.sqlite"


class Settings(BaseSettings):
    """Linde's configuration.

    ``LINDE_DATABASE_URL`` picks the engine: ``postgresql://…`` uses PostGIS,
    ``sqlite:///path`` a SpatiaLite file; unset, the SpatiaLite file in the
    per-user data folder is used and created on first use.
    """

    model_config = SettingsConfigDict(env_prefix="LINDE_", extra="ignore")

    database_url: str | None = None
    read_database_url: str | None = Field(
        default=None,
        description="Optional PostgreSQL streaming replica (postgresql://…) for reads. "
        "Writes, and a user's reads until the replica has replayed their last write, go "
        "to LINDE_DATABASE_URL (the primary).",
    )
    database_prepared_statements: bool = Field(
        default=True,
        description="Let psycopg prepare hot statements on the server. Turn off (false) "
        "behind PgBouncer in transaction mode older than 1.21, or without "
        "max_prepared_statements: there a statement prepared on one server connection is "
        "missing (or already there) on the next.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Optional Redis (redis://host:6379/0) holding the rate-limit windows "
        "that every worker process and machine must share. Unset: each process keeps its "
        "own, so N workers allow an address N times the limit.",
    )
    spatialite_library: str = Field(
        default="mod_spatialite",
        description="Name or path of the SpatiaLite loadable module.",
    )
    max_vertices: int = Field(
        default=250_000, ge=100, description="Most vertices one imported geometry may have."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Web origins allowed to call the API from a browser (CORS), as a JSON "
        'list: ["https://sig.oaxaca.gob.mx"]. Empty (the default): none, CORS is closed.',
    )
    token_days: int = Field(
        default=365,
        ge=0,
        le=3650,
        description="Days a new token is valid unless another validity is asked; 0: never expires.",
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
    database_timeout_seconds: float = Field(
        default=5,
        gt=0,
        le=60,
        description="Longest wait to connect to PostgreSQL or for a free pooled connection; "
        "beyond it the request gets 503 with Retry-After instead of waiting on.",
    )
    sqlite_busy_seconds: float = Field(
        default=10,
        ge=0,
        le=300,
        description="Longest wait of a SpatiaLite write for another writer to finish; beyond "
        "it a request gets 503 with Retry-After, a command one line (see README, Security).",
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
    max_unzipped_mb: int = Field(
        default=4096,
        ge=1,
        description="Largest total a zip archive given to an import may unpack to, in MB; "
        "an archive claiming more (a zip bomb) is refused before it is opened.",
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

    photos_dir: Path | None = Field(
        default=None,
        description="Folder for inspection photos (named by SHA-256); default: per-user data.",
    )
    photo_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    photos_per_inspection: int = Field(default=10, ge=0)
    review_zip_max_bytes: int = Field(
        default=500 * 1024 * 1024,
        ge=0,
        description="The most the photos of one review export (a ZIP with photos) may weigh.",
    )

    evidence_dir: Path | None = Field(
        default=None,
        description="Folder for case-file documents (named by SHA-256); default: "
        "'evidence' beside the photos folder.",
    )
    evidence_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)

    def resolved_photos_dir(self) -> Path:
        return (self.photos_dir or default_photos_dir()).expanduser()

    def resolved_evidence_dir(self) -> Path:
        if self.evidence_dir is not None:
            return self.evidence_dir.expanduser()
        return self.resolved_photos_dir().parent / "evidence"

    def resolved_logos_dir(self) -> Path:
        """Institution logos for printed maps (``layers.logos``), beside the photos."""
        return self.resolved_photos_dir().parent / "logos"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{default_database_path()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
