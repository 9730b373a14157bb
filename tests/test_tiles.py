"""Vector tiles (OGC API - Tiles, MVT): the same tiles on both engines, shared edges
kept at every zoom, the role and filter rules of items, ETags from the change
counters, and bad tile addresses answered with the valid range."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
from pathlib import Path

import geopandas
import morecantile
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import shape
from sqlalchemy import text

from geo.tiles import (
    EXTENT,
    MVT,
    TileFeature,
    check_tile,
    decode_tile,
    encode_tile,
    tile_bounds,
    tiles_covering,
)
from layers.collections import COLLECTIONS
from layers.importers.municipalities import import_municipalities
from layers.tiles import TileQuery, render_tile
from tests.conftest import Database

#: the pair is built from one engine's copy of the fixture data; both are compared
FROM_POSTGIS = pytest.mark.parametrize("engine_kind", ["postgis"], indirect=True)

WMQ = morecantile.tms.get("WebMercatorQuad")
#: around the Oaxaca metro zone (Oaxaca de Juárez, San Jacinto Amilpas and neighbours)
METRO_BOX = (-96.80, 17.00, -96.65, 17.12)
OAXACA_DE_JUAREZ, SAN_JACINTO = "20067", "20157"


@pytest.fixture(scope="module")
def metro_pair(
    oaxaca: Database, database_factory: object, tmp_path_factory: pytest.TempPathFactory
) -> list[Database]:
    """The metro zone's municipalities (as the ``oaxaca`` fixture holds them) on a
    PostGIS and a SpatiaLite database at once, to compare the two engines' tiles."""
    with oaxaca.client() as http:
        page = http.get(
            "/collections/municipalities/items",
            params={"bbox": ",".join(map(str, METRO_BOX)), "limit": 1000},
        )
    page.raise_for_status()
    frame = geopandas.GeoDataFrame.from_features(page.json()["features"], crs=4326)
    frame = frame[frame.geometry.representative_point().within(shapely.box(*METRO_BOX))]
    path = Path(tmp_path_factory.mktemp("metro")) / "metro.geojson"
    frame.rename(columns={"name": "nom_agem"})[["cvegeo", "nom_agem", "geometry"]].to_file(
        path, driver="GeoJSON"
    )
    pair = []
    for kind in ("postgis", "spatialite"):
        database: Database = database_factory(kind, "tiles")  # type: ignore[operator]
        import_municipalities(database.engine, path, actor="test")
        pair.append(database)
    return pair


def _tile(database: Database, z: int, x: int, y: int, **kw: object) -> bytes:
    with database.engine.connect() as conn:
        q = TileQuery(z, tile_bounds(WMQ, z, x, y), **kw)  # type: ignore[arg-type]
        return render_tile(conn, COLLECTIONS["municipalities"], q)


def _features(data: bytes) -> dict[str, dict]:
    layer = decode_tile(data).get("municipalities", [])
    return {f["properties"]["cvegeo"]: f for f in layer}


