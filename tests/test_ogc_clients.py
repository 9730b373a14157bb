"""Client conformance: what real clients nobody here wrote get from Linde, on both engines.

* GDAL 3.12 (the pyogrio wheel) and GDAL 3.6 (Debian's ``ogr2ogr``): EPSG:6372 in its
  authority's axis order (northing, easting) against the engine's own ``ST_Transform``,
  and filters pushed to the server, watched in a log of the requests Linde received;
* QGIS (Debian's ``python3-qgis``, headless): every public collection opens as the
  geometry it holds, and a subset string reaches the server;
* OWSLib: landing page, conformance, collections, items;
* the OGC API - Features 1.0 JSON schemas (``tests/schemas``, vendored with their licence):
  landing page, conformance, collections, items and every error body validate.

Only the public collections and the Oaxaca metro zone's municipalities are used. The
request counts are asserted as upper bounds that a client filtering on its side (one
request per page of the whole layer) cannot meet.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyogrio
import pytest
import shapely
import uvicorn
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from api.app import create_app
from layers import dialects
from layers.schema import municipalities
from layers.settings import Settings
from layers.users import add_user
from tests.clients import Recorder
from tests.conftest import Database, free_port
from tests.helpers import PASSWORD, ok
from tests.schemas import ogc_validator

OAXACA_DE_JUAREZ, SAN_JACINTO = "20067", "20157"
EPSG6372 = "http://www.opengis.net/def/crs/EPSG/0/6372"
QGIS_SCRIPT = Path(__file__).parent / "clients" / "qgis_open.py"
GDAL_SCRIPT = Path(__file__).parent / "clients" / "gdal_read.py"
PUBLIC = ("municipalities", "metro_zones", "rivers")


@dataclass
class Watched:
    """Linde over real HTTP, with the log of every request it received."""

    base_url: str
    database: Database
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def items_requests(self, collection: str) -> list[str]:
        """The query strings of the ``items`` requests of ``collection``, in order."""
        path = f"/collections/{collection}/items"
        return [query for method, p, query in self.log if method == "GET" and p == path]


@pytest.fixture(scope="module")
def watched(oaxaca: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    """The ``oaxaca`` database served by a second Linde whose requests are logged."""
    app = create_app(
        Settings(database_url=oaxaca.url, photos_dir=tmp_path_factory.mktemp("photos"))
    )
    port = free_port()
    out = Watched(f"http://127.0.0.1:{port}", oaxaca)
    server = uvicorn.Server(
        uvicorn.Config(Recorder(app, out.log), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the watched server did not start")
        time.sleep(0.05)
    yield out
    server.should_exit = True
    thread.join(timeout=10)


def _engine_6372(database: Database, cvegeo: str) -> BaseGeometry:
    """The municipality as the engine itself projects it (PostGIS or SpatiaLite
    ``ST_Transform``), easting first as WKB always is."""
    with database.engine.connect() as conn:
        wkb = conn.execute(
            select(dialects.as_wkb(conn.dialect, municipalities.c.geom, 6372)).where(
                municipalities.c.cvegeo == cvegeo
            )
        ).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def gdal_312(base_url: str, layer: str, where: str = "", crs: str = "") -> dict[str, Any]:
    """What GDAL 3.12 (the pyogrio wheel) reads, in a child process (see gdal_read.py)."""
    done = subprocess.run(
        [sys.executable, str(GDAL_SCRIPT), base_url, layer, where, crs],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out: dict[str, Any] = json.loads(done.stdout)
    out["geometries"] = [shapely.from_wkb(bytes.fromhex(h)) for h in out["wkb"]]
    return out


# --- axis order (OGC API - Features Part 2) -------------------------------------------------


@pytest.mark.subprocess
def test_gdal_312_reads_epsg_6372_where_the_engine_puts_it(watched: Watched) -> None:
    """GDAL 3.12 reads ``crs=EPSG:6372`` in EPSG's order, northing first, as Part 2 asks."""
    read = gdal_312(watched.base_url, "municipalities", f"cvegeo = '{SAN_JACINTO}'", "EPSG:6372")
    assert [row["cvegeo"] for row in read["rows"]] == [SAN_JACINTO]
    got = read["geometries"][0]
    expected = _engine_6372(watched.database, SAN_JACINTO)
    # 2 decimals of a metre are served: no vertex moves more than a centimetre
    assert got.hausdorff_distance(expected) < 0.011
    assert 2_900_000 < got.centroid.x < 3_200_000  # the easting, where GDAL puts x


