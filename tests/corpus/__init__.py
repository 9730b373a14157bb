"""The bad-input corpus: geometries, files and bodies Linde must refuse.

Every case is data: a name (the test id), the input, and the words the refusal must
contain so a person can act on it. The big ones (a million vertices, a zip bomb, a
100 MB body) are built on demand in a temporary folder, never committed.

``tests/test_bad_input_corpus.py`` sends each case through every endpoint and
command that accepts its kind of input and checks: a 4xx (or exit status 2) with
that message, the server still healthy, and no row (or photo) written.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

# lon/lat around Oaxaca de Juárez: the 20067 square of tests.geometries
SQUARE = [[-96.75, 17.05], [-96.70, 17.05], [-96.70, 17.10], [-96.75, 17.10], [-96.75, 17.05]]


@dataclass(frozen=True)
class Case:
    """One bad input. ``text`` is the JSON text of a geometry (it may hold ``NaN``,
    which strict JSON cannot); ``expect`` is a phrase the error message must hold."""

    name: str
    text: str
    expect: str
    #: what GDAL's reading of the same geometry in a file makes the refusal say, when
    #: it differs (it parses numbers and coordinates itself)
    file_expect: str = ""

    def expect_in_file(self) -> str:
        return self.file_expect or self.expect

    def geometry(self) -> Any:
        return json.loads(self.text)  # Python's json reads NaN and 1e400 as clients send them


def _ring(coords: list[list[float]]) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [coords]})


def million_vertex_polygon() -> str:
    """A circle of 1,000,000 vertices around Oaxaca de Juárez (about 40 MB of JSON)."""
    n = 1_000_000
    ring = [
        [
            round(-96.72 + 0.05 * math.cos(2 * math.pi * i / n), 7),
            round(17.07 + 0.05 * math.sin(2 * math.pi * i / n), 7),
        ]
        for i in range(n)
    ]
    ring.append(ring[0])
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


POLYGONS = [
    Case(
        "self_intersecting",
        _ring(
            [
                [-96.75, 17.05],
                [-96.70, 17.05],
                [-96.70, 17.10],
                [-96.72, 17.03],
                [-96.75, 17.10],
                [-96.75, 17.05],
            ]
        ),
        "self-intersection",
    ),
    Case(
        "bow_tie",
        _ring(
            [[-96.75, 17.05], [-96.70, 17.10], [-96.70, 17.05], [-96.75, 17.10], [-96.75, 17.05]]
        ),
        "self-intersection",
    ),
    Case("unclosed_ring", _ring(SQUARE[:-1]), "not closed"),
    Case(
        "three_position_ring",
        _ring([[-96.75, 17.05], [-96.70, 17.05], [-96.75, 17.05]]),
        "too few points",
    ),
    Case("nan", _ring([[-96.75, 17.05], [float("nan"), 17.05], *SQUARE[2:]]), "nan or infinity"),
    Case(
        "infinity",
        _ring([[-96.75, 17.05], [-96.70, 1e400], *SQUARE[2:]]).replace("Infinity", "1e400"),
        "nan or infinity",
        "unrecognized number: 1e400",  # GDAL's JSON parser stops at it, with its position
    ),
    Case("swapped_lat_lon", _ring([[y, x] for x, y in SQUARE]), "swapped"),
    Case("outside_mexico", _ring([[x + 93.0, y + 23.4] for x, y in SQUARE]), "outside mexico"),
    Case("empty", json.dumps({"type": "Polygon", "coordinates": []}), "empty"),
    Case(
        "geometry_collection",
        json.dumps(
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "Polygon", "coordinates": [SQUARE]}],
            }
        ),
        "geometrycollection",
    ),
    Case("three_d", _ring([[x, y, 1550.0] for x, y in SQUARE]), "heights"),
    Case(
        "measured",
        _ring([[x, y, 1550.0, 7.0] for x, y in SQUARE]),
        "more than 3 numbers",
        "heights",  # GDAL keeps the first three numbers
    ),
    Case(
        "not_coordinates",
        json.dumps({"type": "Polygon", "coordinates": "-96.7 17.0"}),
        "coordinates",
        "geometry is missing",  # GDAL reads a geometry it cannot parse as none
    ),
]


LINES = [
    Case(
        "nan",
        json.dumps({"type": "LineString", "coordinates": [[-96.75, 17.05], [-96.7, 17.1]]}).replace(
            "-96.7,", "NaN,"
        ),
        "nan or infinity",
    ),
    Case(
        "outside_mexico",
        json.dumps({"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.9]]}),
        "outside mexico",
    ),
    Case("empty", json.dumps({"type": "LineString", "coordinates": []}), "empty"),
    Case(
        "geometry_collection",
        json.dumps(
            {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "LineString", "coordinates": [[-96.75, 17.05], [-96.7, 17.1]]}
                ],
            }
        ),
        "geometrycollection",
    ),
    Case(
        "three_d",
        json.dumps(
            {"type": "LineString", "coordinates": [[-96.75, 17.05, 1.0], [-96.7, 17.1, 2.0]]}
        ),
        "heights",
    ),
    Case("polygon", _ring(SQUARE), "expected linestring"),
]

POINTS = [
    Case("nan", '{"type": "Point", "coordinates": [NaN, 17.06]}', "nan"),
    Case("infinity", '{"type": "Point", "coordinates": [-96.72, 1e400]}', "inf"),
    Case("swapped_lat_lon", '{"type": "Point", "coordinates": [17.06, -96.72]}', "swapped"),
    Case("outside_mexico", '{"type": "Point", "coordinates": [-3.70, 40.42]}', "outside mexico"),
    Case("empty", '{"type": "Point", "coordinates": []}', "empty"),
    Case(
        "measured",
        '{"type": "Point", "coordinates": [-96.72, 17.06, 1550, 3]}',
        "more than 3 numbers",
    ),
    Case(
        "geometry_collection",
        json.dumps(
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "Point", "coordinates": [-96.72, 17.06]}],
            }
        ),
        "geometrycollection",
    ),
    Case("polygon", _ring(SQUARE), "expected point"),
]


# --- files ---------------------------------------------------------------------------

#: the first bytes of a Linux executable: what a "photo" or a "CSV" must not be
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHI", 2, 62, 1) + bytes(4000)


def feature_collection(
    geometry_text: str,
    properties: dict[str, Any],
    good: dict[str, Any] | None = None,
    good_properties: dict[str, Any] | None = None,
) -> str:
    """A FeatureCollection whose second feature holds the bad geometry (row 2)."""
    first = json.dumps(
        {
            "type": "Feature",
            "properties": good_properties or properties,
            "geometry": good or {"type": "Polygon", "coordinates": [SQUARE]},
        }
    )
    second = (
        '{"type": "Feature", "properties": '
        + json.dumps(properties)
        + ', "geometry": '
        + geometry_text
        + "}"
    )
    return '{"type": "FeatureCollection", "features": [' + first + ", " + second + "]}"


def truncated(text: str) -> str:
    return text[: len(text) // 2]


def zip_bomb(path: Path, inner: str = "municipios.geojson") -> Path:
    """A 200 KB zip holding one member that unpacks to 200 MB of spaces (ratio ~1,000)."""
    chunk = b" " * (1 << 20)
    member = zipfile.ZipInfo(inner)
    member.compress_type = zipfile.ZIP_DEFLATED
    with (
        zipfile.ZipFile(path, "w") as zf,
        zf.open(member, "w", force_zip64=True) as fh,
    ):
        fh.write(b'{"type": "FeatureCollection", "features": [')
        for _ in range(200):
            fh.write(chunk)
    return path


def nested_zip(path: Path) -> Path:
    """A zip holding a zip (the classic 42.zip shape, one level deep)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("municipios.geojson", "{}")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("inner.zip", inner.getvalue())
    return path


def shapefile_without_dbf(folder: Path, properties: dict[str, Any], zipped: bool) -> Path:
    """A valid shapefile of the square whose .dbf was lost (loose files or zipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame(
        {k: [v] for k, v in properties.items()},
        geometry=[shapely.Polygon(SQUARE)],
        crs="EPSG:4326",
    )
    shp = folder / "limites.shp"
    frame.to_file(shp, engine="pyogrio")
    (folder / "limites.dbf").unlink()
    if not zipped:
        return shp
    archive = folder / "limites.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.glob("limites.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    return archive


def broken_quoting_csv(header: str, row: str) -> str:
    """A CSV whose second data row opens a quote that never closes."""
    return f'{header}\n{row}\n"{row}\n{row}\n'


def utf16_csv(header: str, row: str) -> bytes:
    """The same table saved as Excel's "Unicode text" (UTF-16 with a BOM)."""
    return f"{header}\n{row}\n".encode("utf-16")
