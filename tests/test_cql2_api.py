"""CQL2 over HTTP on ``/collections/{id}/items``, on both engines: cql2-text and
cql2-json, ``filter-crs`` in the authority's axis order, the standard's forms that
pygeofilter could not read, and errors as a 400 naming the parameter.

Only the Oaxaca metro zone's municipalities are relied on (20067 Oaxaca de Juárez,
20157 San Jacinto Amilpas).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyproj import Transformer

from geo.crs import CRS84, EPSG4326, EPSG6372
from layers.cql2 import CONFORMANCE_CLASSES
from tests.conftest import Database
from tests.helpers import OAXACA_CENTRE, get, ids, ok, problem

ITEMS = "/collections/municipalities/items"
PAIR = "cvegeo IN ('20067', '20157')"


def found(db: Database, **params: Any) -> list[str]:
    return ids(ok(get(db, ITEMS, params={"limit": 100, **params})))


def test_cql2_json_in_the_query_string(oaxaca: Database) -> None:
    tree = {
        "op": "and",
        "args": [
            {"op": "in", "args": [{"property": "cvegeo"}, ["20067", "20157"]]},
            {"op": "not", "args": [{"op": "=", "args": [{"property": "cvegeo"}, "20067"]}]},
        ],
    }
    assert found(oaxaca, **{"filter": json.dumps(tree), "filter-lang": "cql2-json"}) == ["20157"]
    text = found(
        oaxaca, **{"filter": f"{PAIR} AND NOT cvegeo = '20067'", "filter-lang": "cql2-text"}
    )
    assert text == ["20157"]


@pytest.mark.parametrize(
    "text",
    [
        f"{PAIR} AND NOT (cvegeo = '20067' OR population < 0)",  # NOT ( … OR … )
        f"{PAIR} AND T_AFTER(valid_from, TIMESTAMP('1990-01-01T00:00:00Z'))"
        " AND NOT S_INTERSECTS(geometry, POINT(-96.7266 17.0654))",
        f"{PAIR} AND NOT S_WITHIN(POINT Z(-96.7266 17.0654 1550), geometry)",  # POINT Z
        "S_INTERSECTS(geom, BBOX(-96.7579, 17.0934, -96.7577, 17.0936)) AND cvegeo <> '20067'"
        " AND cvegeo = '20157'",
        f"{PAIR} AND CASEI(name) = CASEI('SAN JACINTO AMILPAS')",
        f"{PAIR} AND ACCENTI(CASEI(name)) LIKE ACCENTI(CASEI('SÁN JÁCINTO%'))",
        f"{PAIR} AND cvegeo <> '20067' AND population / 1000 >= 1 AND population % 1 = 0",
    ],
)
def test_forms_pygeofilter_refused_now_run(oaxaca: Database, text: str) -> None:
    assert found(oaxaca, filter=text) == ["20157"]


def test_casei_folds_non_ascii_letters_on_both_engines(oaxaca: Database) -> None:
    # SQLite's own lower() folds ASCII only: 'Á' would stay upper case there
    assert found(oaxaca, filter="CASEI(name) = CASEI('OAXACA DE JUÁREZ')") == ["20067"]
    assert found(oaxaca, filter="ACCENTI(name) = ACCENTI('Oaxaca de Juarez')") == ["20067"]


def test_axis_order_comes_from_the_authority() -> None:
    assert [not c.x_first for c in (CRS84, EPSG4326, EPSG6372)] == [False, True, True]


def test_filter_crs_reads_the_authoritys_axis_order(oaxaca: Database) -> None:
    lon, lat = OAXACA_CENTRE
    crs84 = found(oaxaca, filter=f"S_INTERSECTS(geometry, POINT({lon} {lat}))")
    assert crs84 == ["20067"]
    epsg4326 = {"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    assert found(oaxaca, filter=f"S_INTERSECTS(geometry, POINT({lat} {lon}))", **epsg4326) == [
        "20067"
    ]
    easting, northing = Transformer.from_crs(4326, 6372, always_xy=True).transform(lon, lat)
    epsg6372 = {"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/6372"}
    # EPSG:6372 lists northing first
    at = f"S_INTERSECTS(geometry, POINT({northing} {easting}))"
    assert found(oaxaca, filter=at, **epsg6372) == ["20067"]
    box = (
        f"S_INTERSECTS(geometry, BBOX({northing - 5}, {easting - 5}, {northing + 5}, "
        f"{easting + 5}))"
    )
    assert found(oaxaca, filter=box, **epsg6372) == ["20067"]
    swapped = get(oaxaca, ITEMS, params={"filter": at})  # the same numbers read as CRS84
    assert "outside lon -180..180" in problem(swapped, 400, "filter")


def test_array_functions_on_the_metro_zone_members(oaxaca: Database) -> None:
    zones = ok(
        get(
            oaxaca,
            "/collections/metro_zones/items",
            params={"filter": "A_CONTAINS(members, ('20067', '20157'))", "limit": 100},
        )
    )
    assert zones["features"]
    for zone in zones["features"]:
        assert {"20067", "20157"} <= set(zone["properties"]["members"].split(","))
    none = get(
        oaxaca,
        "/collections/metro_zones/items",
        params={"filter": "A_CONTAINEDBY(members, ('20067'))"},
    )
    assert ok(none)["features"] == []


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"filter": "a", "filter-lang": "ecql"}, "filter-lang", "cql2-text or cql2-json"),
        ({"filter": "a", "filter-lang": "cql2-json"}, "filter", "not valid JSON at line 1"),
        ({"filter": '{"op": "=", "args": []}', "filter-lang": "cql2-json"}, "filter", "takes 2"),
        ({"filter": "name = = 'x'"}, "filter", "syntax error at column 8: unexpected '='"),
        (
            {"filter": "name = 'a' AND S_WITHIN(geom, POINT(17.06 -96.72))"},
            "filter",
            "the geometry of S_WITHIN at column 16",
        ),
        ({"filter": "T_BEFORE(name, DATE('2024-01-01'))"}, "filter", "T_BEFORE at column 1"),
        ({"filter": "avg(population) > 1"}, "filter", "unknown function 'avg' at column 1"),
        ({"filter": "population / 0 > 1 / 0"}, "filter", "division by zero"),
        ({"filter": "cvegeo = 20067"}, "filter", "quote the value: '20067'"),
        ({"filter": "TRUE", "filter-crs": "EPSG:3857"}, "filter-crs", "not a CRS Linde serves"),
    ],
)
def test_errors_name_the_parameter_and_the_function(
    oaxaca: Database, params: dict[str, str], field: str, words: str
) -> None:
    reason = problem(get(oaxaca, ITEMS, params=params), 400, field)
    assert words in reason, reason
    assert "Error" not in reason and "Traceback" not in reason, reason


def test_conformance_declares_the_classes_that_pass(oaxaca: Database) -> None:
    declared = {
        c.rsplit("/", 1)[-1] for c in ok(get(oaxaca, "/conformance"))["conformsTo"] if "/cql2/" in c
    }
    assert declared == set(CONFORMANCE_CLASSES)
    assert "functions" not in declared  # no custom functions: avg(), Buffer() … are refused