def _sample_tiles() -> list[tuple[int, int, int]]:
    """A few tiles per zoom (6-14) over the metro zone, both seams included."""
    out = []
    for z in range(6, 15):
        tiles = tiles_covering(WMQ, METRO_BOX, [z])
        out.extend(tiles[:: max(1, len(tiles) // 3)][:4])
    return out


@FROM_POSTGIS
def test_both_engines_make_the_same_tiles(metro_pair: list[Database]) -> None:
    pg, sl = metro_pair
    compared = 0
    for z, x, y in _sample_tiles():
        ours, theirs = _features(_tile(pg, z, x, y)), _features(_tile(sl, z, x, y))
        assert ours.keys() == theirs.keys(), (z, x, y)
        for key, feature in ours.items():
            other = theirs[key]
            assert feature["properties"] == other["properties"]
            a, b = shape(feature["geometry"]), shape(other["geometry"])
            # equal within the tile grid: what differs is at most a unit along the outline
            differs = a.symmetric_difference(b).area
            assert differs <= max(a.length, 1) * 1.0, (z, x, y, key, differs, a.area)
            compared += 1
    assert compared > 40


@FROM_POSTGIS
def test_neighbours_share_edges_at_every_zoom(metro_pair: list[Database]) -> None:
    """Oaxaca de Juárez and San Jacinto Amilpas share a limit: in every tile showing both,
    on each engine, their outlines meet along a line and never overlap or part."""
    for database in metro_pair:
        seen = 0
        for z in range(6, 15):
            lon, lat = -96.708, 17.095  # on the 20067-20157 limit
            t = WMQ.tile(lon, lat, z)
            feats = _features(_tile(database, z, t.x, t.y))
            if OAXACA_DE_JUAREZ not in feats or SAN_JACINTO not in feats:
                continue
            a = shape(feats[OAXACA_DE_JUAREZ]["geometry"])
            b = shape(feats[SAN_JACINTO]["geometry"])
            assert a.intersection(b).area == 0, (database.kind, z)
            assert a.boundary.intersection(b.boundary).length > 0, (database.kind, z)
            seen += 1
        assert seen >= 6, database.kind
        # every pair of neighbours in one z12 tile, not only the seed case
        z = 12
        t = WMQ.tile(-96.72, 17.06, z)
        polys = {
            k: shape(f["geometry"]) for k, f in _features(_tile(database, z, t.x, t.y)).items()
        }
        for (ka, a), (kb, b) in itertools.combinations(polys.items(), 2):
            assert a.intersection(b).area <= 0.5, (database.kind, ka, kb)


@FROM_POSTGIS
def test_tiles_carry_the_features_per_tile_cap_and_filter(metro_pair: list[Database]) -> None:
    pg, sl = metro_pair
    z = 10
    t = WMQ.tile(-96.72, 17.06, z)
    for database in (pg, sl):
        everything = _features(_tile(database, z, t.x, t.y))
        assert OAXACA_DE_JUAREZ in everything and len(everything) > 5
        only = _features(_tile(database, z, t.x, t.y, filter=f"cvegeo = '{SAN_JACINTO}'"))
        assert list(only) == [SAN_JACINTO]
        narrow = _features(_tile(database, z, t.x, t.y, properties=("cvegeo",)))
        assert set(narrow[SAN_JACINTO]["properties"]) == {"cvegeo"}


def test_tile_addresses_out_of_range_name_the_range() -> None:
    from geo.errors import NotFound

    with pytest.raises(NotFound, match="0 to 24"):
        check_tile(WMQ, 25, 0, 0)
    with pytest.raises(NotFound, match="0 to 1023"):
        check_tile(WMQ, 10, 1024, 0)
    with pytest.raises(NotFound, match="0 to 3"):
        check_tile(WMQ, 2, 0, -1)
    assert EXTENT == 4096


# -- over HTTP ---------------------------------------------------------------------------------


def _url(c: str, z: int, x: int, y: int) -> str:
    return f"/collections/{c}/tiles/WebMercatorQuad/{z}/{y}/{x}"


def test_tile_over_http_with_etag_and_304(oaxaca: Database) -> None:
    z = 11
    t = WMQ.tile(-96.72, 17.06, z)
    with oaxaca.client() as http:
        r = http.get(_url("municipalities", z, t.x, t.y))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == MVT
        assert r.headers["cache-control"].startswith("public")
        assert OAXACA_DE_JUAREZ in _features(r.content)
        again = http.get(
            _url("municipalities", z, t.x, t.y), headers={"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304
        filtered = http.get(
            _url("municipalities", z, t.x, t.y), params={"filter": f"cvegeo='{SAN_JACINTO}'"}
        )
        assert list(_features(filtered.content)) == [SAN_JACINTO]
        assert filtered.headers["etag"] != r.headers["etag"]


def test_served_tiles_are_the_rendered_tiles(oaxaca: Database) -> None:
    """On PostGIS a tile is read on the event loop by a statement compiled once per
    collection and property list, the tile's numbers bound per call; it must give the
    bytes the one-off statement gives, with and without ``properties=``."""
    checked = 0
    with oaxaca.client() as http:
        for z in (8, 11, 14):
            t = WMQ.tile(-96.72, 17.06, z)
            for names in (None, ("cvegeo",), ("name", "cvegeo")):
                params = {"properties": ",".join(names)} if names else {}
                for _ in range(2):  # the second from the same compiled statement
                    r = http.get(_url("municipalities", z, t.x, t.y), params=params)
                    assert r.status_code == 200, r.text
                    served = r.content
                assert served == _tile(oaxaca, z, t.x, t.y, properties=names), (z, names)
                assert OAXACA_DE_JUAREZ in _features(served)
                if names:
                    feature = _features(served)[OAXACA_DE_JUAREZ]
                    assert set(feature["properties"]) == set(names)
                checked += 1
    assert checked == 9


def test_bad_tile_requests_are_clear_404s_and_400s(oaxaca: Database) -> None:
    with oaxaca.client() as http:
        r = http.get(_url("municipalities", 3, 8, 0))
        assert r.status_code == 404
        assert "0 to 7" in r.json()["error"]["message"]
        r = http.get(_url("municipalities", 30, 0, 0))
        assert r.status_code == 404 and "0 to 24" in r.json()["error"]["message"]
        r = http.get("/collections/municipalities/tiles/NoSuchGrid/1/0/0")
        assert r.status_code == 404 and "WebMercatorQuad" in r.json()["error"]["message"]
        r = http.get(_url("municipalities", 5, 7, 14), params={"filter": "cvegeo = "})
        assert r.status_code == 400
        r = http.get(_url("municipalities", 5, 7, 14), params={"properties": "nope"})
        assert r.status_code == 400 and "nope" in r.json()["error"]["message"]
        r = http.get(_url("municipalities", 5, 7, 14), params={"bbox": "1,2,3,4"})
        assert r.status_code == 400 and "bbox" in r.json()["error"]["message"]


def test_private_layers_need_the_role(oaxaca: Database) -> None:
    url = _url("inspections", 10, 235, 460)
    with oaxaca.client() as http:
        assert http.get(url).status_code == 401
        assert http.get("/collections/claims/tiles").status_code == 401
    with oaxaca.client("planner") as http:
        r = http.get(url)
        assert r.status_code == 200 and r.headers["cache-control"].startswith("private")


def test_tilesets_metadata_tilejson_and_style(oaxaca: Database) -> None:
    with oaxaca.client() as http:
        conformance = http.get("/conformance").json()["conformsTo"]
        assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance
        links = http.get("/collections/municipalities").json()["links"]
        assert any(lk["rel"].endswith("tilesets-vector") for lk in links)
        sets = http.get("/collections/municipalities/tiles").json()["tilesets"]
        assert [s["tileMatrixSetURI"] for s in sets] == [WMQ.uri]
        meta = http.get("/collections/municipalities/tiles/WebMercatorQuad").json()
        item = next(lk for lk in meta["links"] if lk["rel"] == "item")
        assert item["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}") and item["templated"]
        tj = http.get("/collections/municipalities/tiles/WebMercatorQuad/tilejson.json").json()
        assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/{z}/{y}/{x}")
        assert tj["vector_layers"][0]["fields"]["cvegeo"] == "String"
        style = http.get("/collections/inspections/tiles/WebMercatorQuad/style.json")
        assert style.status_code == 401
        style = http.get("/collections/municipalities/tiles/WebMercatorQuad/style.json").json()
        assert style["version"] == 8
        assert "Límite municipal oficial" in [layer["id"] for layer in style["layers"]]
        tms = http.get("/tileMatrixSets/WebMercatorQuad").json()
        assert tms["id"] == "WebMercatorQuad"


@FROM_POSTGIS
def test_an_edit_changes_the_tile_and_its_etag(api: Database, metro_pair: list[Database]) -> None:
    """The layer's change counter is in the ETag: a write is seen on the next request."""
    z = 12
    t = WMQ.tile(-96.72, 17.06, z)
    url = _url("municipalities", z, t.x, t.y)
    with api.client() as http:
        empty = http.get(url)
        assert empty.status_code == 200 and empty.content == b""
        for _ in range(2):  # twice: the cache keeps a body on its second miss
            assert http.get(url).content == b""
        source = metro_pair[0]
        with source.engine.connect() as conn:
            geojson = conn.execute(
                text("SELECT ST_AsGeoJSON(geom) FROM municipalities WHERE cvegeo = :k"),
                {"k": SAN_JACINTO},
            ).scalar_one()
        path = Path(api.photos_dir or ".") / "one.geojson"
        feature = {
            "type": "Feature",
            "properties": {"cvegeo": SAN_JACINTO, "nom_agem": "San Jacinto Amilpas"},
            "geometry": json.loads(geojson),
        }
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        import_municipalities(api.engine, path, actor="test")
        fresh = http.get(url, headers={"If-None-Match": empty.headers["etag"]})
        assert fresh.status_code == 200
        assert fresh.headers["etag"] != empty.headers["etag"]
        assert list(_features(fresh.content)) == [SAN_JACINTO]


# -- offline: MBTiles ----------------------------------------------------------------------------


@FROM_POSTGIS
@pytest.mark.subprocess
def test_tiles_export_writes_mbtiles_that_gdal_opens(
    metro_pair: list[Database], tmp_path: Path
) -> None:
    from tests.helpers import run_linde

    for database in metro_pair:
        target = tmp_path / f"metro_{database.kind}.mbtiles"
        bbox = ",".join(map(str, METRO_BOX))
        done = run_linde(
            database.url, "tiles", "export", "municipalities", target, "--bbox", bbox,
            "--zooms", "8-12",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "tiles" in done.stdout
        info = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", str(target)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert info.returncode == 0, info.stderr
        assert "Layer name: municipalities" in info.stdout
        assert "cvegeo: String" in info.stdout
        features = subprocess.run(
            ["ogrinfo", "-ro", "-al", "-oo", "ZOOM_LEVEL=12", "-where", "cvegeo='20157'",
             str(target)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert "San Jacinto Amilpas" in features.stdout
        too_many = run_linde(
            database.url, "tiles", "export", "municipalities", tmp_path / "big.mbtiles",
            "--bbox", bbox, "--zooms", "6-18", "--max-tiles", "100",
        )  # fmt: skip
        assert too_many.returncode == 2 and "more than the limit" in too_many.stderr
        assert not (tmp_path / "big.mbtiles").exists()


# -- pure tile maths ---------------------------------------------------------------------------


@given(
    lon=st.floats(-179.9, 179.9),
    lat=st.floats(-85.0, 85.0),
    z=st.integers(0, 24),
)
def test_a_point_lies_in_the_bounds_of_its_tile(lon: float, lat: float, z: int) -> None:
    t = WMQ.tile(lon, lat, z)
    check_tile(WMQ, z, t.x, t.y)
    west, south, east, north = tile_bounds(WMQ, z, t.x, t.y).lonlat_buffered
    assert west <= lon <= east and south <= lat <= north


def test_the_python_encoder_keeps_a_wiggly_shared_edge_shared() -> None:
    """Two squares sharing an edge of 400 vertices: at every zoom the decoded polygons
    touch along a line and do not overlap (the SpatiaLite path, without a database)."""
    lon0, lat0, size = -96.75, 17.03, 0.05
    edge = [(lon0 + size + 0.002 * math.sin(i / 7), lat0 + size * i / 400) for i in range(401)]
    west = shapely.Polygon([(lon0, lat0), *edge, (lon0, lat0 + size)])
    east = shapely.Polygon([*edge, (lon0 + 2 * size, lat0 + size), (lon0 + 2 * size, lat0)])
    assert west.is_valid and east.is_valid and west.intersection(east).area == 0
    for z in range(6, 15):
        t = WMQ.tile(lon0 + size, lat0 + size / 2, z)
        data = encode_tile(
            "municipalities",
            [
                TileFeature(None, {"cvegeo": "a"}, west),
                TileFeature(None, {"cvegeo": "b"}, east),
            ],
            tile_bounds(WMQ, z, t.x, t.y),
            z,
        )
        polys = {f["properties"]["cvegeo"]: shape(f["geometry"]) for f in _layer(data)}
        assert polys["a"].intersection(polys["b"]).area == 0, z
        assert polys["a"].boundary.intersection(polys["b"].boundary).length > 0, z


def _layer(data: bytes) -> list[dict]:
    return decode_tile(data)["municipalities"]