def test_the_wire_carries_northing_first_in_6372(watched: Watched) -> None:
    body = httpx.get(
        f"{watched.base_url}/collections/municipalities/items/{SAN_JACINTO}",
        params={"crs": EPSG6372},
    ).json()
    northing, easting = body["geometry"]["coordinates"][0][0][0]
    expected = shapely.get_coordinates(_engine_6372(watched.database, SAN_JACINTO))
    assert np.isclose(expected[:, 0], easting, atol=0.011).any()
    assert 500_000 < northing < 800_000 and 2_900_000 < easting < 3_200_000


def test_bbox_crs_6372_is_read_northing_first(watched: Watched) -> None:
    minx, miny, maxx, maxy = _engine_6372(watched.database, SAN_JACINTO).bounds
    r = httpx.get(
        f"{watched.base_url}/collections/municipalities/items",
        params={"bbox": f"{miny},{minx},{maxy},{maxx}", "bbox-crs": EPSG6372, "limit": 100},
    )
    assert r.status_code == 200, r.text
    keys = {f["id"] for f in r.json()["features"]}
    assert SAN_JACINTO in keys and len(keys) < 15  # its neighbours, not half the state


# --- RFC 7946 winding ------------------------------------------------------------------------


def _rings(geometry: BaseGeometry) -> tuple[list[Any], list[Any]]:
    polygons = list(getattr(geometry, "geoms", [geometry]))
    return [p.exterior for p in polygons], [i for p in polygons for i in p.interiors]


@pytest.mark.parametrize("query", [{}, {"crs": EPSG6372}, {"f": "geojson"}])
def test_exterior_rings_are_counter_clockwise(watched: Watched, query: dict[str, str]) -> None:
    r = httpx.get(
        f"{watched.base_url}/collections/municipalities/items",
        params={"bbox": "-96.80,17.00,-96.65,17.15", "limit": 100, **query},
    )
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    assert features
    for feature in features:
        geometry = shape(feature["geometry"])
        if "crs" in query:  # northing, easting: back to x, y before judging the turn
            geometry = shapely.transform(geometry, lambda ne: ne[:, ::-1])
        exteriors, holes = _rings(geometry)
        assert all(shapely.is_ccw(ring) for ring in exteriors), feature["id"]
        assert not any(shapely.is_ccw(ring) for ring in holes), feature["id"]


# --- filters pushed to the server ------------------------------------------------------------


@pytest.mark.subprocess
def test_gdal_312_sends_a_where_to_the_server(watched: Watched) -> None:
    before = len(watched.log)
    read = gdal_312(watched.base_url, "municipalities", f"cvegeo = '{SAN_JACINTO}'")
    assert [row["cvegeo"] for row in read["rows"]] == [SAN_JACINTO]
    pages = [q for m, p, q in watched.log[before:] if p == "/collections/municipalities/items"]
    assert any(SAN_JACINTO in q for q in pages), pages  # the filter reached Linde
    assert len(pages) <= 3, pages  # schema sample + one filtered page (+ a count)


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="Debian's GDAL is not installed")
@pytest.mark.subprocess
def test_debian_ogr2ogr_sends_a_where_to_the_server(watched: Watched, tmp_path: Path) -> None:
    before = len(watched.log)
    out = tmp_path / "one.gpkg"
    done = subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            "-where",
            f"cvegeo = '{OAXACA_DE_JUAREZ}'",
            str(out),
            f"OAPIF:{watched.base_url}",
            "municipalities",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert list(pyogrio.read_dataframe(out)["cvegeo"]) == [OAXACA_DE_JUAREZ]
    pages = [q for m, p, q in watched.log[before:] if p == "/collections/municipalities/items"]
    assert any(f"cvegeo={OAXACA_DE_JUAREZ}" in q for q in pages), pages
    assert len(pages) <= 3, pages


