"""GeoJSON and CSV, written by Python as the features arrive: the first bytes
leave before the last feature is read."""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterable, Sequence
from typing import Any

import numpy as np
import orjson
import shapely

from formats.base import (
    FLUSH_BYTES,
    ID_COLUMN,
    CsvGeometry,
    FeatureRow,
    Field,
    FieldKind,
    as_date,
    chunks,
    finite_float,
    geometries,
    json_text,
    native,
    rounded_geometries,
    utc,
)

# --- GeoJSON ------------------------------------------------------------------------------


def geojson(
    fields: Sequence[Field],
    features: Iterable[FeatureRow],
    *,
    epsg: int,
    decimals: int,
    layer_name: str,
) -> Generator[bytes, None, None]:
    head: dict[str, Any] = {"type": "FeatureCollection", "name": layer_name}
    if epsg != 4326:
        # RFC 7946 knows only lon/lat; GDAL and QGIS still read this legacy member.
        head["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    pending = [orjson.dumps(head)[:-1] + b',"features":[\n']
    size = len(pending[0])
    separator = b""
    for chunk in chunks(features):
        geoms = rounded_geometries(chunk, decimals)
        for (fid, props, _), geom in zip(chunk, geoms, strict=True):
            feature = {
                "type": "Feature",
                "id": fid,
                "properties": {f.name: native(f.kind, props.get(f.name)) for f in fields},
                "geometry": None if geom is None else geom.__geo_interface__,
            }
            data = separator + orjson.dumps(feature)
            separator = b",\n"
            pending.append(data)
            size += len(data)
            if size >= FLUSH_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
    pending.append(b"\n]}\n")
    yield b"".join(pending)


# --- CSV ----------------------------------------------------------------------------------


def lonlat_header(geographic: bool) -> tuple[str, str]:
    # Eastings/northings are not longitudes: name them so Excel users and QGIS
    # ("x"/"y" auto-detection) are not misled.
    return ("lon", "lat") if geographic else ("x", "y")


def _csv_text(kind: FieldKind, value: Any) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "datetime":
        return utc(value).isoformat()
    if kind == "date":
        return as_date(value).isoformat()
    if kind == "json":
        return json_text(value)
    if kind == "float":
        number = finite_float(value)
        return "" if number is None else repr(number)
    return str(value)


def csv_rows(
    fields: Sequence[Field],
    features: Iterable[FeatureRow],
    *,
    decimals: int,
    mode: CsvGeometry,
    geographic: bool,
) -> Generator[bytes, None, None]:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the BOM tells Excel the file is UTF-8 (accents, ñ)
    writer = csv.writer(buffer)
    geometry_header = ["wkt"] if mode == "wkt" else list(lonlat_header(geographic))
    writer.writerow([ID_COLUMN, *(f.name for f in fields), *geometry_header])
    for chunk in chunks(features):
        geometry_cells = _csv_geometry_cells(chunk, decimals, mode)
        for (fid, props, _), cells in zip(chunk, geometry_cells, strict=True):
            writer.writerow([fid, *(_csv_text(f.kind, props.get(f.name)) for f in fields), *cells])
            if buffer.tell() >= FLUSH_BYTES:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_geometry_cells(
    chunk: Sequence[FeatureRow], decimals: int, mode: CsvGeometry
) -> list[list[str]]:
    geoms = geometries(chunk)
    if mode == "wkt":
        texts = shapely.to_wkt(geoms, rounding_precision=decimals, trim=True)
        return [["" if text is None else str(text)] for text in texts]
    points = shapely.point_on_surface(geoms)
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    return [
        ["", ""]
        if not np.isfinite(x)
        else [repr(round(float(x), decimals)), repr(round(float(y), decimals))]
        for x, y in zip(xs, ys, strict=True)
    ]
