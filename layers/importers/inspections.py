"""``linde import inspections FILE``: batches of inspections from the field.

Formats, recognised by content:

* a GeoJSON FeatureCollection of Points, the observation in the properties;
* a CSV with longitude/latitude columns (``lon``/``lat``, ``longitude``/``latitude``, ``x``/``y``);
* the CSV exports of ODK Central and KoboToolbox: a geopoint either split into
  ``<name>-Latitude``/``-Longitude``/``-Accuracy`` (ODK Central) or
  ``_<name>_latitude``/``_longitude``/``_precision`` (Kobo), or kept as one column
  holding ``"lat lon altitude accuracy"``. Group prefixes (``group-field``,
  ``group/field``) are ignored; ``meta-instanceID``/``KEY``/``_uuid`` give the id.

Field names: ``observed_at`` (or ``start``, ``SubmissionDate``, ``_submission_time``,
``date``), ``category``, ``severity``, ``description``, ``gps_accuracy_m``, ``inspector``.
A time without offset is read as Mexico's central time (America/Mexico_City). Missing
columns can be given once for the whole file (``defaults``).

Each row gets a stable id: the row's UUID, else one derived from ``id_field`` or the
recognised id column, else one derived from the row's content; so re-importing a
file creates nothing new. ``mode="all"``: one bad row refuses the whole file and
nothing is written; ``mode="partial"``: the good rows are stored and the report
lists every refused row with its reason. Reading the file into rows is in
``layers.importers.inspection_files``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from sqlalchemy import Engine

from geo.errors import ImportRejected, Problem, ProblemList
from geo.inspections import (
    CANONICAL_UUID,
    CLOCK_SKEW,
    Submission,
    check_fields,
    id_from_key,
    new_submission,
    normalize_id,
    plainly_valid,
)
from layers import audit
from layers.engine import write_connection
from layers.gc_pause import gc_paused
from layers.importers.files import _check_exists
from layers.importers.inspection_files import (
    InspectionRows,
    read_csv,
    read_float,
    read_geojson,
    read_int,
    read_when,
)
from layers.importers.runs import ImportRun, ImportSummary, Progress, no_progress
from layers.inspections import store

_BATCH = 5_000  # small: the COPY starts sooner, and the database works beside us


class ImportReport(TypedDict):
    """What ``POST /inspections/import`` answers (``api.wire.inspections.ImportReport``)."""

    kind: str
    file_name: str
    mode: str
    created: int
    unchanged: int
    refused: int  # rows refused
    problems: list[dict[str, Any]]  # geo.errors.Problem.as_dict(): field, reason, row
    seconds: float
    import_run: int | None


@dataclass
class InspectionImportSummary(ImportSummary):
    mode: str = "all"
    refused: list[Problem] = field(default_factory=list)

    def line(self) -> str:
        base = super().line()
        return f"{base}, {len({p.row for p in self.refused})} refused" if self.refused else base

    def report(self) -> ImportReport:
        return ImportReport(
            kind=self.kind,
            file_name=self.file_name,
            mode=self.mode,
            created=self.created,
            unchanged=self.unchanged,
            refused=len({p.row for p in self.refused}),
            problems=[p.as_dict() for p in self.refused],
            seconds=round(self.seconds, 3),
            import_run=self.run_id,
        )


def prepare(
    rows: InspectionRows,
    *,
    categories: set[str],
    defaults: Mapping[str, Any],
    actor: str,
    id_field: str | None,
) -> tuple[list[tuple[int, Submission]], ProblemList]:
    """Check every row; return (row number, submission) for the good ones and the problems."""
    problems = rows.problems
    bad_rows = {p.row for p in problems.items}
    good: list[tuple[int, Submission]] = []
    now = audit.now()
    fallback_when = read_when(defaults.get("observed_at"))
    fallback_severity = defaults.get("severity")
    fallback_category = defaults.get("category")
    fallback_inspector = str(defaults.get("inspector") or actor)
    id_scope = f"field:{id_field or 'id'}"
    col = rows.values
    lons, lats = rows.lon, rows.lat
    latest = now + CLOCK_SKEW
    for i, (
        raw_when,
        raw_severity,
        raw_accuracy,
        category,
        description,
        inspector,
        raw_id,
    ) in enumerate(
        zip(
            col["observed_at"],
            col["severity"],
            col["gps_accuracy_m"],
            col["category"],
            col["description"],
            col["inspector"],
            col["id"],
            strict=True,
        )
    ):
        row = i + 1
        if row in bad_rows:
            continue
        when = read_when(raw_when) if raw_when is not None else fallback_when
        severity = read_int(raw_severity) if raw_severity is not None else fallback_severity
        accuracy = read_float(raw_accuracy)
        if category is None:
            category = fallback_category
        lon, lat = lons[i], lats[i]
        if not plainly_valid(lon, lat, when, category, severity, accuracy, categories, latest):
            found: list[Problem] = []
            if isinstance(when, str):
                found.append(Problem("observed_at", when, row))
                when = None
            if isinstance(severity, str):
                found.append(Problem("severity", severity, row))
                severity = None
            found += check_fields(
                lon=lon,
                lat=lat,
                observed_at=when if isinstance(when, datetime) else None,
                category=str(category) if category is not None else None,
                severity=severity if isinstance(severity, int) else None,
                gps_accuracy_m=accuracy,
                categories=categories,
                now=now,
                row=row,
            )
            if found:
                for p in found:
                    problems.add(p)
                continue
        assert isinstance(when, datetime) and isinstance(severity, int)
        inspection_id = ""
        if type(raw_id) is str and CANONICAL_UUID.fullmatch(raw_id):  # the usual case
            inspection_id = raw_id
        elif raw_id is not None:
            text = str(raw_id).strip()
            if text:
                inspection_id = normalize_id(text) or id_from_key(id_scope, text)
        sub = new_submission(
            inspection_id,
            lon,
            lat,
            when.astimezone(UTC),
            str(category),
            severity,
            str(description) if description is not None else None,
            accuracy,
            str(inspector) if inspector else fallback_inspector,
        )
        if not inspection_id:  # no id in the file: the content is the id
            sub = replace(sub, id=id_from_key("content", sub.content_sha256()))
        good.append((row, sub))
    return good, problems


def import_inspections(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    mode: Literal["all", "partial"] = "all",
    id_field: str | None = None,
    description_field: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    progress: Progress = no_progress,
) -> InspectionImportSummary:
    """Import a file of inspections, annotated, in one transaction.

    Raises:
        UnreadableFile: not a GeoJSON FeatureCollection or readable CSV (broken quoting).
        ImportRejected: no coordinates; in ``"all"`` mode any bad row (every one listed,
            with its row number and field) or an id already holding different content.
    """
    with gc_paused():  # the rows are many small objects, alive until the end
        return _import_inspections(
            engine,
            path,
            actor=actor,
            mode=mode,
            id_field=id_field,
            description_field=description_field,
            defaults=defaults,
            progress=progress,
        )


def _import_inspections(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    mode: Literal["all", "partial"],
    id_field: str | None,
    description_field: str | None,
    defaults: Mapping[str, Any] | None,
    progress: Progress,
) -> InspectionImportSummary:
    started = time.perf_counter()
    _check_exists(path)
    given = {k: v for k, v in (defaults or {}).items() if v is not None}
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()[:1]
    reader: Callable[[Path, str | None, str | None], InspectionRows] = (
        read_geojson if path.suffix.lower() in (".geojson", ".json") or head == b"{" else read_csv
    )
    rows = reader(path, id_field, description_field)
    with write_connection(engine) as conn:
        known = set(store.categories(conn))
        good, problems = prepare(
            rows, categories=known, defaults=given, actor=actor, id_field=id_field
        )
        if problems and mode == "all":
            raise ImportRejected(
                f"{problems.total} problem(s) in {len({p.row for p in problems.items})} row(s); "
                f"nothing was imported:\n{problems.summary()}",
                problems=problems.items,
            )
        run = ImportRun(conn, "inspections", path, actor, started)
        summary = InspectionImportSummary(kind="inspections", file_name=path.name, mode=mode)
        summary.run_id = run.id
        summary.refused = list(problems.items)
        progress(0, len(good))
        written = 0

        def advance(rows_done: int) -> None:
            nonlocal written
            written += rows_done
            progress(written, len(good))

        result = store.save(
            conn,
            [s for _, s in good],
            recorded_by=actor,
            source=f"import: {path.name}",
            import_run_id=run.id,
            batch_size=_BATCH,
            progress=advance,
        )
        conflicts = [
            Problem(
                "id", f"{good[n][1].id} is taken by an inspection with other content", good[n][0]
            )
            for n, _ in result.conflicts
        ]
        if conflicts and mode == "all":
            raise ImportRejected(
                f"{len(conflicts)} row(s) reuse an id with different content; nothing was "
                "imported:\n" + "\n".join(map(str, conflicts[:20])),
                problems=conflicts,
            )
        summary.refused.extend(conflicts)
        summary.created = len(result.created)
        summary.unchanged = len(result.unchanged)
        progress(len(good), len(good))
        run.summary = summary
        finished = run.finish()
        assert isinstance(finished, InspectionImportSummary)
        return finished
