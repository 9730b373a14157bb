"""Files an operator imports can only be data (issue 17, item 6).

Every file is crafted here, in tmp_path. A local HTTP server counts the requests a
file makes Linde send: there must be none.
"""

from __future__ import annotations

import http.server
import json
import sqlite3
import struct
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.errors import UnreadableFile
from layers.importers import untrusted
from layers.importers.files import read_geodata

POINT = {"type": "Point", "coordinates": [-96.7266, 17.0654]}  # Oaxaca de Juárez


def feature_collection(**extra: object) -> dict[str, object]:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"CVEGEO": "20067"}, "geometry": POINT}],
        **extra,
    }


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local web server; the list holds every path asked of it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.do_HEAD()
            self.wfile.write(json.dumps(feature_collection()).encode())

        def do_HEAD(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(json.dumps(feature_collection()))))
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()


def vrt(source: str) -> str:
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="m"><SrcDataSource>{source}</SrcDataSource>'
        "</OGRVRTLayer></OGRVRTDataSource>"
    )


def test_a_vrt_named_geojson_is_refused_and_fetches_nothing(
    tmp_path: Path, listener: tuple[str, list[str]]
) -> None:
    url, hits = listener
    path = tmp_path / "municipios.geojson"
    path.write_text(vrt(f"/vsicurl/{url}/municipios.geojson"))
    with pytest.raises(UnreadableFile, match="not a geodata file Linde can read"):
        read_geodata(path)
    assert hits == []


def test_a_geojson_crs_link_is_refused_and_fetched_never(
    tmp_path: Path, listener: tuple[str, list[str]]
) -> None:
    url, hits = listener
    # the crs member after the features: the whole file is looked at, not its head
    doc = feature_collection(crs={"type": "link", "properties": {"href": f"{url}/crs.wkt"}})
    path = tmp_path / "municipios.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(UnreadableFile, match="link"):
        read_geodata(path)
    assert hits == []
    named = feature_collection(crs={"type": "name", "properties": {"name": "EPSG:4326"}})
    path.write_text(json.dumps(named))
    assert read_geodata(path)["CVEGEO"].tolist() == ["20067"]


def test_gdal_itself_has_no_network(
    listener: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, hits = listener
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with untrusted.network_off(), pytest.raises(pyogrio.errors.DataSourceError):
        pyogrio.read_info(f"/vsicurl/{url}/municipios.geojson")
    assert hits == []
    # as it was after: a GDAL client elsewhere in the process still reaches the network
    assert pyogrio.read_info(f"/vsicurl/{url}/otros.geojson")["features"] == 1
    assert hits and set(hits) == {"/otros.geojson"}


def test_a_zip_holding_a_vrt_over_vsizip_is_refused(
    tmp_path: Path, listener: tuple[str, list[str]]
) -> None:
    url, hits = listener
    inner = tmp_path / "grande.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("grande.geojson", json.dumps(feature_collection()))
    for member in ("capas.vrt", "capas.geojson"):
        outer = tmp_path / f"via-{member}.zip"
        with zipfile.ZipFile(outer, "w") as zf:
            zf.writestr(member, vrt(f"/vsizip/{inner}/grande.geojson"))
            zf.writestr("remoto.geojson.txt", vrt(f"/vsicurl/{url}/x.geojson"))
        with pytest.raises(UnreadableFile, match=r"not one of the files|XML"):
            read_geodata(outer)
    assert hits == []


def _understate_sizes(path: Path, declared: int) -> None:
    """Rewrite every size field of a one-member zip to ``declared`` bytes."""
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)  # uncompressed size
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def test_a_zip_that_understates_its_sizes_is_refused(tmp_path: Path) -> None:
    doc = json.dumps(feature_collection()) + " " * (20 * 1024 * 1024)
    path = tmp_path / "municipios.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("municipios.geojson", doc)
    _understate_sizes(path, 1000)
    with pytest.raises(UnreadableFile, match="wrong sizes"):
        read_geodata(path)


def test_unpacking_counts_the_bytes_really_inflated(tmp_path: Path) -> None:
    path = tmp_path / "municipios.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("municipios.geojson", json.dumps(feature_collection()) + " " * 3_000_000)
    into = tmp_path / "unpacked"
    into.mkdir()
    with pytest.raises(UnreadableFile, match="LINDE_MAX_UNZIPPED_MB"):
        untrusted.unpack(path, into, limit_bytes=2_000_000)
    assert sum(p.stat().st_size for p in into.iterdir()) <= 2_000_000
    again = tmp_path / "again"
    again.mkdir()
    assert untrusted.unpack(path, again, limit_bytes=4_000_000).name == "municipios.geojson"


def test_a_geopackage_view_is_refused_before_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "municipios.gpkg"
    gpd.GeoDataFrame(
        {"CVEGEO": ["20067"]}, geometry=[shapely.Point(-96.7266, 17.0654)], crs=4326
    ).to_file(path, layer="municipios", driver="GPKG")
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE VIEW eterna AS
              WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
              SELECT m.fid + i AS fid, m.geom, m.CVEGEO FROM municipios m, n;
            INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
              VALUES ('eterna', 'features', 'eterna', 4326);
            INSERT INTO gpkg_geometry_columns
              VALUES ('eterna', 'geom', 'POINT', 4326, 0, 0);
            """
        )
    for layer in ("eterna", None):
        with pytest.raises(UnreadableFile, match="is a view"):
            read_geodata(path, layer=layer)
