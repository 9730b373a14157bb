"""Storage settings read from the environment (prefix ``LINDE_``): database, engines, folders,
import limits, token lifetime. The API's own (CORS, caches, body limits, sessions, throttles,
renderer) are ``api.settings``; ``extra="forbid"`` makes passing one of those here an error."""

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

    model_config = SettingsConfigDict(env_prefix="LINDE_", extra="forbid")

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
    token_days: int = Field(
        default=365,
        ge=0,
        le=3650,
        description="Days a new token is valid unless another validity is asked; 0: never expires.",
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

    max_unzipped_mb: int = Field(
        default=4096,
        ge=1,
        description="Largest total a zip archive given to an import may unpack to, in MB; "
        "an archive claiming more (a zip bomb) is refused before it is opened.",
    )

    photos_dir: Path | None = Field(
        default=None,
        description="Folder for inspection photos (named by SHA-256); default: per-user data.",
    )

    evidence_dir: Path | None = Field(
        default=None,
        description="Folder for case-file documents (named by SHA-256); default: "
        "'evidence' beside the photos folder.",
    )

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
