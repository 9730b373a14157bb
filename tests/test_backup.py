"""``linde backup`` / ``linde restore`` on both engines: every table comes back as it was.

The source holds the real Oaxaca municipalities, a user with a token, a registered
disputed zone with its case file and an inspection with a photo in the photo folder.
The restore goes into another, empty database of the same engine with another photo
folder, and every table is compared row by row (geometry as bytes).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, func, insert, select

from layers.backup.archive import BackupError
from layers.backup.restore import restore
from layers.backup.write import backup
from layers.disputes import evidence, zone_edits
from layers.geometry_io import to_db
from layers.importers.municipalities import import_municipalities
from layers.queries.lookup import lookup_point
from layers.schema import audit_log, inspection_photos, inspections, layer_versions, metadata
from layers.users import add_user
from tests.conftest import OAXACA, Database
from tests.helpers import flat, run_linde

PHOTO = b"\x89PNG\r\n\x1a\n" + b"linde test photo bytes" * 10
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()
ACTA = b"%PDF-1.4\n% acta de la reunion de limites\n%%EOF\n"
ACTA_SHA = hashlib.sha256(ACTA).hexdigest()


def _fill(db: Database, photos: Path) -> None:
    import_municipalities(db.engine, OAXACA, actor="test")
    add_user(db.engine, "ana", "commission", actor="test")
    # Los Sauces, by hand, between Oaxaca de Juárez and San Jacinto Amilpas
    area = shapely.box(-96.706, 17.083, -96.700, 17.088)
    zone = zone_edits.register_zone(
        db.engine,
        name="Fraccionamiento Los Sauces",
        geom=shapely.MultiPolygon([area]),
        parties=["20067", "20157"],
        actor="test",
        notes=None,
    )
    # a document attached to the case file, stored beside the photos as Linde does
    document = evidence.check_document(ACTA, file_name="acta.pdf", max_bytes=1 << 20)
    evidence.store(photos.parent / "evidence", document)
    zone_edits.add_event(
        db.engine,
        int(zone["id"]),
        kind="evidence",
        actor="test",
        expected_version=None,
        summary="Acta de la reunión",
        details={"document": "Acta 1/2026", "file": evidence.file_details(document)},
    )
    now = datetime.now(UTC)
    inspection_id = str(uuid.uuid4())
    with db.engine.begin() as conn:
        conn.execute(
            insert(inspections),
            {
                "id": inspection_id,
                "observed_at": now,
                "category": "solid_waste",
                "severity": 2,
                "description": "escombro en la ribera",
                "inspector": "test",
                "source": "test",
                "created_at": now,
                "geom": to_db([shapely.Point(-96.72, 17.06)])[0],
            },
        )
        conn.execute(
            insert(inspection_photos),
            {
                "inspection_id": inspection_id,
                "sha256": PHOTO_SHA,
                "media_type": "image/png",
                "size_bytes": len(PHOTO),
                "file_name": "ribera.png",
                "created_at": now,
            },
        )
    (photos / PHOTO_SHA[:2]).mkdir(parents=True)
    (photos / PHOTO_SHA[:2] / PHOTO_SHA).write_bytes(PHOTO)


def _plain(value: Any) -> Any:
    data = getattr(value, "data", None)  # GeoAlchemy2 WKB elements (hex text on SpatiaLite)
    if data is None:
        return value
    return data if isinstance(data, str) else bytes(data)


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            keys = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*keys)).all()
            out[table.name] = [tuple(_plain(v) for v in row) for row in rows]
    return out


@pytest.fixture
def target(db: Database, database_factory: Any) -> Database:
    found: Database = database_factory(db.kind, f"restore_{uuid.uuid4().hex[:8]}")
    return found


def test_round_trip_gives_back_every_table(db: Database, target: Database, tmp_path: Path) -> None:
    photos, restored_photos = tmp_path / "photos", tmp_path / "restored-photos"
    _fill(db, photos)
    file = tmp_path / "linde.tar"

    made = backup(db.engine, file, photos)

    assert made.photos == 1 and made.missing_photos == []
    assert made.evidence == 1 and made.missing_evidence == []
    assert made.rows["municipalities"] == 26 and made.rows["disputed_zones"] == 1
    restored_evidence = tmp_path / "restored-evidence"
    report = restore(
        target.engine, file, restored_photos, actor="test-restore", evidence_dir=restored_evidence
    )
    assert report.photos_written == 1
    assert (restored_photos / PHOTO_SHA[:2] / PHOTO_SHA).read_bytes() == PHOTO
    # the case file's documents come back too: a restore loses no evidence
    assert report.evidence_written == 1
    assert (restored_evidence / ACTA_SHA[:2] / ACTA_SHA).read_bytes() == ACTA

    before, after = _tables(db.engine), _tables(target.engine)
    for name in before:
        if name in ("layer_versions", "audit_log"):
            continue
        assert after[name] == before[name], f"{name} differs after the round trip"
    # the restore is itself in the audit trail, after everything the backup held
    assert after["audit_log"][: len(before["audit_log"])] == before["audit_log"]
    with target.engine.connect() as conn:
        last = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
        assert last is not None and last.action == "database.restored"
        assert last.actor == "test-restore"
        # counters moved past the backup's: nothing cached before the restore is current
        source_versions = {row[0]: row[1] for row in before["layer_versions"]}
        for layer, version, changes_from in conn.execute(select(layer_versions)):
            assert version > source_versions[layer]
            # and every tile of every layer gets a new ETag (the log says nothing older)
            assert changes_from == version
    # the restored database works: spatial index and functions answer
    with target.engine.connect() as conn:
        answer = lookup_point(conn, -96.7266, 17.0654)
    assert answer["municipality"] is not None
    assert answer["municipality"]["cvegeo"] == "20067"


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


def test_a_database_holding_data_is_replaced_only_when_asked(
    db: Database, target: Database, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    _fill(db, photos)
    file = tmp_path / "linde.tar"
    backup(db.engine, file, photos)
    add_user(target.engine, "someone", "planner", actor="test")
    kept = _counts(target.engine)

    with pytest.raises(BackupError, match=r"holds data.*--replace"):
        restore(target.engine, file, tmp_path / "p2", actor="test")
    assert _counts(target.engine) == kept

    restore(target.engine, file, tmp_path / "p2", actor="test", replace=True)
    with target.engine.connect() as conn:
        names = set(conn.execute(select(metadata.tables["users"].c.name)).scalars())
    assert names == {"ana"}  # the backup's users only: everything was replaced


def _rewrite(file: Path, change: Any) -> None:
    """Rewrite a backup with ``change(name, bytes) -> (name, bytes) | None`` per member."""
    with tarfile.open(file) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(file, "w") as tar:
        for name, data in members:
            changed = change(name, data)
            if changed is None:
                continue
            info = tarfile.TarInfo(changed[0])
            info.size = len(changed[1])
            tar.addfile(info, io.BytesIO(changed[1]))


def _with_manifest(**values: Any) -> Any:
    def change(name: str, data: bytes) -> tuple[str, bytes]:
        if name != "manifest.json":
            return name, data
        return name, json.dumps({**json.loads(data), **values}).encode()

    return change


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda n, d: (n, d[:-10] + b"0123456789") if n.startswith("database") else (n, d),
            "damaged",
        ),
        (lambda n, d: None if n.startswith("photos/") else (n, d), "incomplete"),
        (_with_manifest(revision="9999_from_the_future"), "newer Linde"),
        (_with_manifest(format="something/else"), "unknown backup format"),
        (lambda n, d: (n, b"{not json") if n == "manifest.json" else (n, d), "not a Linde backup"),
        # read only after the copy was restored, once: checked before anything is written
        (_with_manifest(rows=None), "manifest is damaged: rows"),
    ],
    ids=["checksum", "member-missing", "newer-revision", "format", "manifest", "rows"],
)
def test_a_bad_backup_is_refused_and_the_target_untouched(
    db: Database, target: Database, tmp_path: Path, change: Any, words: str
) -> None:
    photos = tmp_path / "photos"
    _fill(db, photos)
    file = tmp_path / "linde.tar"
    backup(db.engine, file, photos)
    _rewrite(file, change)
    kept = _counts(target.engine)

    with pytest.raises(BackupError, match=words):
        restore(target.engine, file, tmp_path / "p2", actor="test")

    assert _counts(target.engine) == kept
    assert not (tmp_path / "p2").exists() or not any((tmp_path / "p2").rglob("*"))


def test_a_member_that_would_escape_its_folder_is_refused(
    db: Database, target: Database, tmp_path: Path
) -> None:
    file = tmp_path / "linde.tar"
    backup(db.engine, file, tmp_path / "photos")

    def escape(name: str, data: bytes) -> tuple[str, bytes]:
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["members"]["../../evil"] = hashlib.sha256(b"x").hexdigest()
            return name, json.dumps(manifest).encode()
        return name, data

    _rewrite(file, escape)
    with tarfile.open(file, "a") as tar:
        info = tarfile.TarInfo("../../evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))

    with pytest.raises(BackupError, match="outside its folder"):
        restore(target.engine, file, tmp_path / "p2", actor="test")
    assert not (tmp_path.parent / "evil").exists()


def test_a_backup_of_the_other_engine_is_refused(
    db: Database, target: Database, tmp_path: Path
) -> None:
    file = tmp_path / "linde.tar"
    backup(db.engine, file, tmp_path / "photos")
    other = "spatialite" if db.kind == "postgis" else "postgis"
    _rewrite(file, _with_manifest(engine=other))

    with pytest.raises(BackupError, match=f"made from {other}"):
        restore(target.engine, file, tmp_path / "p2", actor="test")


def test_cli_backup_and_restore(db: Database, target: Database, tmp_path: Path) -> None:
    add_user(db.engine, "ana", "commission", actor="test")
    file = tmp_path / "linde.tar"

    made = run_linde(db.url, "backup", file)
    assert made.returncode == 0, made.stderr
    assert f"{db.kind} at revision" in flat(made.stdout)
    assert "0 evidence file(s)" in flat(made.stdout)

    done = run_linde(target.url, "restore", file)
    assert done.returncode == 0, done.stderr
    assert "rows checked against the backup" in flat(done.stdout)

    again = run_linde(target.url, "restore", file)
    assert again.returncode == 2
    assert "--replace" in flat(again.stderr)

    missing = run_linde(target.url, "restore", tmp_path / "nope.tar")
    assert missing.returncode == 2 and "no such file" in flat(missing.stderr)


def test_a_photo_member_not_named_by_its_sha256_is_refused(
    db: Database, target: Database, tmp_path: Path
) -> None:
    file = tmp_path / "linde.tar"
    backup(db.engine, file, tmp_path / "photos")
    page = b"<script>alert(1)</script>"
    planted = "photos/ab/index.html"

    def plant(name: str, data: bytes) -> tuple[str, bytes]:
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["members"][planted] = hashlib.sha256(page).hexdigest()
            return name, json.dumps(manifest).encode()
        return name, data

    _rewrite(file, plant)
    with tarfile.open(file, "a") as tar:
        info = tarfile.TarInfo(planted)
        info.size = len(page)
        tar.addfile(info, io.BytesIO(page))

    with pytest.raises(BackupError, match="SHA-256"):
        restore(target.engine, file, tmp_path / "p2", actor="test")
    assert not (tmp_path / "p2").exists() or not any((tmp_path / "p2").rglob("*"))


def test_a_compression_bomb_is_refused_before_it_is_unpacked(
    db: Database, target: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "linde.tar"
    backup(db.engine, file, tmp_path / "photos")
    zeros = b"\0" * (64 * 1024 * 1024)
    bomb = tmp_path / "linde.tar.gz"
    with tarfile.open(file) as plain, tarfile.open(bomb, "w:gz", compresslevel=1) as tar:
        for member in plain.getmembers():
            data = plain.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("database"):
                data = zeros  # the checksum will not match: it must not get that far
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(unpacked))

    with pytest.raises(BackupError, match="times its size"):
        restore(target.engine, bomb, tmp_path / "p2", actor="test")
    assert list(unpacked.iterdir()) == []
