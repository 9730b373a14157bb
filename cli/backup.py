"""``linde backup FILE`` and ``linde restore FILE``: the database, its photos and its
evidence files, whole."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import actor, err, fail, out
from geo.errors import LindeError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _engine_and_folders() -> tuple[Engine, Path, Path]:
    from layers.engine import make_engine
    from layers.settings import get_settings

    try:
        settings = get_settings()
        return (
            make_engine(settings=settings),
            settings.resolved_photos_dir(),
            settings.resolved_evidence_dir(),
        )
    except LindeError as exc:
        fail(exc)


def backup_command(
    file: Annotated[Path, typer.Argument(help="The backup file to write (a tar), e.g. linde.tar.")],
) -> None:
    """Back up the whole database, its photos and evidence files into one file, while the
    service runs.

    PostGIS: pg_dump from one snapshot (needs postgresql-client). SpatiaLite: SQLite's
    online backup. The schema is not migrated first: the backup is the database as it is.
    """
    from layers.backup.write import backup

    engine, photos, evidence = _engine_and_folders()
    try:
        report = backup(engine, file, photos, evidence)
    except LindeError as exc:
        fail(exc)
    rows = sum(report.rows.values())
    out.print(
        f"{report.path}: {report.engine} at revision {report.revision}, "
        f"{len(report.rows)} tables, {rows:,} rows, {report.photos} photo(s), "
        f"{report.evidence} evidence file(s), "
        f"{report.size_bytes / 1e6:.1f} MB in {report.seconds:.1f} s",
        highlight=False,
    )
    if report.missing_photos:
        err.print(
            f"warning: {len(report.missing_photos)} photo(s) the database refers to are not in "
            f"{photos}: {', '.join(report.missing_photos[:3])}",
            highlight=False,
        )
    if report.missing_evidence:
        err.print(
            f"warning: {len(report.missing_evidence)} evidence file(s) the case files name are "
            f"not in {evidence}: {', '.join(report.missing_evidence[:3])}",
            highlight=False,
        )


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file made by `linde backup`.")],
    replace: Annotated[
        bool,
        typer.Option(help="Replace a database that holds data (everything in it is replaced)."),
    ] = False,
) -> None:
    """Restore a backup into the configured database, in one transaction.

    The file is checked whole first (checksums, engine, schema revision); a database
    holding data is replaced only with --replace. Stop the service before restoring.
    """
    from layers.backup.restore import restore

    engine, photos, evidence = _engine_and_folders()
    try:
        report = restore(
            engine, file, photos, actor=actor(), replace=replace, evidence_dir=evidence
        )
    except LindeError as exc:
        fail(exc)
    rows = sum(report.rows.values())
    out.print(
        f"restored {file} (made {report.made_at}, revision {report.revision}): "
        f"{len(report.rows)} tables, {rows:,} rows checked against the backup; "
        f"photos: {report.photos_written} written, {report.photos_present} already there; "
        f"evidence files: {report.evidence_written} written, "
        f"{report.evidence_present} already there; "
        f"schema now at {report.upgraded_to}; {report.seconds:.1f} s",
        highlight=False,
    )
    for warning in report.warnings:
        err.print(f"warning: {warning}", highlight=False)
