"""Reading a file of field inspections into rows: GeoJSON, plain CSV, ODK Central and KoboToolbox.

The formats and field names are described in ``layers.importers.inspections``, which
checks and stores what is read here. Nothing here touches the database: a reader
turns a file into columns of raw values (``InspectionRows``), one per row, and the
helpers read a time, a whole number or a decimal out of a cell, leaving text they
cannot read for the checks to report.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from geo.errors import ImportRejected, Problem, ProblemList, UnreadableFile
from geo.validation import TOO_MANY_NUMBERS
from layers.importers.files import read_table

MEXICO_CENTRAL = ZoneInfo("America/Mexico_City")
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
class InspectionRows:
    """The file as columns of raw values, plus lon/lat/accuracy as floats."""

    n: int
    lon: list[float]
    lat: list[float]
    accuracy: list[float | None]
    values: dict[str, list[Any]]  # canonical name -> raw values (None when absent)
    problems: ProblemList


def read_float(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def read_geojson(path: Path, id_field: str | None, description_field: str | None) -> InspectionRows:
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
                    x = read_float(x)
                if type(y) is not float:
                    y = read_float(y)
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
    return InspectionRows(n, lon, lat, values["gps_accuracy_m"], values, problems)


def read_csv(path: Path, id_field: str | None, description_field: str | None) -> InspectionRows:
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
            fx, fy = read_float(x), read_float(y)
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
    return InspectionRows(n, lon, lat, values["gps_accuracy_m"], values, problems)


def read_when(value: Any) -> datetime | str | None:
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


def read_int(value: Any) -> int | str | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{value!r} is not a whole number"
    if not number.is_integer():
        return f"{value!r} is not a whole number"
    return int(number)
