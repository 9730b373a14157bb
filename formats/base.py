"""What every export format shares: the column and format descriptions, the
feature stream's shape, and the value conversions.

A feature is ``(id, properties, WKB)``; the WKB is in the export's CRS with x =
longitude/easting first, or None for a feature without geometry. Datetimes are
written in UTC (a naive datetime is taken to be UTC already).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import Any, Literal

import numpy as np
import orjson
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.errors import InvalidParameter, Problem

FieldKind = Literal["str", "int", "float", "bool", "datetime", "date", "json"]
FeatureRow = tuple[str | int, Mapping[str, Any], bytes | None]
CsvGeometry = Literal["wkt", "lonlat"]

#: Features converted at a time: enough to amortise per-call overhead, small
#: enough that a chunk of full-detail municipalities stays in the tens of MB.
CHUNK_FEATURES = 256
#: Text formats yield once this many bytes are pending (one ASGI message each).
FLUSH_BYTES = 64 * 1024
#: Piece size when streaming a finished file from disk.
COPY_BYTES = 1 << 20
#: Prefix of the temporary directories the GDAL formats write into.
TEMP_PREFIX = "linde-export-"

ID_COLUMN = "id"
#: The geometry column of the Arrow batches (and of the GeoPackage table).
GEOMETRY_COLUMN = "geom"


@dataclass(frozen=True)
class Field:
    """One property column of an export.

    ``json`` is a list or dict value: nested as-is in GeoJSON, written as JSON
    text everywhere else.
    """

    name: str
    kind: FieldKind


@dataclass(frozen=True)
class ExportFormat:
    """A file format a collection can be downloaded as.

    Attributes:
        key: the value of ``f=``.
        media_type: the ``Content-Type`` of the response.
        extension: the file name extension, without the dot.
        title: the Spanish label shown on HTML pages.
    """

    key: str
    media_type: str
    extension: str
    title: str


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("geojson", "application/geo+json", "geojson", "GeoJSON"),
        ExportFormat("csv", "text/csv; charset=utf-8", "csv", "CSV (Excel)"),
        ExportFormat("gpkg", "application/geopackage+sqlite3", "gpkg", "GeoPackage"),
        ExportFormat("shp", "application/zip", "zip", "Shapefile (ZIP)"),
        ExportFormat("kml", "application/vnd.google-earth.kml+xml", "kml", "KML (Google Earth)"),
        ExportFormat("fgb", "application/flatgeobuf", "fgb", "FlatGeobuf"),
    )
}


@lru_cache(maxsize=16)
def is_geographic(epsg: int) -> bool:
    """Whether EPSG:``epsg`` is a geographic CRS.

    Raises:
        InvalidParameter: pyproj does not know the code (field ``crs``).
    """
    try:
        return bool(CRS.from_epsg(epsg).is_geographic)
    except CRSError:
        raise InvalidParameter(
            "unknown CRS",
            problems=[Problem(field="crs", reason=f"EPSG:{epsg} is not a CRS Linde knows")],
        ) from None


def safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "layer"


def chunks(features: Iterable[FeatureRow]) -> Iterator[list[FeatureRow]]:
    """The features ``CHUNK_FEATURES`` at a time, read lazily."""
    it = iter(features)
    while chunk := list(islice(it, CHUNK_FEATURES)):
        yield chunk


def wkb_bytes(value: bytes | memoryview | None) -> bytes | None:
    return value if value is None or isinstance(value, bytes) else bytes(value)


def geometries(chunk: Sequence[FeatureRow]) -> np.ndarray:
    """Shapely geometries of a chunk (None where there is none)."""
    return shapely.from_wkb(np.array([wkb_bytes(wkb) for _, _, wkb in chunk], dtype=object))


def rounded_geometries(chunk: Sequence[FeatureRow], decimals: int) -> np.ndarray:
    """Shapely geometries (None where there is none) with coordinates rounded."""
    return shapely.transform(geometries(chunk), lambda coords: np.round(coords, decimals))


def utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value) if isinstance(value, str) else value


def finite_float(value: float | Decimal | str) -> float | None:
    out = float(value)
    return out if np.isfinite(out) else None


def json_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


# Python values per kind, as GeoJSON (and pyarrow) want them; None stays None.
NATIVE: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "int": int,
    "float": finite_float,
    "bool": bool,
    "datetime": utc,
    "date": as_date,
    "json": lambda v: v,
}


def native(kind: FieldKind, value: Any) -> Any:
    return None if value is None else NATIVE[kind](value)
