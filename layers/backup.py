"""Backup and restore of a Linde database with its photo and evidence folders, on either engine.

A backup is one tar file::

    manifest.json            engine, schema revision, when, rows per table, SHA-256 of members
    database.dump            PostGIS: ``pg_dump --format=custom`` of the whole database
    database.sqlite          SpatiaLite: a copy made with SQLite's online backup API
    photos/<sha[:2]>/<sha>   every photo the database refers to
    evidence/<sha[:2]>/<sha> every document attached to a case file (PDFs, images)

Both copies are consistent snapshots taken while the service keeps running: on
PostgreSQL ``pg_dump`` reads the snapshot of a REPEATABLE READ transaction exported
by Linde, in which the rows are also counted and the photo and evidence lists read; on SQLite the
online backup copies the file page by page under a read lock. The tar is written
under a temporary name and renamed when complete, so a failed backup leaves nothing.

Restore checks the whole file before touching the target (every member's checksum,
the engine, a schema revision this Linde knows), refuses a target that holds data
unless told to replace it, writes the photos and evidence files (content-addressed:
existing files are kept), then replaces the database in one transaction (``pg_restore
--single-transaction --clean``; SQLite's backup API into the target) and checks
every table's row count against the manifest. Layer change counters are then moved
past both their restored and their previous values, so no cached answer or ETag from
before the restore can be served as current, and the restore is recorded in the
audit trail.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, func, select, text, update

from geo.errors import LindeError, Problem
from layers import audit, migrate
from layers.engine import engine_name
from layers.schema import case_events, inspection_photos, layer_versions, metadata

FORMAT = "linde-backup/1"
MANIFEST = "manifest.json"
PG_MEMBER = "database.dump"
SQLITE_MEMBER = "database.sqlite"
PHOTOS = "photos"
EVIDENCE = "evidence"
#: tables whose rows do not make a database "hold data": made by the migrations
_SEEDED = {"layer_versions", "inspection_categories", "layer_changes"}
#: A compressed backup may unpack to at most this many times its size: Linde writes
#: plain tars, the database copy packs a few times, photos not at all; a gzip bomb
#: packs zeros a thousand times.
MAX_UNPACK_RATIO = 100
#: Room left free on the disk the backup is unpacked on.
UNPACK_MARGIN_BYTES = 64 * 1024 * 1024
_FILE_MEMBER = re.compile(rf"^(?:{PHOTOS}|{EVIDENCE})/([0-9a-f]{{2}})/([0-9a-f]{{64}})$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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


def _tables() -> list[str]:
    return [t.name for t in metadata.sorted_tables]


def _count_rows(conn: Connection) -> dict[str, int]:
    present = set(_existing_tables(conn))
    return {
        name: int(
            conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
        )
        for name in _tables()
        if name in present
    }


def _existing_tables(conn: Connection) -> list[str]:
    if conn.dialect.name == "postgresql":
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return [r[0] for r in conn.execute(text(sql))]


def _revision(conn: Connection) -> str | None:
    if "alembic_version" not in _existing_tables(conn):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _photo_path(photos_dir: Path, sha: str) -> Path:
    return photos_dir / sha[:2] / sha


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; on Debian/Ubuntu: apt-get install postgresql-client "
            "(of the server's major version or newer)"
        )
    return found


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], what: str) -> None:
    # the arguments are a tool found on PATH, file paths made here and the configured URL
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' '.join(detail[-3:]) or f'exit {done.returncode}'}")


# --- backup -------------------------------------------------------------------------------


@contextmanager
def _postgres_snapshot(engine: Engine, work: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The whole database dumped from one snapshot, with what was read in that snapshot."""
    pg_dump = _tool("pg_dump")
    dump = work / PG_MEMBER
    snapshot_conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot_conn as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        facts = {
            "revision": _revision(conn),
            "rows": _count_rows(conn),
            "photos": _photo_list(conn),
            "evidence": _evidence_list(conn),
        }
        _run(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                f"--dbname={_libpq_url(engine)}",
            ],
            "pg_dump",
        )
    yield dump, facts


