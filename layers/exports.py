"""Streaming exporters: a stream of features to the bytes of a downloadable file.

``stream_export`` turns ``(id, properties, WKB)`` tuples, read lazily from a
database cursor, into GeoJSON, CSV, GeoPackage, zipped Shapefile, KML or
FlatGeobuf, in bounded memory: features are handled ``CHUNK_FEATURES`` at a time,
so the national layer (2,474 full-detail municipalities, 57 MB of WKB, 90 MB of
GeoJSON at 7 decimals) is never held whole.

* GeoJSON and CSV are written by Python as the features arrive: the first bytes
  leave before the last feature is read.
* GeoPackage, Shapefile, KML and FlatGeobuf are written by GDAL (``pyogrio.write_arrow``
  fed by a pyarrow ``RecordBatchReader`` over the feature stream, so GDAL pulls
  one chunk at a time) into a private temporary directory; the finished file is
  then streamed in 1 MiB pieces (the Shapefile parts as a ZIP built on the fly)
  and the directory is removed, even when the consumer stops reading early. The
  first byte leaves only once the whole file is written.
* FlatGeobuf gets a packed Hilbert R-tree index when every feature has a
  geometry (GDAL cannot index a feature without one); see ``_write_flatgeobuf``.
* KML uses a field called ``name`` as each placemark's label (Google Earth).

Coordinates are written in the CRS they arrive in (``epsg``), x = longitude or
easting first. Text formats keep ~1 cm: 7 decimals for degrees, 2 for metres.
Datetimes are written in UTC (a naive datetime is taken to be UTC already).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import Any, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.errors import InvalidParameter, Problem

log = logging.getLogger("linde.exports")

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
SHAPEFILE_NAME_LENGTH = 10

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

# Media types (without parameters) that name an export format, the official one
# first; the others are spellings clients and servers use in the wild.
_MEDIA_TYPES: dict[str, str] = {
    "application/geo+json": "geojson",
    "application/vnd.geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/geopackage+sqlite3": "gpkg",
    "application/geopackage+vnd.sqlite3": "gpkg",
    "application/zip": "shp",
    "application/x-zipped-shp": "shp",
    "application/x-shapefile": "shp",
    "application/vnd.shp": "shp",
    "application/vnd.google-earth.kml+xml": "kml",
    "application/flatgeobuf": "fgb",
    "application/vnd.flatgeobuf": "fgb",
}

_GDAL_DRIVERS = {"gpkg": "GPKG", "shp": "ESRI Shapefile", "kml": "KML", "fgb": "FlatGeobuf"}
_GDAL_GEOMETRY_TYPES = {
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def format_for_media_type(accept: str) -> ExportFormat | None:
    """The export format an ``Accept`` header asks for most, or None.

    Entries are weighed by ``q`` (default 1; ``q=0`` means "not this"); among
    equal weights the first listed wins. Wildcards (``*/*``, ``application/*``)
    never select an export: the caller keeps its own default (usually HTML or
    JSON). Malformed entries are ignored.
    """
    best: tuple[float, ExportFormat] | None = None
    for entry in accept.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        key = _MEDIA_TYPES.get(media.lower())
        if key is None:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(float(value.strip()), 1.0)
                except ValueError:
                    q = 0.0
        if q > 0 and (best is None or q > best[0]):
            best = (q, FORMATS[key])
    return best[1] if best else None


def shapefile_field_names(names: Sequence[str]) -> dict[str, str]:
    """Map column names to unique .dbf names of at most 10 ASCII characters.

    Names that already fit keep their spelling; the others are folded to ASCII
    (``año`` → ``ano``), truncated and, where that collides (.dbf names are
    case-insensitive), end in ``_1``, ``_2`` … The same input always gives the
    same mapping.
    """

    def clean(name: str) -> str:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9_]", "_", ascii_name) or "field"

    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:  # first reserve the names that fit as they are
        if clean(name) == name and len(name) <= SHAPEFILE_NAME_LENGTH and name.upper() not in used:
            out[name] = name
            used.add(name.upper())
    for name in names:
        if name in out:
            continue
        base = clean(name)[:SHAPEFILE_NAME_LENGTH]
        candidate, n = base, 0
        while candidate.upper() in used:
            n += 1
            suffix = f"_{n}"
            candidate = base[: SHAPEFILE_NAME_LENGTH - len(suffix)] + suffix
        out[name] = candidate
        used.add(candidate.upper())
    return out


def stream_export(
    fmt: ExportFormat,
    fields: Sequence[Field],
    features: Iterable[FeatureRow],
    *,
    geometry_type: str,
    epsg: int,
    layer_name: str,
    csv_geometry: CsvGeometry = "wkt",
) -> Generator[bytes, None, None]:
    """The bytes of ``features`` as a file of format ``fmt``, in pieces.

    Args:
        fmt: one of ``FORMATS``.
        fields: the property columns, in output order; properties missing from a
            feature's mapping are written as null, extra keys are ignored.
        features: ``(id, properties, wkb)``; the WKB is in ``epsg`` with x =
            longitude/easting first, or None for a feature without geometry.
            Read lazily, ``CHUNK_FEATURES`` at a time. All ids share one type.
        geometry_type: the layer's type (``MultiPolygon``, ``Point`` …; ``Geometry``
            for mixed layers), declared in GeoPackage, Shapefile and FlatGeobuf.
        epsg: the CRS of the coordinates, recorded in the file (GeoJSON other than
            4326: the legacy ``crs`` member GDAL and QGIS read).
        layer_name: the layer's name inside the file (and of the Shapefile parts).
        csv_geometry: ``wkt`` for a ``wkt`` column, ``lonlat`` for a point on each
            geometry's surface as ``lon``/``lat`` (``x``/``y`` in a projected CRS).

    Returns:
        A generator of byte strings; nothing is read or written before the first
        ``next()``. Closing it (``close()``) early removes any temporary files.

    Raises:
        InvalidParameter: KML with ``epsg`` other than 4326 (KML is always WGS 84),
            or an EPSG code pyproj does not know; raised here, before any output.
        ValueError: a field named like a column the format adds itself
            (``id``, ``wkt`` …), duplicate field names, an unknown format.
    """
    if fmt.key not in FORMATS:
        raise ValueError(f"unknown export format {fmt.key!r}")
    geographic = _is_geographic(epsg)
    if fmt.key == "kml" and epsg != 4326:
        raise InvalidParameter(
            "KML cannot be written in a projected CRS",
            problems=[
                Problem(
                    field="crs",
                    reason="KML is always WGS 84 longitude/latitude; drop crs= or ask for f=gpkg",
                )
            ],
        )
    _check_field_names(fields, _added_columns(fmt.key, csv_geometry, geographic))
    decimals = 7 if geographic else 2
    if fmt.key == "geojson":
        return _geojson(fields, features, epsg=epsg, decimals=decimals, layer_name=layer_name)
    if fmt.key == "csv":
        return _csv(fields, features, decimals=decimals, mode=csv_geometry, geographic=geographic)
    return _gdal(
        fmt,
        fields,
        features,
        geometry_type=geometry_type,
        epsg=epsg,
        layer_name=_safe_file_name(layer_name),
    )


# --- shared helpers ---------------------------------------------------------------------


@lru_cache(maxsize=16)
def _is_geographic(epsg: int) -> bool:
    try:
        return bool(CRS.from_epsg(epsg).is_geographic)
    except CRSError:
        raise InvalidParameter(
            "unknown CRS",
            problems=[Problem(field="crs", reason=f"EPSG:{epsg} is not a CRS Linde knows")],
        ) from None


def _added_columns(key: str, csv_geometry: CsvGeometry, geographic: bool) -> set[str]:
    if key == "csv":
        if csv_geometry == "wkt":
            return {ID_COLUMN, "wkt"}
        return {ID_COLUMN, *_lonlat_header(geographic)}
    if key == "geojson":
        return {ID_COLUMN}
    if key == "gpkg":
        return {ID_COLUMN, GEOMETRY_COLUMN, "fid"}
    return {ID_COLUMN, GEOMETRY_COLUMN}


def _check_field_names(fields: Sequence[Field], reserved: set[str]) -> None:
    names = [f.name for f in fields]
    clash = sorted({n for n in names if n.lower() in reserved})
    if clash:
        raise ValueError(f"field names {clash} clash with columns the export adds itself")
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate field names in {names}")


def _safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "layer"


def _chunks(features: Iterable[FeatureRow]) -> Iterator[list[FeatureRow]]:
    it = iter(features)
    while chunk := list(islice(it, CHUNK_FEATURES)):
        yield chunk


def _wkb(value: bytes | memoryview | None) -> bytes | None:
    return value if value is None or isinstance(value, bytes) else bytes(value)


def _rounded_geometries(chunk: Sequence[FeatureRow], decimals: int) -> np.ndarray:
    """Shapely geometries (None where there is none) with coordinates rounded."""
    geoms = shapely.from_wkb(np.array([_wkb(wkb) for _, _, wkb in chunk], dtype=object))
    return shapely.transform(geoms, lambda coords: np.round(coords, decimals))


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value) if isinstance(value, str) else value


def _float(value: float | Decimal | str) -> float | None:
    out = float(value)
    return out if np.isfinite(out) else None


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


# Python values per kind, as GeoJSON (and pyarrow) want them; None stays None.
_NATIVE: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "int": int,
    "float": _float,
    "bool": bool,
    "datetime": _utc,
    "date": _date,
    "json": lambda v: v,
}


def _native(kind: FieldKind, value: Any) -> Any:
    return None if value is None else _NATIVE[kind](value)


# --- GeoJSON ------------------------------------------------------------------------------


def _geojson(
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
    for chunk in _chunks(features):
        geoms = _rounded_geometries(chunk, decimals)
        for (fid, props, _), geom in zip(chunk, geoms, strict=True):
            feature = {
                "type": "Feature",
                "id": fid,
                "properties": {f.name: _native(f.kind, props.get(f.name)) for f in fields},
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


def _lonlat_header(geographic: bool) -> tuple[str, str]:
    # Eastings/northings are not longitudes: name them so Excel users and QGIS
    # ("x"/"y" auto-detection) are not misled.
    return ("lon", "lat") if geographic else ("x", "y")


def _csv_text(kind: FieldKind, value: Any) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "datetime":
        return _utc(value).isoformat()
    if kind == "date":
        return _date(value).isoformat()
    if kind == "json":
        return _json_text(value)
    if kind == "float":
        number = _float(value)
        return "" if number is None else repr(number)
    return str(value)


def _csv(
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
    geometry_header = ["wkt"] if mode == "wkt" else list(_lonlat_header(geographic))
    writer.writerow([ID_COLUMN, *(f.name for f in fields), *geometry_header])
    for chunk in _chunks(features):
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
    geoms = shapely.from_wkb(np.array([_wkb(wkb) for _, _, wkb in chunk], dtype=object))
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


# --- GDAL formats -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One attribute column of an Arrow batch: its name in the file and its type."""

    source: str
    name: str
    kind: FieldKind
    arrow_type: pa.DataType


def _arrow_columns(key: str, fields: Sequence[Field]) -> list[_Column]:
    names = {f.name: f.name for f in fields}
    if key == "shp":
        names = shapefile_field_names([ID_COLUMN, *names])
    arrow_types: dict[FieldKind, pa.DataType] = {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        # GDAL keeps milliseconds; the Shapefile .dbf has no datetime type, so there
        # the value goes as ISO 8601 text rather than a date that loses the time.
        "datetime": pa.string() if key == "shp" else pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
        "json": pa.string(),
    }
    return [_Column(f.name, names[f.name], f.kind, arrow_types[f.kind]) for f in fields]


def _arrow_value(column: _Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind == "json":
        return _json_text(value)
    if column.kind == "datetime" and column.arrow_type == pa.string():
        return _utc(value).isoformat()
    return _NATIVE[column.kind](value)


class _BatchFeed:
    """Arrow record batches over the feature stream, keeping the first error.

    An exception raised inside the stream reaches pyogrio through the Arrow C
    stream interface and comes out as a bare RuntimeError; ``error`` keeps the
    original so it can be re-raised as itself.
    """

    def __init__(
        self,
        key: str,
        fields: Sequence[Field],
        features: Iterable[FeatureRow],
    ) -> None:
        self.key = key
        self.columns = _arrow_columns(key, fields)
        self.features = iter(features)
        self.error: BaseException | None = None
        self.count = 0
        self.null_geometries = 0
        first = next(self.features, None)
        if first is not None:
            self.features = _prepend(first, self.features)
        self.id_type = (
            pa.int64() if first is not None and isinstance(first[0], int) else pa.string()
        )
        self.schema = pa.schema(
            [
                pa.field(ID_COLUMN, self.id_type),
                *(pa.field(c.name, c.arrow_type) for c in self.columns),
                pa.field(GEOMETRY_COLUMN, pa.binary()),
            ]
        )

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._batches())

    def _batches(self) -> Iterator[pa.RecordBatch]:
        try:
            for chunk in _chunks(self.features):
                yield self._batch(chunk)
        except BaseException as exc:
            self.error = exc
            raise

    def _batch(self, chunk: Sequence[FeatureRow]) -> pa.RecordBatch:
        to_id: Callable[[Any], Any] = int if self.id_type == pa.int64() else str
        ids = pa.array([to_id(fid) for fid, _, _ in chunk], type=self.id_type)
        attributes = [
            pa.array([_arrow_value(c, props.get(c.source)) for _, props, _ in chunk], c.arrow_type)
            for c in self.columns
        ]
        if self.key == "kml":  # KML is text: keep ~1 cm, not 15 digits
            wkbs: list[bytes | None] = list(shapely.to_wkb(_rounded_geometries(chunk, 7)))
        else:
            wkbs = [_wkb(wkb) for _, _, wkb in chunk]
        self.count += len(chunk)
        self.null_geometries += sum(wkb is None for wkb in wkbs)
        return pa.record_batch(
            [ids, *attributes, pa.array(wkbs, type=pa.binary())], schema=self.schema
        )


def _prepend(first: FeatureRow, rest: Iterator[FeatureRow]) -> Iterator[FeatureRow]:
    yield first
    yield from rest


def _gdal(
    fmt: ExportFormat,
    fields: Sequence[Field],
    features: Iterable[FeatureRow],
    *,
    geometry_type: str,
    epsg: int,
    layer_name: str,
) -> Generator[bytes, None, None]:
    workdir = tempfile.mkdtemp(prefix=TEMP_PREFIX)
    try:
        suffix = "shp" if fmt.key == "shp" else fmt.extension
        path = os.path.join(workdir, f"{layer_name}.{suffix}")
        feed = _BatchFeed(fmt.key, fields, features)
        layer = _GdalLayer(
            driver=_GDAL_DRIVERS[fmt.key],
            name=layer_name,
            geometry_type=geometry_type if geometry_type in _GDAL_GEOMETRY_TYPES else "Unknown",
            crs=f"EPSG:{epsg}",
        )
        if fmt.key == "fgb":
            path = _write_flatgeobuf(feed, layer, workdir)
        else:
            try:
                layer.write(feed.reader(), path)
            except Exception:
                if feed.error is not None:
                    raise feed.error from None
                raise
        if fmt.key == "shp":
            yield from _zip_parts(workdir, layer_name)
        else:
            yield from _file_pieces(path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class _GdalLayer:
    driver: str
    name: str
    geometry_type: str
    crs: str

    def write(
        self, reader: Any, path: str, geometry_name: str | None = GEOMETRY_COLUMN, **options: str
    ) -> None:
        """Write an Arrow stream; ``geometry_name=None`` finds the geoarrow.wkb column."""
        pyogrio.write_arrow(
            reader,
            path,
            layer=self.name,
            driver=self.driver,
            geometry_name=geometry_name,
            geometry_type=self.geometry_type,
            crs=self.crs,
            encoding="UTF-8" if self.driver == "ESRI Shapefile" else None,
            layer_options=options or None,
        )


def _write_flatgeobuf(feed: _BatchFeed, layer: _GdalLayer, workdir: str) -> str:
    """Write the stream as FlatGeobuf; return the path of the file to send.

    GDAL's FlatGeobuf writer cannot append, and with a spatial index it refuses
    features without geometry. So the stream is first written in its own order
    without an index; then, when every feature has a geometry, that file is
    copied (batch by batch) into one with a packed Hilbert R-tree index, which
    QGIS and GDAL use for fast spatial filtering. The indexed file lists the
    features in Hilbert order, not the order they came in.
    """
    plain = os.path.join(workdir, "plain.fgb")
    try:
        layer.write(feed.reader(), plain, SPATIAL_INDEX="NO")
    except Exception:
        if feed.error is not None:
            raise feed.error from None
        raise
    if feed.count == 0 or feed.null_geometries:
        return plain
    indexed = os.path.join(workdir, f"{layer.name}.fgb")
    try:
        with pyogrio.raw.open_arrow(plain, batch_size=CHUNK_FEATURES, use_pyarrow=True) as (
            _,
            reader,
        ):
            # GDAL sorts the features through a temporary file (only a bbox and
            # an offset per feature stay in memory); keep it inside our directory.
            layer.write(
                reader, indexed, geometry_name=None, SPATIAL_INDEX="YES", TEMPORARY_DIR=workdir
            )
    except pyogrio.errors.DataLayerError as exc:  # e.g. an empty geometry: no bbox to index
        log.warning("FlatGeobuf export %s sent without a spatial index: %s", layer.name, exc)
        return plain
    os.remove(plain)
    return indexed


def _file_pieces(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while piece := fh.read(COPY_BYTES):
            yield piece


class _Pending(io.RawIOBase):
    """A write-only, unseekable sink: ``zipfile`` writes into it, we drain it."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _zip_parts(workdir: str, base: str) -> Iterator[bytes]:
    """A ZIP of the Shapefile's parts, made while it is sent (data descriptors, no seek)."""
    sink = _Pending()
    now = time.localtime()
    stamp = (now.tm_year, now.tm_mon, now.tm_mday, now.tm_hour, now.tm_min, now.tm_sec)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for suffix in _SHAPEFILE_PARTS:
            path = os.path.join(workdir, base + suffix)
            if not os.path.exists(path):
                continue
            info = zipfile.ZipInfo(base + suffix, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.file_size = os.path.getsize(path)  # decides whether ZIP64 is needed
            with open(path, "rb") as src, archive.open(info, "w") as dst:
                while piece := src.read(COPY_BYTES):
                    dst.write(piece)
                    if data := sink.drain():
                        yield data
            if data := sink.drain():
                yield data
    yield sink.drain()
