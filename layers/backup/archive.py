"""What a Linde backup file is, and what writing and restoring one share.

A backup is one tar file::

    manifest.json            engine, schema revision, when, rows per table, SHA-256 of members
    database.dump            PostGIS: ``pg_dump --format=custom`` of the whole database
    database.sqlite          SpatiaLite: a copy made with SQLite's online backup API
    photos/<sha[:2]>/<sha>   every photo the database refers to
    evidence/<sha[:2]>/<sha> every document attached to a case file (PDFs, images)

Writing lives in ``layers.backup.write``, restoring in ``layers.backup.restore``;
this module holds the member names, the reports, the error, counting rows, the
PostgreSQL client tools and SQLite's online backup, which both sides use.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from geo.errors import LindeError
from layers.schema import metadata

FORMAT = "linde-backup/1"
MANIFEST = "manifest.json"
PG_MEMBER = "database.dump"
SQLITE_MEMBER = "database.sqlite"
PHOTOS = "photos"
EVIDENCE = "evidence"


class BackupError(LindeError):
    """A backup or restore that cannot be done; nothing was changed."""

    code = "backup"


@dataclass
class BackupReport:
    path: Path
    engine: str
    revision: str | None
    rows: dict[str, int]
    photos: int
    missing_photos: list[str]
    size_bytes: int
    seconds: float
    evidence: int = 0
    missing_evidence: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    engine: str
    revision: str | None
    made_at: str
    rows: dict[str, int]
    photos_written: int
    photos_present: int
    upgraded_to: str
    seconds: float
    warnings: list[str] = field(default_factory=list)
    evidence_written: int = 0
    evidence_present: int = 0


def table_names() -> list[str]:
    return [t.name for t in metadata.sorted_tables]


def count_rows(conn: Connection) -> dict[str, int]:
    present = set(existing_tables(conn))
    return {
        name: int(
            conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
        )
        for name in table_names()
        if name in present
    }


def existing_tables(conn: Connection) -> list[str]:
    if conn.dialect.name == "postgresql":
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return [r[0] for r in conn.execute(text(sql))]


def schema_revision(conn: Connection) -> str | None:
    if "alembic_version" not in existing_tables(conn):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stored_file_path(photos_dir: Path, sha: str) -> Path:
    return photos_dir / sha[:2] / sha


def client_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; on Debian/Ubuntu: apt-get install postgresql-client "
            "(of the server's major version or newer)"
        )
    return found


def libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def run_tool(command: list[str], what: str) -> None:
    # the arguments are a tool found on PATH, file paths made here and the configured URL
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' '.join(detail[-3:]) or f'exit {done.returncode}'}")


def _sqlite_connect(source: Any, path: Path) -> Any:
    """A connection to ``path`` made by the same sqlite3 module as ``source``."""
    import importlib

    module = importlib.import_module(type(source).__module__.split(".")[0])
    return module.connect(str(path))


def sqlite_copy(engine: Engine, path: Path, *, into_engine: bool) -> None:
    """SQLite's online backup between the engine's database and the file at ``path``:
    from the file into the database when ``into_engine``, else the other way."""
    raw = engine.raw_connection()
    try:
        mine = raw.driver_connection
        assert mine is not None
        other = _sqlite_connect(mine, path)
        try:
            if into_engine:
                other.backup(mine)
            else:
                mine.backup(other)
        finally:
            other.close()
    finally:
        raw.close()
