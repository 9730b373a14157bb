"""GeoPackage, Shapefile, KML and FlatGeobuf, written by GDAL.

``pyogrio.write_arrow`` is fed by a pyarrow ``RecordBatchReader`` over the
feature stream, so GDAL pulls one chunk at a time, into a private temporary
directory; the finished file is then streamed in 1 MiB pieces (the Shapefile
parts as a ZIP built on the fly) and the directory is removed, even when the
consumer stops reading early. The first byte leaves only once the whole file is
written.

* FlatGeobuf gets a packed Hilbert R-tree index when every feature has a
  geometry (GDAL cannot index a feature without one); see ``_write_flatgeobuf``.
* KML uses a field called ``name`` as each placemark's label (Google Earth).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely

from formats.base import (
    CHUNK_FEATURES,
    COPY_BYTES,
    GEOMETRY_COLUMN,
    ID_COLUMN,
    NATIVE,
    TEMP_PREFIX,
    ExportFormat,
    FeatureRow,
    Field,
    FieldKind,
    chunks,
    json_text,
    rounded_geometries,
    utc,
    wkb_bytes,
)
from formats.shapefile import FIELD_MAP_SUFFIX, field_map_csv, shapefile_field_names, zip_parts

log = logging.getLogger("linde.exports")

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
        return json_text(value)
    if column.kind == "datetime" and column.arrow_type == pa.string():
        return utc(value).isoformat()
    return NATIVE[column.kind](value)


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
            for chunk in chunks(self.features):
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
            wkbs: list[bytes | None] = list(shapely.to_wkb(rounded_geometries(chunk, 7)))
        else:
            wkbs = [wkb_bytes(wkb) for _, _, wkb in chunk]
        self.count += len(chunk)
        self.null_geometries += sum(wkb is None for wkb in wkbs)
        return pa.record_batch(
            [ids, *attributes, pa.array(wkbs, type=pa.binary())], schema=self.schema
        )


def _prepend(first: FeatureRow, rest: Iterator[FeatureRow]) -> Iterator[FeatureRow]:
    yield first
    yield from rest


def gdal_file(
    fmt: ExportFormat,
    fields: Sequence[Field],
    features: Iterable[FeatureRow],
    *,
    geometry_type: str,
    epsg: int,
    layer_name: str,
) -> Generator[bytes, None, None]:
    """The bytes of the file GDAL writes for ``fmt`` (``layer_name`` is file-safe)."""
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
            names = [(ID_COLUMN, ID_COLUMN), *((c.name, c.source) for c in feed.columns)]
            extra = {layer_name + FIELD_MAP_SUFFIX: field_map_csv(names)}
            yield from zip_parts(workdir, layer_name, extra)
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