def test_openapi_lists_each_collections_queryables(watched: Watched) -> None:
    doc = httpx.get(f"{watched.base_url}/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    for name in PUBLIC:
        operation = doc["paths"][f"/collections/{name}/items"]["get"]
        names = {p["name"] for p in operation["parameters"]}
        standard = {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter"}
        assert standard | {"filter-lang", "filter-crs", "sortby", "properties", "f"} <= names
        queryables = httpx.get(f"{watched.base_url}/collections/{name}/queryables").json()
        assert set(queryables["properties"]) - {"geometry"} <= names, name
    landing = httpx.get(watched.base_url + "/").json()
    desc = next(link for link in landing["links"] if link["rel"] == "service-desc")
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.1"
    conforms = httpx.get(f"{watched.base_url}/conformance").json()["conformsTo"]
    assert not any(c.endswith("/conf/oas30") for c in conforms)


# --- declared is served ----------------------------------------------------------------------


def test_sortables_are_served_where_sorting_is_declared(watched: Watched) -> None:
    conforms = httpx.get(f"{watched.base_url}/conformance").json()["conformsTo"]
    assert any(c.endswith("ogcapi-records-1/1.0/conf/sorting") for c in conforms)
    r = httpx.get(f"{watched.base_url}/collections/municipalities/sortables")
    assert r.status_code == 200 and r.headers["content-type"] == "application/schema+json"
    assert {"cvegeo", "name", "population"} <= set(r.json()["properties"])
    by_sortable = httpx.get(
        f"{watched.base_url}/collections/municipalities/items",
        params={"sortby": "-population", "limit": 3},
    ).json()["features"]
    populations = [f["properties"]["population"] for f in by_sortable]
    assert populations == sorted(populations, reverse=True)


def test_post_to_items_is_an_honest_405(watched: Watched) -> None:
    r = httpx.post(
        f"{watched.base_url}/collections/municipalities/items",
        json={"filter": {"op": "=", "args": [{"property": "cvegeo"}, SAN_JACINTO]}},
    )
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert r.json()["code"] == "method_not_allowed"


# --- metro zones: a polygon layer ------------------------------------------------------------


def test_metro_zones_layer_holds_only_outlined_zones(watched: Watched) -> None:
    body = httpx.get(
        f"{watched.base_url}/collections/metro_zones/items", params={"limit": 1000}
    ).json()
    assert body["features"] and all(f["geometry"] is not None for f in body["features"])
    assert body["numberMatched"] == len(body["features"])
    assert gdal_312(watched.base_url, "metro_zones")["geometry_type"] == "MultiPolygon"


# --- OGC JSON schemas ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/", "landingPage.yaml"),
        ("/conformance", "confClasses.yaml"),
        ("/collections", "collections.yaml"),
        ("/collections/municipalities", "collection.yaml"),
        ("/collections/municipalities/items?limit=5", "featureCollectionGeoJSON.yaml"),
        ("/collections/rivers/items?limit=5", "featureCollectionGeoJSON.yaml"),
        ("/collections/metro_zones/items?limit=5", "featureCollectionGeoJSON.yaml"),
        (f"/collections/municipalities/items/{SAN_JACINTO}", "featureGeoJSON.yaml"),
    ],
)
def test_documents_validate_against_the_ogc_schemas(
    watched: Watched, path: str, schema: str
) -> None:
    r = httpx.get(watched.base_url + path)
    assert r.status_code == 200, r.text
    errors = [e.message for e in ogc_validator(schema).iter_errors(r.json())]
    assert not errors, errors[:3]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/collections/nowhere/items", 404),
        ("GET", "/collections/municipalities/items?limit=0", 400),
        ("GET", "/collections/municipalities/items?bbox=1,2,3", 400),
        ("GET", "/collections/municipalities/items?filter=name%20%3D", 400),
        ("GET", "/collections/claims/items", 401),
        ("GET", "/collections/municipalities/items/99999", 404),
        ("POST", "/collections/municipalities/items", 405),
        ("GET", "/collections/municipalities/items?f=xlsx", 400),
    ],
)
def test_error_bodies_validate_against_the_ogc_exception_schema(
    watched: Watched, method: str, path: str, status: int
) -> None:
    r = httpx.request(method, watched.base_url + path)
    assert r.status_code == status, r.text
    body = r.json()
    errors = [e.message for e in ogc_validator("exception.yaml").iter_errors(body)]
    assert not errors, errors
    assert body["code"] == body["error"]["code"] and body["description"]  # Linde's kept


# --- OWSLib ----------------------------------------------------------------------------------


def test_owslib_reads_collections_and_items(watched: Watched) -> None:
    owslib_features = pytest.importorskip("owslib.ogcapi.features")
    api = owslib_features.Features(watched.base_url)
    assert "core" in " ".join(api.conformance()["conformsTo"])
    assert {c["id"] for c in api.collections()["collections"]} == set(PUBLIC)
    assert api.collection("municipalities")["id"] == "municipalities"
    one = api.collection_items("municipalities", cvegeo=SAN_JACINTO)
    assert [f["id"] for f in one["features"]] == [SAN_JACINTO]
    assert one["numberMatched"] == 1
    queryables = api.collection_queryables("municipalities")
    assert "cvegeo" in queryables["properties"]


