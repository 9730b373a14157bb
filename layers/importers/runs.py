"""What every import shares: its summary, its record in ``import_runs`` and the audit trail."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, insert, update

from layers import audit
from layers.importers.files import sha256_of
from layers.schema import import_runs

# Called with (rows done, rows in all) as an import goes; the CLI draws a bar with it.
Progress = Callable[[int, int], None]


def no_progress(_done: int, _total: int) -> None:
    return None


@dataclass
class ImportSummary:
    kind: str
    file_name: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    run_id: int | None = None

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def line(self) -> str:
        return (
            f"{self.kind}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged in {self.seconds:.1f} s"
        )


class ImportRun:
    """Bracket an import's writes: opens the ``import_runs`` row, closes it with the counts."""

    def __init__(
        self, conn: Connection, kind: str, path: Path, actor: str, started: float | None = None
    ) -> None:
        """``started`` is the ``time.perf_counter()`` when the import began reading the file."""
        self.conn = conn
        self.actor = actor
        self.started = started if started is not None else time.perf_counter()
        self.summary = ImportSummary(kind=kind, file_name=path.name)
        result = conn.execute(
            insert(import_runs).values(
                kind=kind,
                file_name=path.name,
                file_sha256=sha256_of(path),
                actor=actor,
                started_at=audit.now(),
                created=0,
                updated=0,
                unchanged=0,
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        self.id = int(pk[0])
        self.summary.run_id = self.id

    def finish(self) -> ImportSummary:
        s = self.summary
        s.seconds = time.perf_counter() - self.started
        self.conn.execute(
            update(import_runs)
            .where(import_runs.c.id == self.id)
            .values(
                finished_at=audit.now(),
                created=s.created,
                updated=s.updated,
                unchanged=s.unchanged,
            )
        )
        audit.record(
            self.conn,
            self.actor,
            f"import.{s.kind}",
            "import_run",
            str(self.id),
            {
                "file": s.file_name,
                "created": s.created,
                "updated": s.updated,
                "unchanged": s.unchanged,
            },
        )
        return s
