"""Streaming exporters: a stream of features to the bytes of a downloadable file.

``stream_export`` turns ``(id, properties, WKB)`` tuples, read lazily from a
database cursor, into GeoJSON, CSV, GeoPackage, zipped Shapefile, KML or
FlatGeobuf, in bounded memory: features are handled ``CHUNK_FEATURES`` at a time,
so the national layer (2,474 full-detail municipalities, 57 MB of WKB, 90 MB of
GeoJSON at 7 decimals) is never held whole.

One module per family: ``text`` (GeoJSON, CSV: the first bytes leave before the
last feature is read), ``gdal`` (GeoPackage, Shapefile, KML, FlatGeobuf, written
by GDAL into a private temporary directory, then streamed), ``shapefile`` (.dbf
names, the ZIP), ``base`` (what they share). No SQL and no HTTP here: storage
hands the features in, the API picks the format (``api/media_types.py``).

Coordinates are written in the CRS they arrive in (``epsg``), x = longitude or
easting first. Text formats keep ~1 cm: 7 decimals for degrees, 2 for metres.
Datetimes are written in UTC (a naive datetime is taken to be UTC already).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence

from formats.base import (
    CHUNK_FEATURES,
    FORMATS,
    GEOMETRY_COLUMN,
    ID_COLUMN,
    TEMP_PREFIX,
    CsvGeometry,
    ExportFormat,
    FeatureRow,
    Field,
    FieldKind,
    is_geographic,
    safe_file_name,
)
from formats.shapefile import SHAPEFILE_NAME_LENGTH, shapefile_field_names
from formats.text import csv_rows, geojson, lonlat_header
from geo.errors import InvalidParameter, Problem

__all__ = [
    "CHUNK_FEATURES",
    "FORMATS",
    "SHAPEFILE_NAME_LENGTH",
    "TEMP_PREFIX",
    "CsvGeometry",
    "ExportFormat",
    "FeatureRow",
    "Field",
    "FieldKind",
    "shapefile_field_names",
    "stream_export",
]


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
    geographic = is_geographic(epsg)
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
        return geojson(fields, features, epsg=epsg, decimals=decimals, layer_name=layer_name)
    if fmt.key == "csv":
        return csv_rows(
            fields, features, decimals=decimals, mode=csv_geometry, geographic=geographic
        )
    # GDAL's writer is imported on first use: pyogrio brings pandas and geopandas with
    # it, which a server or a command that writes no such file never needs
    from formats.gdal import gdal_file

    return gdal_file(
        fmt,
        fields,
        features,
        geometry_type=geometry_type,
        epsg=epsg,
        layer_name=safe_file_name(layer_name),
    )


def _added_columns(key: str, csv_geometry: CsvGeometry, geographic: bool) -> set[str]:
    if key == "csv":
        if csv_geometry == "wkt":
            return {ID_COLUMN, "wkt"}
        return {ID_COLUMN, *lonlat_header(geographic)}
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