# --- QGIS ------------------------------------------------------------------------------------


def _qgis(base_url: str, spec: list[dict[str, Any]]) -> list[dict[str, Any]]:
    python = "/usr/bin/python3"
    probe = subprocess.run(
        [python, "-c", "import qgis.core"], capture_output=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        pytest.skip("QGIS's Python bindings (python3-qgis) are not installed")
    # QGIS keeps its authentication database in a folder of this run, never in ~
    auth_dir = tempfile.mkdtemp(prefix="linde-qgis-auth-")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_AUTH_DB_DIR_PATH": auth_dir}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [python, str(QGIS_SCRIPT), base_url, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    shutil.rmtree(auth_dir, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.mark.subprocess
def test_qgis_opens_the_protected_collections_with_basic(metro: Database) -> None:
    """QGIS 3.22 cannot send a bearer header: a planner stores a "Basic" configuration in
    QGIS's authentication manager and opens claims and disputed zones, as polygons, with
    every feature the planner may read. The subset ``valid_from <= X`` is sent to Linde
    as ``datetime=0000-01-01T00:00:00Z/X`` (QGIS pushes comparisons on a date-time
    field); the year 0000 is valid RFC 3339 and Linde answers it."""
    add_user(metro.engine, "qgis-planeacion", "planner", actor="test", password=PASSWORD)
    with metro.client("planner") as http:
        claims = ok(http.get("/collections/claims/items", params={"limit": 1000}))["features"]
        zones = ok(http.get("/collections/disputed_zones/items"))["features"]
    assert claims and zones
    login = {"user": "qgis-planeacion", "password": PASSWORD, "fetch": True}
    spec = [
        {"collection": "claims", **login, "key": ["cvegeo", "version"]},
        {"collection": "disputed_zones", **login},
        {
            "collection": "claims",
            **login,
            "key": ["cvegeo", "version"],
            "subset": "valid_from <= '2100-01-01T00:00:00Z'",
        },
        {"collection": "claims", "fetch": False},  # no credentials: not a layer
    ]
    opened = _qgis(metro.base_url, spec)
    assert [(o["valid"], o["geometry"]) for o in opened[:3]] == [(True, "MultiPolygon")] * 3
    assert opened[0]["keys"] == sorted(
        f"{f['properties']['cvegeo']}:{f['properties']['version']}" for f in claims
    )
    assert opened[1]["count"] == len(zones) and opened[1]["null_geometries"] == 0
    assert opened[2]["subset_accepted"] and opened[2]["keys"] == opened[0]["keys"], opened[2]
    assert not opened[3]["valid"]


@pytest.mark.subprocess
def test_qgis_opens_every_public_collection_as_its_geometry(watched: Watched) -> None:
    opened = _qgis(watched.base_url, [{"collection": name, "fetch": False} for name in PUBLIC])
    kinds = {o["collection"]: (o["valid"], o["geometry"]) for o in opened}
    assert kinds == {
        "municipalities": (True, "MultiPolygon"),
        "metro_zones": (True, "MultiPolygon"),
        "rivers": (True, "MultiLineString"),
    }


#: QGIS 3.28 reads property filters from the OpenAPI document (parameters of
#: ``/collections/<id>/items`` with ``style: form, explode: false``); 3.22 (Debian 12)
#: sends only ``bbox`` and ``datetime`` to a server and filters the rest on its side.
QGIS_PUSHES_PROPERTY_FILTERS = 32800


@pytest.mark.subprocess
def test_qgis_pushes_a_subset_string_to_the_server(watched: Watched) -> None:
    before = len(watched.log)
    spec = [
        {
            "collection": "municipalities",
            "subset": f"cvegeo = '{SAN_JACINTO}'",
            "fetch": True,
            "key": "cvegeo",
        }
    ]
    (opened,) = _qgis(watched.base_url, spec)
    assert opened["valid"] and opened["subset_accepted"], opened
    assert opened["keys"] == [SAN_JACINTO] and opened["null_geometries"] == 0
    requests = watched.log[before:]
    pages = [q for m, p, q in requests if p == "/collections/municipalities/items"]
    print(f"QGIS {opened['qgis_version']}: {len(requests)} requests, {len(pages)} of items")
    if opened["qgis_version"] >= QGIS_PUSHES_PROPERTY_FILTERS:
        assert any(SAN_JACINTO in q for q in pages), requests
        assert len(pages) <= 3, requests
