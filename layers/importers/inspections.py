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
lists every refused row with its reason.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine

from geo.errors import ImportRejected, Problem, ProblemList, UnreadableFile
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
from geo.validation import TOO_MANY_NUMBERS
from layers import audit
from layers.engine import write_connection
from layers.gc_pause import gc_paused
from layers.importers.files import _check_exists, read_table
from layers.importers.runs import ImportRun, ImportSummary, Progress, no_progress
from layers.inspections import store

MEXICO_CENTRAL = ZoneInfo("America/Mexico_City")
_BATCH = 5_000  # small: the COPY starts sooner, and the database works beside us
_GEOPOINT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)(?:\s+(\S+))?(?:\s+(\S+))?\s*$")

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "uuid", "instanceID", "KEY", "_uuid"),
    "observed_at": ("observed_at", "start", "SubmissionDate", "_submission_time", "date", "today"),
    "category": ("category", "categoria"),
    "severity": ("severity", "gravedad"),
    "description": ("description", "descripcion", "notes"),
    "gps_accuracy_m": ("gps_accuracy_m", "accuracy"),
    "inspector": ("inspector", "username", "SubmitterName", "_submitted_by"),
}


@dataclass
class InspectionImportSummary(ImportSummary):
    mode: str = "all"
    refused: list[Problem] = field(default_factory=list)

    def line(self) -> str:
        base = super().line()
        return f"{base}, {len({p.row for p in self.refused})} refused" if self.refused else base

    def report(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file_name": self.file_name,
            "mode": self.mode,
            "created": self.created,
            "unchanged": self.unchanged,
            "refused": len({p.row for p in self.refused}),
            "problems": [p.as_dict() for p in self.refused],
            "seconds": round(self.seconds, 3),
            "import_run": self.run_id,
        }


def _pick(columns: list[str], *names: str) -> str | None:
    """The column called one of ``names`` (any case), also after a group prefix."""
    lower = {c.lower(): c for c in columns}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    for name in names:
        for col in columns:
            tail = re.split(r"[/-]", col)[-1]
            if tail.lower() == name.lower():
                return col
    return None


@dataclass
class _Rows:
    """The file as columns of raw values, plus lon/lat/accuracy as floats."""

    n: int
    lon: list[float]
    lat: list[float]
    accuracy: list[float | None]
    values: dict[str, list[Any]]  # canonical name -> raw values (None when absent)
    problems: ProblemList


