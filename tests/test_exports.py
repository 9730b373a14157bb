"""Streaming exports: every format written, read back with GDAL and compared.

Pure tests (no database): features are built here, near Oaxaca de Juárez.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from api.media_types import format_for_media_type
from formats import (
    FORMATS,
    TEMP_PREFIX,
    Field,
    FieldKind,
    shapefile_field_names,
    stream_export,
)
from geo.errors import InvalidInput

GDAL_FORMATS = ["gpkg", "shp", "kml", "fgb"]


def square(x: float, y: float, size: float) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]


@dataclass(frozen=True)
class Layer:
    name: str
    geometry_type: str
    fields: list[Field]
    features: list[tuple[str | int, dict[str, Any], BaseGeometry | None]]

    def rows(self, epsg: int = 4326) -> Iterator[tuple[str | int, Mapping[str, Any], bytes | None]]:
        to_crs = Transformer.from_crs(4326, epsg, always_xy=True)
        for fid, props, geom in self.features:
            if geom is not None and epsg != 4326:
                geom = shapely.transform(geom, lambda c: np.column_stack(to_crs.transform(*c.T)))
            yield fid, props, None if geom is None else shapely.to_wkb(geom)

    def geometry(self, fid: str | int, epsg: int = 4326) -> BaseGeometry | None:
        for _, _, wkb in (row for row in self.rows(epsg) if str(row[0]) == str(fid)):
            return None if wkb is None else shapely.from_wkb(wkb)
        raise KeyError(fid)


MUNICIPALITIES = Layer(
    "municipalities",
    "MultiPolygon",
    [
        Field("name", "str"),
        Field("population", "int"),
        Field("area_ha", "float"),
        Field("official", "bool"),
        Field("valid_from", "date"),
        Field("updated_at", "datetime"),
        Field("sources", "json"),
    ],
    [
        (
            "20067",
            {
                "name": "Oaxaca de Juárez",
                "population": 270955,
                "area_ha": 8536.123,
                "official": True,
                "valid_from": date(2024, 12, 1),
                "updated_at": datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=UTC),
                "sources": ["INEGI Marco Geoestadístico", "decreto"],
            },
            MultiPolygon(
                [
                    Polygon(
                        square(-96.7512345678, 17.0512345678, 0.05),
                        [square(-96.7312345678, 17.0712345678, 0.01)[::-1]],
                    ),
                    Polygon(square(-96.6912345678, 17.0012345678, 0.01)),
                ]
            ),
        ),
        (
            "20157",
            {
                "name": "San Jacinto Amilpas",
                "population": None,
                "area_ha": None,
                "official": False,
                "valid_from": None,
                # another offset: written in UTC
                "updated_at": datetime(2025, 3, 14, 3, 0, tzinfo=timezone(timedelta(hours=-6))),
                "sources": {"acta": "Ñ-17", "páginas": 3},
            },
            MultiPolygon([Polygon(square(-96.68, 17.08, 0.02))]),
        ),
        ("20999", {"name": "Ñ", "sources": None}, None),
    ],
)

RIVERS = Layer(
    "rivers",
    "MultiLineString",
    [Field("name", "str"), Field("length_m", "float")],
    [
        (
            "atoyac",
            {"name": "Río Atoyac", "length_m": 12345.67},
            MultiLineString(
                [
                    [(-96.75, 17.00), (-96.7234567891, 17.0345678912), (-96.70, 17.10)],
                    [(-96.69, 17.05), (-96.68, 17.06)],
                ]
            ),
        ),
        (
            "salado",
            {"name": "Río Salado", "length_m": None},
            MultiLineString([[(-96.70, 17.02), (-96.65, 17.03)]]),
        ),
    ],
)

INSPECTIONS = Layer(
    "inspection_points",
    "Point",
    [
        Field("category", "str"),
        Field("notes", "str"),
        Field("severity", "int"),
        Field("recorded_at", "datetime"),
        Field("photos", "json"),
    ],
    [
        (
            1,
            {
                "category": "contaminación",
                "notes": "Descarga junto al puente, colonia Emiliano Zapata",
                "severity": 3,
                "recorded_at": datetime(2025, 5, 2, 10, 15, 30),  # naive: taken as UTC
                "photos": [],
            },
            Point(-96.7123456789, 17.0654321098),
        ),
        (
            2,
            {
                "category": "relleno con escombro",
                "notes": None,
                "severity": None,
                "recorded_at": None,
                "photos": {"n": 2},
            },
            Point(-96.71, 17.06),
        ),
        (3, {"category": "Ñ", "notes": "á é í ó ú ü ñ", "severity": 1}, Point(-96.7, 17.07)),
    ],
)

LAYERS = {layer.name: layer for layer in (MUNICIPALITIES, RIVERS, INSPECTIONS)}


def export(
    key: str, layer: Layer, epsg: int = 4326, csv_geometry: Any = "wkt", rows: Any = None
) -> bytes:
    chunks = stream_export(
        FORMATS[key],
        layer.fields,
        layer.rows(epsg) if rows is None else rows,
        geometry_type=layer.geometry_type,
        epsg=epsg,
        layer_name=layer.name,
        csv_geometry=csv_geometry,
    )
    return b"".join(chunks)


def gdal_path(key: str, data: bytes, tmp_path: Path, layer: str) -> str:
    path = tmp_path / f"export.{FORMATS[key].extension}"
    path.write_bytes(data)
    if key == "shp":
        return f"/vsizip/{path}/{layer}.shp"
    return str(path)


def read_back(key: str, data: bytes, tmp_path: Path, layer: Layer) -> pd.DataFrame:
    src = gdal_path(key, data, tmp_path, layer.name)
    if key == "csv":
        return pyogrio.read_dataframe(src, GEOM_POSSIBLE_NAMES="wkt", KEEP_GEOM_COLUMNS="NO")
    # GDAL turns an integer GeoJSON feature "id" into the FID, not a column
    return pyogrio.read_dataframe(src, fid_as_index=True)


def column(key: str, df: pd.DataFrame, layer: Layer, name: str) -> str:
    """Where a property lands in the file read back."""
    if key == "shp":
        return shapefile_field_names(["id", *(f.name for f in layer.fields)])[name]
    if key == "kml":
        if name == "name":
            return "Name"  # the KML driver writes a "name" field as the placemark's <name>
        if name == "id" and "id2" in df.columns:
            return "id2"  # the LIBKML reader keeps "id" for the placemark's XML id
    return name


def blank(value: Any) -> bool:
    if value is None or value is pd.NaT or (isinstance(value, str) and value == ""):
        return True
    return isinstance(value, float) and math.isnan(value)


def canonical(kind: FieldKind, value: Any) -> Any:
    """A value read back or sent, in one comparable form per kind."""
    if blank(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if kind == "str":
        return str(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return round(float(value), 6)
    if kind == "bool":
        return value in (True, 1, "1", "true", "True")
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.floor("ms").to_pydatetime()
    if kind == "date":
        if isinstance(value, str):
            value = value.replace("/", "-")
        return pd.Timestamp(value).date()
    if kind == "json":
        return orjson.loads(value) if isinstance(value, str) else value
    raise AssertionError(kind)


def assert_same_geometry(got: BaseGeometry | None, want: BaseGeometry | None, tol: float) -> None:
    if want is None:  # read back as None, NaN (CSV) or an empty geometry
        assert not isinstance(got, BaseGeometry) or got.is_empty
        return
    assert isinstance(got, BaseGeometry)
    got = shapely.force_2d(got)
    assert shapely.hausdorff_distance(got, want) <= tol, (got.wkt[:200], want.wkt[:200])
    assert got.geom_type.removeprefix("Multi") == want.geom_type.removeprefix("Multi") or (
        got.geom_type == "GeometryCollection"
    )
    if want.area:
        assert got.area == pytest.approx(want.area, rel=1e-5)
    elif want.length:
        assert got.length == pytest.approx(want.length, rel=1e-5)


def check_round_trip(key: str, layer: Layer, df: pd.DataFrame, epsg: int) -> None:
    tol = 1e-6 if epsg == 4326 else 0.01
    assert len(df) == len(layer.features)
    id_column = column(key, df, layer, "id")
    id_values = df[id_column] if id_column in df.columns else df.index
    ids = [str(canonical("str", v)) for v in id_values]
    assert sorted(ids) == sorted(str(fid) for fid, _, _ in layer.features)
    by_id = {fid: row for fid, (_, row) in zip(ids, df.iterrows(), strict=True)}
    for fid, props, _ in layer.features:
        row = by_id[str(fid)]
        for f in layer.fields:
            got = canonical(f.kind, row[column(key, df, layer, f.name)])
            want = canonical(f.kind, props.get(f.name))
            if key == "shp" and f.kind == "json" and want is not None:
                want = canonical("json", orjson.dumps(want).decode())
            assert got == want, (key, fid, f.name, got, want)
        assert_same_geometry(row["geometry"], layer.geometry(fid, epsg), tol)


# --- every format, every geometry type ---------------------------------------------------


@pytest.mark.parametrize("layer_name", list(LAYERS))
@pytest.mark.parametrize("key", list(FORMATS))
def test_round_trip_wgs84(key: str, layer_name: str, tmp_path: Path) -> None:
    layer = LAYERS[layer_name]
    data = export(key, layer)
    df = read_back(key, data, tmp_path, layer)
    check_round_trip(key, layer, df, 4326)
    if key != "csv":
        info = pyogrio.read_info(gdal_path(key, data, tmp_path, layer.name))
        assert info["crs"] == "EPSG:4326"


@pytest.mark.parametrize("layer_name", list(LAYERS))
@pytest.mark.parametrize("key", ["geojson", "gpkg", "shp", "fgb"])
def test_round_trip_mexico_lcc(key: str, layer_name: str, tmp_path: Path) -> None:
    layer = LAYERS[layer_name]
    data = export(key, layer, epsg=6372)
    df = read_back(key, data, tmp_path, layer)
    check_round_trip(key, layer, df, 6372)
    assert pyogrio.read_info(gdal_path(key, data, tmp_path, layer.name))["crs"] == "EPSG:6372"


def test_geojson_is_compact_rounded_and_nests_json() -> None:
    doc = orjson.loads(export("geojson", MUNICIPALITIES))
    assert "crs" not in doc
    first = doc["features"][0]
    assert first["id"] == "20067"
    assert first["properties"]["sources"] == ["INEGI Marco Geoestadístico", "decreto"]
    assert first["properties"]["updated_at"] == "2025-03-14T09:26:53.589000+00:00"
    assert doc["features"][1]["properties"]["updated_at"] == "2025-03-14T09:00:00+00:00"
    assert first["geometry"]["coordinates"][0][0][0] == [-96.7512346, 17.0512346]
    assert doc["features"][2]["geometry"] is None

    projected = orjson.loads(export("geojson", MUNICIPALITIES, epsg=6372))
    assert projected["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::6372"
    x, y = projected["features"][0]["geometry"]["coordinates"][0][0][0]
    assert round(x, 2) == x and round(y, 2) == y


# --- CSV ----------------------------------------------------------------------------------


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_wkt_has_accents_and_rounded_wkt() -> None:
    rows = parse_csv(export("csv", MUNICIPALITIES))
    assert rows[0] == ["id", *(f.name for f in MUNICIPALITIES.fields), "wkt"]
    assert rows[1][:2] == ["20067", "Oaxaca de Juárez"]
    assert rows[2][1] == "San Jacinto Amilpas"
    assert rows[3][1] == "Ñ"
    assert rows[1][-1].startswith("MULTIPOLYGON (((-96.7512346 17.0512346,")
    assert rows[1][4] == "true" and rows[2][4] == "false"
    assert rows[2][2] == "" and rows[3][-1] == ""  # None and no geometry: empty cells
    assert orjson.loads(rows[2][-2]) == {"acta": "Ñ-17", "páginas": 3}


def test_csv_lonlat_is_a_point_on_each_geometry() -> None:
    for layer in LAYERS.values():
        rows = parse_csv(export("csv", layer, csv_geometry="lonlat"))
        assert rows[0][-2:] == ["lon", "lat"]
        for row, (_, _, geom) in zip(rows[1:], layer.features, strict=True):
            if geom is None:
                assert row[-2:] == ["", ""]
                continue
            point = Point(float(row[-2]), float(row[-1]))
            assert geom.distance(point) < 1e-6
            if isinstance(geom, Point):
                assert point.distance(geom) < 1e-7


def test_csv_lonlat_in_a_projected_crs_names_columns_x_y() -> None:
    rows = parse_csv(export("csv", INSPECTIONS, epsg=6372, csv_geometry="lonlat"))
    assert rows[0][-2:] == ["x", "y"]
    x, y = float(rows[1][-2]), float(rows[1][-1])
    assert 2_000_000 < x < 4_500_000 and 500_000 < y < 2_500_000


def test_csv_opens_in_gdal_with_lonlat_columns(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_bytes(export("csv", INSPECTIONS, csv_geometry="lonlat"))
    df = pyogrio.read_dataframe(path, X_POSSIBLE_NAMES="lon", Y_POSSIBLE_NAMES="lat")
    assert list(df["category"]) == ["contaminación", "relleno con escombro", "Ñ"]
    assert df.geometry.iloc[0].distance(Point(-96.7123457, 17.0654321)) < 1e-9


# --- empty results ------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(FORMATS))
def test_empty_result_is_a_valid_empty_file(key: str, tmp_path: Path) -> None:
    data = export(key, MUNICIPALITIES, rows=iter(()))
    if key == "geojson":
        assert orjson.loads(data) == {
            "type": "FeatureCollection",
            "name": "municipalities",
            "features": [],
        }
    elif key == "csv":
        assert parse_csv(data) == [["id", *(f.name for f in MUNICIPALITIES.fields), "wkt"]]
    else:
        df = pyogrio.read_dataframe(gdal_path(key, data, tmp_path, "municipalities"))
        assert len(df) == 0


# --- temporary files ----------------------------------------------------------------------


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def export_dirs(root: Path) -> list[Path]:
    return list(root.glob(f"{TEMP_PREFIX}*"))


@pytest.mark.parametrize("key", GDAL_FORMATS)
def test_closing_early_removes_the_temporary_files(key: str, private_tmp: Path) -> None:
    chunks = stream_export(
        FORMATS[key],
        MUNICIPALITIES.fields,
        MUNICIPALITIES.rows(),
        geometry_type="MultiPolygon",
        epsg=4326,
        layer_name="municipalities",
    )
    assert export_dirs(private_tmp) == []  # nothing happens before the first next()
    assert next(chunks)
    assert len(export_dirs(private_tmp)) == 1
    chunks.close()
    assert export_dirs(private_tmp) == []


@pytest.mark.parametrize("key", GDAL_FORMATS)
def test_reading_to_the_end_removes_the_temporary_files(key: str, private_tmp: Path) -> None:
    assert export(key, RIVERS)
    assert export_dirs(private_tmp) == []


def test_an_error_in_the_feature_stream_comes_out_as_itself(private_tmp: Path) -> None:
    class CursorGone(Exception):
        pass

    def rows() -> Iterator[tuple[str | int, Mapping[str, Any], bytes | None]]:
        for i in range(600):  # past the first chunk, so GDAL is already writing
            yield i, {"category": "Ñ"}, shapely.to_wkb(Point(-96.7, 17.0))
        raise CursorGone("server closed the connection")

    with pytest.raises(CursorGone, match="server closed"):
        export("gpkg", INSPECTIONS, rows=rows())
    assert export_dirs(private_tmp) == []


def test_geojson_streams_before_reading_everything() -> None:
    consumed = 0

    def rows() -> Iterator[tuple[str | int, Mapping[str, Any], bytes | None]]:
        nonlocal consumed
        for i in range(20_000):
            consumed += 1
            yield (
                i,
                {"category": "contaminación", "notes": "x" * 50},
                shapely.to_wkb(Point(-96.7 + i * 1e-5, 17.0)),
            )

    chunks = stream_export(
        FORMATS["geojson"],
        INSPECTIONS.fields,
        rows(),
        geometry_type="Point",
        epsg=4326,
        layer_name="inspection_points",
    )
    assert next(chunks).startswith(b'{"type":"FeatureCollection"')
    assert consumed <= 1_000
    rest = b"".join(chunks)
    assert rest.endswith(b"]}\n") and consumed == 20_000


# --- shapefile specifics ------------------------------------------------------------------


def test_shapefile_zip_holds_all_parts_in_utf8(tmp_path: Path) -> None:
    data = export("shp", MUNICIPALITIES)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            [
                *(f"municipalities.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")),
                "municipalities_campos.csv",
            ]
        )
        assert archive.read("municipalities.cpg").strip().upper() in (b"UTF-8", b"UTF8")
        assert archive.testzip() is None


def test_shapefile_zip_maps_every_short_name_to_the_full_one(tmp_path: Path) -> None:
    """Names longer than 10 characters are not cut silently: the ZIP holds a CSV beside
    the .shp with each .dbf name and the column's full name, in the .dbf's order."""
    layer = Layer(
        "long_names",
        "Point",
        [
            Field("municipality_name", "str"),
            Field("municipality_cvegeo", "str"),
            Field("Categoría", "str"),
            Field("name", "str"),
        ],
        [("a", {"municipality_name": "Oaxaca", "name": "x"}, Point(-96.7, 17.0))],
    )
    data = export("shp", layer)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read("long_names_campos.csv").decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        archive.extractall(tmp_path)
    dbf_names = pyogrio.read_info(tmp_path / "long_names.shp")["fields"].tolist()
    assert rows == [
        ["campo_shp", "nombre_completo"],
        ["id", "id"],
        ["municipali", "municipality_name"],
        ["municipa_1", "municipality_cvegeo"],
        ["Categoria", "Categoría"],
        ["name", "name"],
    ]
    assert dbf_names == [short for short, _ in rows[1:]]


def test_shapefile_field_names_are_short_unique_and_stable() -> None:
    names = ["id", "population_total", "population_urban", "populati_1", "año_censo", "Area_HA"]
    mapping = shapefile_field_names(names)
    assert mapping == shapefile_field_names(names)
    assert mapping["populati_1"] == "populati_1"  # names that fit keep their spelling
    assert mapping["Area_HA"] == "Area_HA"
    assert mapping["año_censo"] == "ano_censo"
    assert all(len(v) <= 10 and v.isascii() for v in mapping.values())
    assert len({v.upper() for v in mapping.values()}) == len(names)


# --- FlatGeobuf ---------------------------------------------------------------------------


def test_flatgeobuf_has_a_spatial_index_when_every_feature_has_geometry(tmp_path: Path) -> None:
    path = gdal_path("fgb", export("fgb", RIVERS), tmp_path, "rivers")
    assert pyogrio.read_info(path)["capabilities"]["fast_spatial_filter"]
    near_salado = pyogrio.read_dataframe(path, bbox=(-96.66, 17.02, -96.64, 17.04))
    assert list(near_salado["id"]) == ["salado"]


def test_flatgeobuf_without_geometry_somewhere_is_sent_without_index(tmp_path: Path) -> None:
    # the municipalities layer holds a feature without geometry (20999)
    path = gdal_path("fgb", export("fgb", MUNICIPALITIES), tmp_path, "municipalities")
    assert not pyogrio.read_info(path)["capabilities"]["fast_spatial_filter"]
    assert list(pyogrio.read_dataframe(path)["id"]) == ["20067", "20157", "20999"]


# --- KML and media types ------------------------------------------------------------------


def test_kml_in_a_projected_crs_is_refused_before_any_output() -> None:
    with pytest.raises(InvalidInput) as caught:
        stream_export(
            FORMATS["kml"],
            MUNICIPALITIES.fields,
            MUNICIPALITIES.rows(6372),
            geometry_type="MultiPolygon",
            epsg=6372,
            layer_name="municipalities",
        )
    assert caught.value.problems[0].field == "crs"
    assert "f=gpkg" in caught.value.problems[0].reason


def test_kml_names_placemarks_and_keeps_accents() -> None:
    text = export("kml", MUNICIPALITIES).decode("utf-8")
    assert "<name>Oaxaca de Juárez</name>" in text
    assert "-96.7512346,17.0512346" in text


@pytest.mark.parametrize(
    ("accept", "key"),
    [
        ("application/geopackage+sqlite3", "gpkg"),
        ("application/flatgeobuf", "fgb"),
        ("application/vnd.google-earth.kml+xml", "kml"),
        ("application/zip", "shp"),
        ("text/csv", "csv"),
        ("text/csv; charset=utf-8", "csv"),
        ("application/geo+json", "geojson"),
        ("text/csv;q=0.5, application/geopackage+sqlite3;q=0.9", "gpkg"),
        ("Application/FlatGeobuf;q=0.2, text/csv;q=0.1", "fgb"),
        ("text/html, application/geo+json;q=0.9, */*;q=0.8", "geojson"),
        ("application/zip;q=0, text/csv;q=0.3", "csv"),
        ("text/csv;q=abc, application/flatgeobuf", "fgb"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None),
        ("*/*", None),
        ("", None),
    ],
)
def test_format_for_media_type(accept: str, key: str | None) -> None:
    fmt = format_for_media_type(accept)
    assert (fmt.key if fmt else None) == key


def test_formats_table() -> None:
    assert set(FORMATS) == {"geojson", "csv", "gpkg", "shp", "kml", "fgb"}
    for key, fmt in FORMATS.items():
        assert fmt.key == key and fmt.title and fmt.extension
        assert format_for_media_type(fmt.media_type) is fmt


def test_field_name_clashing_with_an_added_column_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="clash"):
        stream_export(
            FORMATS["csv"],
            [Field("wkt", "str")],
            iter(()),
            geometry_type="Point",
            epsg=4326,
            layer_name="x",
        )
