"""Restore a Linde backup file into a database and its photo and evidence folders.

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

import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, select, update

from geo.errors import Problem
from layers import audit, migrate
from layers.backup.archive import (
    EVIDENCE,
    FORMAT,
    MANIFEST,
    PG_MEMBER,
    PHOTOS,
    SQLITE_MEMBER,
    BackupError,
    RestoreReport,
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
from layers.schema import layer_versions

#: tables whose rows do not make a database "hold data": made by the migrations
_SEEDED = {"layer_versions", "inspection_categories", "layer_changes"}
#: A compressed backup may unpack to at most this many times its size: Linde writes
#: plain tars, the database copy packs a few times, photos not at all; a gzip bomb
#: packs zeros a thousand times.
MAX_UNPACK_RATIO = 100
#: Room left free on the disk the backup is unpacked on.
UNPACK_MARGIN_BYTES = 64 * 1024 * 1024
_FILE_MEMBER = re.compile(rf"^(?:{PHOTOS}|{EVIDENCE})/([0-9a-f]{{2}})/([0-9a-f]{{64}})$")


@dataclass(frozen=True)
class Manifest:
    """A backup's ``manifest.json`` (``layers.backup.write``), its fields checked."""

    engine: str
    revision: str | None
    made_at: str
    rows: dict[str, int]
    members: dict[str, str]  # member name -> SHA-256
    missing_photos: list[str]
    missing_evidence: list[str]


def _manifest(path: Path, raw: Any) -> Manifest:
    """The manifest read from ``raw`` (its JSON).

    Raises:
        BackupError: another format, or a field missing or of the wrong type (a
            damaged or hand-edited manifest), naming the field.
    """
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise BackupError(f"{path}: unknown backup format {found!r}")

    def damaged(name: str, wanted: str) -> BackupError:
        return BackupError(
            f"{path}: its manifest is damaged: {name} is not {wanted}; use another backup",
            problems=[Problem(f"manifest.{name}", f"not {wanted}")],
        )

    def names(key: str) -> list[str]:
        value = raw.get(key) or []
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise damaged(key, "a list of names")
        return value

    engine, revision, made_at = raw.get("engine"), raw.get("revision"), raw.get("made_at")
    rows, members = raw.get("rows"), raw.get("members") or {}
    if not isinstance(engine, str):
        raise damaged("engine", "a text")
    if not isinstance(revision, str | None):
        raise damaged("revision", "a text")
    if not isinstance(made_at, str):
        raise damaged("made_at", "a text")
    if not (isinstance(rows, dict) and all(isinstance(v, int) for v in rows.values())):
        raise damaged("rows", "a count per table")
    if not (isinstance(members, dict) and all(isinstance(v, str) for v in members.values())):
        raise damaged("members", "a checksum per member")
    return Manifest(
        engine=engine,
        revision=revision,
        made_at=made_at,
        rows=rows,
        members=members,
        missing_photos=names("missing_photos"),
        missing_evidence=names("missing_evidence"),
    )


def _read_backup(path: Path, work: Path) -> Manifest:
    """Unpack ``path`` into ``work`` and return its manifest, every member checked."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with tarfile.open(path, "r:*") as tar:
            try:
                raw = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            except (KeyError, AttributeError, ValueError):
                raise BackupError(
                    f"{path} is not a Linde backup (no readable {MANIFEST}); "
                    "make one with `linde backup FILE`"
                ) from None
            manifest = _manifest(path, raw)
            members = manifest.members
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
                if sha256_file(work / name) != sha:
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
        rows = count_rows(conn)
    return {k: v for k, v in rows.items() if v and k not in _SEEDED}


def _counters(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        if "layer_versions" not in existing_tables(conn):
            return {}
        return {r.layer: int(r.version) for r in conn.execute(select(layer_versions))}


def _put_files(manifest: Manifest, work: Path, prefix: str, folder: Path) -> tuple[int, int]:
    """Write the ``prefix`` members of a checked backup into ``folder`` (a file already
    there with the right content is kept); (written, already there)."""
    written = present = 0
    for name in manifest.members:
        if not name.startswith(f"{prefix}/"):
            continue
        sha = Path(name).name
        destination = stored_file_path(folder, sha)
        if destination.is_file() and sha256_file(destination) == sha:
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
        if manifest.engine != kind:
            wanted = "postgresql://…" if manifest.engine == "postgis" else "sqlite:///…"
            raise BackupError(
                f"{path} was made from {manifest.engine}; this database is {kind}. "
                f"Restore it into a {manifest.engine} database (LINDE_DATABASE_URL={wanted})",
                problems=[Problem("engine", f"backup {manifest.engine}, target {kind}")],
            )
        revision = manifest.revision
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
            target_revision = schema_revision(conn)
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
        rows = count_rows(conn)
    wrong = {k: (v, rows.get(k)) for k, v in manifest.rows.items() if rows.get(k) != int(v)}
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
                "made_at": manifest.made_at,
                "revision": revision,
                "rows": manifest.rows,
            },
        )
    warnings = []
    if manifest.missing_photos:
        warnings.append(
            f"{len(manifest.missing_photos)} photo(s) were missing from the folder when "
            "the backup was made and could not be restored"
        )
    if manifest.missing_evidence:
        warnings.append(
            f"{len(manifest.missing_evidence)} evidence file(s) were missing from the folder "
            "when the backup was made and could not be restored"
        )
    return RestoreReport(
        evidence_written=evidence_written,
        evidence_present=evidence_present,
        engine=kind,
        revision=revision,
        made_at=manifest.made_at,
        rows=rows,
        photos_written=written,
        photos_present=present_photos,
        upgraded_to=upgraded,
        seconds=time.perf_counter() - started,
        warnings=warnings,
    )


def _restore_postgres(engine: Engine, dump: Path) -> None:
    run_tool(
        [
            client_tool("pg_restore"),
            "--single-transaction",
            "--exit-on-error",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            f"--dbname={libpq_url(engine)}",
            str(dump),
        ],
        "pg_restore (the target database is unchanged)",
    )


def _restore_sqlite(engine: Engine, copy: Path) -> None:
    sqlite_copy(engine, copy, into_engine=True)