def _float(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _read_geojson(path: Path, id_field: str | None, description_field: str | None) -> _Rows:
    data = path.read_bytes()
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:  # NaN, Infinity, 1e400: not JSON, but written by some tools; the rows say why
            doc = json.loads(data)
        except (ValueError, RecursionError):
            raise UnreadableFile(
                f"{path.name} is not a GeoJSON file: not JSON ({exc})",
                problems=[Problem("file", f"not JSON: {exc}")],
            ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise UnreadableFile(
            f"{path.name} is not a GeoJSON FeatureCollection",
            problems=[Problem("file", "not a FeatureCollection")],
        )
    features = doc.get("features") or []
    problems = ProblemList(limit=1000)
    n = len(features)
    lon, lat = [math.nan] * n, [math.nan] * n
    values: dict[str, list[Any]] = {k: [None] * n for k in ALIASES}
    # per field: its column, its names, and the name the file was last seen using
    fields: list[tuple[list[Any], tuple[str, ...], list[str | None]]] = [
        (values[key], names, [None]) for key, names in ALIASES.items() if key != "id"
    ]
    id_column = values["id"]
    for i, feature in enumerate(features):
        props = (feature.get("properties") if isinstance(feature, dict) else None) or {}
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            kind = geom.get("type") if isinstance(geom, dict) else "missing"
            problems.add(Problem("geometry", f"geometry is {kind}; expected Point", i + 1))
        else:
            coords = geom.get("coordinates")
            if type(coords) is not list or len(coords) < 2:
                problems.add(Problem("geometry", "point is empty; expected [lon, lat]", i + 1))
            elif len(coords) > 3:
                problems.add(Problem("geometry", TOO_MANY_NUMBERS, i + 1))
            else:
                x, y = coords[0], coords[1]
                if type(x) is not float:  # a float is taken as it is (the usual case)
                    x = _float(x)
                if type(y) is not float:
                    y = _float(y)
                lon[i] = math.nan if x is None else x
                lat[i] = math.nan if y is None else y
        for column, names, usual in fields:
            name = usual[0]
            if name is not None and name in props:  # the name this file uses, found at once
                column[i] = props[name]
                continue
            for name in names:
                if name in props:
                    column[i] = props[name]
                    usual[0] = name
                    break
        id_column[i] = props.get(id_field) if id_field else feature.get("id", props.get("id"))
        if description_field:
            values["description"][i] = props.get(description_field)
    if id_field and n and all(v is None for v in values["id"]):
        raise ImportRejected(
            f"no feature has the property {id_field!r}",
            problems=[Problem("id_field", f"{id_field!r} not found")],
        )
    return _Rows(n, lon, lat, values["gps_accuracy_m"], values, problems)


def _read_csv(path: Path, id_field: str | None, description_field: str | None) -> _Rows:
    frame = read_table(path)
    columns = list(frame.columns)
    n = len(frame)
    problems = ProblemList(limit=1000)
    accuracy_col: str | None = None
    lon_col = _pick(columns, "lon", "lng", "longitude", "longitud", "x")
    lat_col = _pick(columns, "lat", "latitude", "latitud", "y")
    geopoint: list[Any] | None = None
    if lon_col is None or lat_col is None:
        odk = [c for c in columns if c.lower().endswith("-latitude")]
        kobo = [c for c in columns if c.startswith("_") and c.lower().endswith("_latitude")]
        if odk:
            base = odk[0][: -len("-latitude")]
            lat_col, lon_col = odk[0], _pick(columns, f"{base}-Longitude")
            accuracy_col = _pick(columns, f"{base}-Accuracy")
        elif kobo:
            base = kobo[0][: -len("_latitude")]
            lat_col, lon_col = kobo[0], _pick(columns, f"{base}_longitude")
            accuracy_col = _pick(columns, f"{base}_precision")
        else:  # one column holding "lat lon altitude accuracy"
            for col in columns:
                sample = next((v for v in frame[col] if v.strip()), "")
                if _GEOPOINT.match(sample) and len(sample.split()) >= 3:
                    geopoint = list(frame[col])
                    break
    if geopoint is None and (lon_col is None or lat_col is None):
        raise ImportRejected(
            f"{path.name} has no coordinates: give lon and lat columns, or an ODK/Kobo "
            "geopoint column ('lat lon altitude accuracy')",
            problems=[Problem("lon/lat", "no longitude/latitude or geopoint column")],
        )
    lon, lat = [math.nan] * n, [math.nan] * n
    accuracy: list[Any] = [None] * n
    if geopoint is not None:
        for i, text in enumerate(geopoint):
            match = _GEOPOINT.match(text or "")
            if not match:
                problems.add(Problem("geopoint", f"{text!r} is not 'lat lon alt accuracy'", i + 1))
                continue
            lat[i], lon[i] = float(match[1]), float(match[2])
            accuracy[i] = match[4]
    else:
        assert lon_col is not None and lat_col is not None
        for i, (x, y) in enumerate(zip(frame[lon_col], frame[lat_col], strict=True)):
            fx, fy = _float(x), _float(y)
            if fx is None or fy is None or math.isnan(fx) or math.isnan(fy):
                problems.add(Problem(f"{lon_col}/{lat_col}", "is not a pair of numbers", i + 1))
                continue
            lon[i], lat[i] = fx, fy
        if accuracy_col is not None:
            accuracy = list(frame[accuracy_col])
    values: dict[str, list[Any]] = {}
    for key, names in ALIASES.items():
        column = _pick(columns, *names)
        if key == "id":
            column = (
                _pick(columns, id_field)
                if id_field
                else column or _pick(columns, "meta-instanceID")
            )
            if id_field and column is None:
                raise ImportRejected(
                    f"the file has no column {id_field!r}",
                    problems=[Problem("id_field", f"{id_field!r} not found")],
                )
        if key == "description" and description_field:
            column = _pick(columns, description_field)
        values[key] = [v if v != "" else None for v in frame[column]] if column else [None] * n
    if values["gps_accuracy_m"] == [None] * n:
        values["gps_accuracy_m"] = accuracy
    return _Rows(n, lon, lat, values["gps_accuracy_m"], values, problems)


def _when(value: Any) -> datetime | str | None:
    """An aware datetime, None when empty, or the reason it cannot be read."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return f"{value!r} is not an ISO 8601 time (e.g. 2024-05-01T10:30:00-06:00)"
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=MEXICO_CENTRAL)
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        return f"{value!r} is past the years 0001-9999 once turned to UTC"
    return parsed


def _int(value: Any) -> int | str | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{value!r} is not a whole number"
    if not number.is_integer():
        return f"{value!r} is not a whole number"
    return int(number)


def prepare(
    rows: _Rows,
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
    fallback_when = _when(defaults.get("observed_at"))
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
        when = _when(raw_when) if raw_when is not None else fallback_when
        severity = _int(raw_severity) if raw_severity is not None else fallback_severity
        accuracy = _float(raw_accuracy)
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
    reader: Callable[[Path, str | None, str | None], _Rows] = (
        _read_geojson if path.suffix.lower() in (".geojson", ".json") or head == b"{" else _read_csv
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