@contextmanager
def _sqlite_snapshot(engine: Engine, work: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    copy = work / SQLITE_MEMBER
    _sqlite_copy(engine, copy, into_engine=False)
    # the copy is the snapshot: everything else is read from it
    copy_engine = create_engine(f"sqlite:///{copy}")
    try:
        with copy_engine.connect() as conn:
            facts = {
                "revision": _revision(conn),
                "rows": _count_rows(conn),
                "photos": _photo_list(conn),
                "evidence": _evidence_list(conn),
            }
    finally:
        copy_engine.dispose()
    yield copy, facts


def _sqlite_connect(source: Any, path: Path) -> Any:
    """A connection to ``path`` made by the same sqlite3 module as ``source``."""
    import importlib

    module = importlib.import_module(type(source).__module__.split(".")[0])
    return module.connect(str(path))


def _photo_list(conn: Connection) -> list[str]:
    if "inspection_photos" not in _existing_tables(conn):
        return []
    return sorted(conn.execute(select(inspection_photos.c.sha256).distinct()).scalars().all())


def _evidence_list(conn: Connection) -> list[str]:
    """The SHA-256 of every file an ``evidence`` event of a case file names."""
    if "case_events" not in _existing_tables(conn):
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
        source = _photo_path(folder, sha)
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
            members: dict[str, str] = {database.name: _sha256_file(database)}
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


# --- restore ------------------------------------------------------------------------------


def _read_backup(path: Path, work: Path) -> dict[str, Any]:
    """Unpack ``path`` into ``work`` and return its manifest, every member checked."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with tarfile.open(path, "r:*") as tar:
            try:
                manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            except (KeyError, AttributeError, ValueError):
                raise BackupError(
                    f"{path} is not a Linde backup (no readable {MANIFEST}); "
                    "make one with `linde backup FILE`"
                ) from None
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}")
            members: dict[str, str] = manifest.get("members") or {}
            names = set(tar.getnames())
            unexpected = names - set(members) - {MANIFEST}
            if unexpected:
                raise BackupError(
                    f"{path} holds files the manifest does not list: {sorted(unexpected)[:3]}"
                )
            for name, sha in members.items():
                if name not in names:
                    raise BackupError(f"{path} is incomplete: {name} is missing")
                if name.startswith("/") or ".." in Path(name).parts:
                    raise BackupError(f"{path}: member {name!r} would land outside its folder")
                _check_member_name(path, name, sha)
            _check_unpacked_size(path, tar, work)
            for name, sha in members.items():
                tar.extract(name, work, filter="data")
                if _sha256_file(work / name) != sha:
                    raise BackupError(
                        f"{path} is damaged: {name} does not match its checksum; use another backup"
                    )
    except tarfile.TarError as exc:
        raise BackupError(f"{path} is not a readable tar file: {exc}") from None
    return manifest


def _check_member_name(path: Path, name: str, sha: str) -> None:
    """A member is the manifest, the database copy, or a photo or evidence file named by
    its own SHA-256 (``photos/<first 2 hex>/<64 hex>``, ``evidence/…``, the checksum the
    manifest lists for it)."""
    if name in (PG_MEMBER, SQLITE_MEMBER):
        return
    stored = _FILE_MEMBER.match(name)
    if stored is None or stored.group(2)[:2] != stored.group(1) or stored.group(2) != sha:
        raise BackupError(
            f"{path}: member {name!r} is neither the database nor a photo or evidence file "
            "named by its SHA-256; a Linde backup holds nothing else, so this one is refused",
            problems=[Problem("file", f"unexpected member {name[:80]!r}")],
        )


def _check_unpacked_size(path: Path, tar: tarfile.TarFile, work: Path) -> None:
    """Refuse, before a byte is written, a backup unpacking to more than
    ``MAX_UNPACK_RATIO`` times its size or than the free disk space (the sizes come
    from the tar headers, and extraction writes no more than they say)."""
    total = sum(m.size for m in tar.getmembers() if m.isfile())
    size = path.stat().st_size
    free = shutil.disk_usage(work).free - UNPACK_MARGIN_BYTES
    if total > max(size, 1) * MAX_UNPACK_RATIO:
        raise BackupError(
            f"{path} would unpack to {total / 2**20:,.0f} MB, {total / max(size, 1):,.0f} "
            f"times its size; no Linde backup packs like that (a compression bomb?), so it "
            "is refused before anything is unpacked",
            problems=[Problem("file", "unpacks to far more than its size")],
        )
    if total > free:
        raise BackupError(
            f"{path} would unpack to {total / 2**20:,.0f} MB and {work} has "
            f"{max(free, 0) / 2**20:,.0f} MB free; free space (or set TMPDIR to a larger "
            "disk) and try again",
            problems=[Problem("file", "not enough free disk space to unpack")],
        )


def _known_revision(revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return ScriptDirectory.from_config(migrate._config()).get_revision(revision) is not None
    except CommandError:
        return False


def _holds_data(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = _count_rows(conn)
    return {k: v for k, v in rows.items() if v and k not in _SEEDED}


def _counters(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        if "layer_versions" not in _existing_tables(conn):
            return {}
        return {r.layer: int(r.version) for r in conn.execute(select(layer_versions))}


def _put_files(manifest: dict[str, Any], work: Path, prefix: str, folder: Path) -> tuple[int, int]:
    """Write the ``prefix`` members of a checked backup into ``folder`` (a file already
    there with the right content is kept); (written, already there)."""
    written = present = 0
    for name in manifest["members"]:
        if not name.startswith(f"{prefix}/"):
            continue
        sha = Path(name).name
        destination = _photo_path(folder, sha)
        if destination.is_file() and _sha256_file(destination) == sha:
            present += 1
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        staged = destination.with_name(f".{sha}.restoring")
        shutil.copyfile(work / name, staged)
        os.replace(staged, destination)
        written += 1
    return written, present


def restore(
    engine: Engine,
    path: Path,
    photos_dir: Path,
    *,
    actor: str,
    replace: bool = False,
    evidence_dir: Path | None = None,
) -> RestoreReport:
    """Replace the database behind ``engine`` (and add to ``photos_dir`` and
    ``evidence_dir``, by default ``evidence`` beside the photos) from a backup.

    Raises:
        BackupError: the file is not a complete, undamaged Linde backup; it was made
            from the other engine or by a newer Linde; the target holds data and
            ``replace`` is false; ``pg_restore`` failed (the target is unchanged).
    """
    started = time.perf_counter()
    kind = engine_name(engine)
    path = path.expanduser()
    with tempfile.TemporaryDirectory(prefix="linde-restore-") as tmp:
        work = Path(tmp)
        manifest = _read_backup(path, work)
        if manifest["engine"] != kind:
            wanted = "postgresql://…" if manifest["engine"] == "postgis" else "sqlite:///…"
            raise BackupError(
                f"{path} was made from {manifest['engine']}; this database is {kind}. "
                f"Restore it into a {manifest['engine']} database (LINDE_DATABASE_URL={wanted})",
                problems=[Problem("engine", f"backup {manifest['engine']}, target {kind}")],
            )
        revision = manifest.get("revision")
        if not _known_revision(revision):
            raise BackupError(
                f"{path} has schema revision {revision}, which this Linde does not know: "
                "it was made by a newer Linde; restore it with that version"
            )
        present = _holds_data(engine)
        if present and not replace:
            listed = ", ".join(f"{k} {v}" for k, v in sorted(present.items())[:5])
            raise BackupError(
                f"the target database holds data ({listed}); pass --replace to replace all "
                "of it with the backup, or restore into an empty database",
                problems=[Problem("replace", "needed: the target is not empty")],
            )
        with engine.connect() as conn:
            target_revision = _revision(conn)
        if present and target_revision not in (None, revision):
            raise BackupError(
                f"the target is at schema revision {target_revision} and the backup at "
                f"{revision}; restore into an empty database (Linde upgrades it after), "
                "not over one of another revision",
            )
        before = _counters(engine)
        written, present_photos = _put_files(manifest, work, PHOTOS, photos_dir)
        evidence_folder = evidence_dir if evidence_dir is not None else photos_dir.parent / EVIDENCE
        evidence_written, evidence_present = _put_files(manifest, work, EVIDENCE, evidence_folder)
        engine.dispose()  # no pooled connection may hold the old database open
        if kind == "postgis":
            _restore_postgres(engine, work / PG_MEMBER)
        else:
            _restore_sqlite(engine, work / SQLITE_MEMBER)
        engine.dispose()
    with engine.connect() as conn:
        rows = _count_rows(conn)
    wrong = {k: (v, rows.get(k)) for k, v in manifest["rows"].items() if rows.get(k) != int(v)}
    if wrong:
        raise BackupError(
            "the restored database does not hold what the backup lists: "
            + ", ".join(f"{k}: {v[1]} rows, expected {v[0]}" for k, v in wrong.items())
        )
    upgraded = migrate.upgrade(engine)
    with engine.begin() as conn:
        restored = {r.layer: int(r.version) for r in conn.execute(select(layer_versions))}
        for layer, version in restored.items():
            conn.execute(
                update(layer_versions)
                .where(layer_versions.c.layer == layer)
                # the restored rows may differ anywhere: every tile of the layer is new
                .values(
                    version=max(version, before.get(layer, 0)) + 1,
                    changes_from=max(version, before.get(layer, 0)) + 1,
                )
            )
        audit.record(
            conn,
            actor,
            "database.restored",
            "database",
            None,
            {
                "file": path.name,
                "made_at": manifest["made_at"],
                "revision": revision,
                "rows": manifest["rows"],
            },
        )
    warnings = []
    if manifest.get("missing_photos"):
        warnings.append(
            f"{len(manifest['missing_photos'])} photo(s) were missing from the folder when "
            "the backup was made and could not be restored"
        )
    if manifest.get("missing_evidence"):
        warnings.append(
            f"{len(manifest['missing_evidence'])} evidence file(s) were missing from the folder "
            "when the backup was made and could not be restored"
        )
    return RestoreReport(
        evidence_written=evidence_written,
        evidence_present=evidence_present,
        engine=kind,
        revision=revision,
        made_at=manifest["made_at"],
        rows=rows,
        photos_written=written,
        photos_present=present_photos,
        upgraded_to=upgraded,
        seconds=time.perf_counter() - started,
        warnings=warnings,
    )


def _restore_postgres(engine: Engine, dump: Path) -> None:
    _run(
        [
            _tool("pg_restore"),
            "--single-transaction",
            "--exit-on-error",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            f"--dbname={_libpq_url(engine)}",
            str(dump),
        ],
        "pg_restore (the target database is unchanged)",
    )


def _restore_sqlite(engine: Engine, copy: Path) -> None:
    _sqlite_copy(engine, copy, into_engine=True)


def _sqlite_copy(engine: Engine, path: Path, *, into_engine: bool) -> None:
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
