"""Write a backup of a Linde database with its photo and evidence folders, on either engine.

Both copies are consistent snapshots taken while the service keeps running: on
PostgreSQL ``pg_dump`` reads the snapshot of a REPEATABLE READ transaction exported
by Linde, in which the rows are also counted and the photo and evidence lists read; on SQLite the
online backup copies the file page by page under a read lock. The tar is written
under a temporary name and renamed when complete, so a failed backup leaves nothing.
The file's layout is described in ``layers.backup.archive``.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, select, text

from layers.backup.archive import (
    EVIDENCE,
    FORMAT,
    MANIFEST,
    PG_MEMBER,
    PHOTOS,
    SQLITE_MEMBER,
    BackupError,
    BackupReport,
    client_tool,
    count_rows,
    existing_tables,
    libpq_url,
    run_tool,
    schema_revision,
    sha256_file,
    sqlite_copy,
    stored_file_path,
)
from layers.engine import engine_name
from layers.schema import case_events, inspection_photos

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@contextmanager
def _postgres_snapshot(engine: Engine, work: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The whole database dumped from one snapshot, with what was read in that snapshot."""
    pg_dump = client_tool("pg_dump")
    dump = work / PG_MEMBER
    snapshot_conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot_conn as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        facts = {
            "revision": schema_revision(conn),
            "rows": count_rows(conn),
            "photos": _photo_list(conn),
            "evidence": _evidence_list(conn),
        }
        run_tool(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                f"--dbname={libpq_url(engine)}",
            ],
            "pg_dump",
        )
    yield dump, facts


@contextmanager
def _sqlite_snapshot(engine: Engine, work: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    copy = work / SQLITE_MEMBER
    sqlite_copy(engine, copy, into_engine=False)
    # the copy is the snapshot: everything else is read from it
    copy_engine = create_engine(f"sqlite:///{copy}")
    try:
        with copy_engine.connect() as conn:
            facts = {
                "revision": schema_revision(conn),
                "rows": count_rows(conn),
                "photos": _photo_list(conn),
                "evidence": _evidence_list(conn),
            }
    finally:
        copy_engine.dispose()
    yield copy, facts


def _photo_list(conn: Connection) -> list[str]:
    if "inspection_photos" not in existing_tables(conn):
        return []
    return sorted(conn.execute(select(inspection_photos.c.sha256).distinct()).scalars().all())


def _evidence_list(conn: Connection) -> list[str]:
    """The SHA-256 of every file an ``evidence`` event of a case file names."""
    if "case_events" not in existing_tables(conn):
        return []
    found: set[str] = set()
    rows = conn.execute(select(case_events.c.details).where(case_events.c.kind == "evidence"))
    for raw in rows.scalars():
        details = json.loads(raw) if isinstance(raw, str) else raw
        document = details.get("file") if isinstance(details, dict) else None
        sha = document.get("sha256") if isinstance(document, dict) else None
        if isinstance(sha, str) and _SHA256.match(sha):
            found.add(sha)
    return sorted(found)


def _files(
    prefix: str, folder: Path, shas: list[str], members: dict[str, str]
) -> tuple[list[tuple[str, Path]], list[str]]:
    """The files of ``shas`` found in ``folder`` as (member name, path), listed in
    ``members`` with their checksum; and the ones missing from the folder."""
    present: list[tuple[str, Path]] = []
    missing: list[str] = []
    for sha in shas:
        source = stored_file_path(folder, sha)
        if source.is_file():
            name = f"{prefix}/{sha[:2]}/{sha}"
            present.append((name, source))
            members[name] = sha
        else:
            missing.append(sha)
    return present, missing


def backup(
    engine: Engine, path: Path, photos_dir: Path, evidence_dir: Path | None = None
) -> BackupReport:
    """Write a backup of the database behind ``engine``, its photos and its evidence
    files (``evidence_dir``; by default ``evidence`` beside the photos folder, as
    ``Settings.resolved_evidence_dir``) to ``path``.

    Raises:
        BackupError: ``pg_dump`` missing or failing, or ``path`` not writable.
    """
    started = time.perf_counter()
    path = path.expanduser()
    if path.is_dir():
        raise BackupError(f"{path} is a folder; give a file name such as linde-backup.tar")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent}: no such folder")
    kind = engine_name(engine)
    evidence_folder = evidence_dir if evidence_dir is not None else photos_dir.parent / EVIDENCE
    with tempfile.TemporaryDirectory(prefix="linde-backup-", dir=path.parent) as tmp:
        work = Path(tmp)
        snapshot = _postgres_snapshot if kind == "postgis" else _sqlite_snapshot
        with snapshot(engine, work) as (database, facts):
            members: dict[str, str] = {database.name: sha256_file(database)}
            photos, missing = _files(PHOTOS, photos_dir, facts["photos"], members)
            documents, missing_documents = _files(
                EVIDENCE, evidence_folder, facts["evidence"], members
            )
            manifest = {
                "format": FORMAT,
                "engine": kind,
                "revision": facts["revision"],
                "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "rows": facts["rows"],
                "members": members,
                "missing_photos": missing,
                "missing_evidence": missing_documents,
            }
            partial = work / "backup.tar"
            with tarfile.open(partial, "w") as tar:
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(body)
                info.mtime = int(time.time())
                tar.addfile(info, io.BytesIO(body))
                tar.add(database, arcname=database.name)
                for name, source in [*photos, *documents]:
                    tar.add(source, arcname=name)
            os.replace(partial, path)
    return BackupReport(
        path=path,
        engine=kind,
        revision=facts["revision"],
        rows=facts["rows"],
        photos=len(photos),
        missing_photos=missing,
        size_bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
        evidence=len(documents),
        missing_evidence=missing_documents,
    )
