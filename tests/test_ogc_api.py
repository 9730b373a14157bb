"""OGC API - Features over real HTTP, on both engines, against the real Oaxaca data.

Reads use the shared ``oaxaca`` database (never written to); anything that writes
(claims, to test datetime and ETags after a change) uses ``api``, an empty database.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box, shape

from api.ogc.params import PAGE_LIMIT_DEFAULT
from layers.importers.municipalities import import_municipalities
from tests.conftest import Database
from tests.geometries import CLAIM_SHAPE, claim_body, tiny_municipalities
from tests.helpers import OAXACA_CENTRE, get, ids, ok, problem

CORE = (-96.80, 17.00, -96.65, 17.15)  # the Oaxaca metro core
CORE_Q = ",".join(str(v) for v in CORE)
# --- landing, conformance, collections ---------------------------------------------------


def test_landing_page_links_what_a_client_needs(oaxaca: Database) -> None:
    body = ok(get(oaxaca, "/"))
    rels = {link["rel"]: link for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["data"]["href"].endswith("/collections")
    assert ok(get(oaxaca, "/openapi.json"))["paths"]["/collections/{collection_id}/items"]


def test_conformance_declares_features_crs_and_filter(oaxaca: Database) -> None:
    classes = ok(get(oaxaca, "/conformance"))["conformsTo"]
    for part in (
        "features-1/1.0/conf/core",
        "conf/geojson",
        "features-2/1.0/conf/crs",
        "features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
    ):
        assert any(c.endswith(part) or part in c for c in classes), part


def test_collections_visible_by_role(oaxaca: Database) -> None:
    public = {c["id"] for c in ok(get(oaxaca, "/collections"))["collections"]}
    assert public == {"municipalities", "metro_zones", "rivers"}
    planner = ok(get(oaxaca, "/collections", "planner"))["collections"]
    assert {c["id"] for c in planner} == {
        "municipalities",
        "metro_zones",
        "claims",
        "rivers",
        "inspections",
        "disputed_zones",
    }
    muni = next(c for c in planner if c["id"] == "municipalities")
    minx, miny, maxx, maxy = muni["extent"]["spatial"]["bbox"][0]
    # the 26 municipalities of the Oaxaca metro zone
    assert -96.87 < minx < -96.85 and 16.88 < miny < 16.89 and -96.53 < maxx < -96.52
    assert 17.28 < maxy < 17.29
    assert "http://www.opengis.net/def/crs/EPSG/0/6372" in muni["crs"]
    assert muni["storageCrs"].endswith("CRS84")
    assert any(link["rel"] == "items" for link in muni["links"])


def test_restricted_collections_need_a_token(oaxaca: Database) -> None:
    assert get(oaxaca, "/collections/claims/items").status_code == 401
    assert get(oaxaca, "/collections/claims").status_code == 401
    assert get(oaxaca, "/collections/claims/items", "planner").status_code == 200
    bad = get(oaxaca, "/collections/claims/items", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


# --- items: paging, bbox, properties, sorting ----------------------------------------------


def test_paging_walks_every_municipality_once(oaxaca: Database) -> None:
    first = ok(get(oaxaca, "/collections/municipalities/items"))
    assert first["numberReturned"] == min(PAGE_LIMIT_DEFAULT, 26) and first["numberMatched"] == 26
    seen: list[str] = []
    url: str | None = "/collections/municipalities/items?limit=10"
    pages = 0
    while url:
        body = ok(get(oaxaca, url))
        seen += ids(body)
        nexts = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nexts[0] if nexts else None
        pages += 1
        if pages > 1:
            assert any(link["rel"] == "prev" for link in body["links"])
    assert pages == 3
    assert len(seen) == len(set(seen)) == 26


def test_bbox_returns_exactly_what_meets_it(oaxaca: Database) -> None:
    body = ok(get(oaxaca, f"/collections/municipalities/items?bbox={CORE_Q}&limit=100"))
    area = box(*CORE)
    assert 15 <= body["numberReturned"] == body["numberMatched"] <= 40
    for feature in body["features"]:
        assert shape(feature["geometry"]).intersects(area), feature["id"]
    assert "20067" in ids(body) and "20157" in ids(body)
    # every municipality meeting the bbox, by a direct Shapely check over all 26
    everything = ok(get(oaxaca, "/collections/municipalities/items?limit=1000"))
    expected = {f["id"] for f in everything["features"] if shape(f["geometry"]).intersects(area)}
    assert set(ids(body)) == expected


def test_property_filter_properties_and_sortby(oaxaca: Database) -> None:
    one = ok(get(oaxaca, "/collections/municipalities/items?cvegeo=20157"))
    assert ids(one) == ["20157"] and one["numberMatched"] == 1
    assert one["features"][0]["properties"]["name"] == "San Jacinto Amilpas"
    slim = ok(get(oaxaca, "/collections/municipalities/items?properties=name,population&limit=3"))
    assert all(set(f["properties"]) == {"name", "population"} for f in slim["features"])
    top = ok(get(oaxaca, "/collections/municipalities/items?sortby=-population&limit=5"))
    populations = [f["properties"]["population"] for f in top["features"]]
    assert populations == sorted(populations, reverse=True)
    assert ids(top)[0] == "20067"  # Oaxaca de Juárez is the most populous


def test_the_id_is_a_property_filter_too(oaxaca: Database) -> None:
    """``?id=`` selects by the collection's id property, as the API document offers it
    (it was a 500: the query builder looked the name up among the other properties only)."""
    first = ok(get(oaxaca, "/collections/rivers/items?limit=2"))
    assert len(first["features"]) == 2
    key = first["features"][1]["id"]
    one = ok(get(oaxaca, "/collections/rivers/items", params={"id": key}))
    assert ids(one) == [key] and one["numberMatched"] == 1
    none = ok(get(oaxaca, "/collections/rivers/items", params={"id": 0}))
    assert ids(none) == [] and none["numberMatched"] == 0
    sorted_down = ok(get(oaxaca, "/collections/rivers/items", params={"sortby": "-id"}))
    keys = ids(sorted_down)
    assert keys == sorted(keys, reverse=True)
    assert problem(get(oaxaca, "/collections/rivers/items?id=abc"), 400, "id")


def test_single_feature_and_unknowns(oaxaca: Database) -> None:
    feature = ok(get(oaxaca, "/collections/municipalities/items/20067"))
    assert feature["id"] == "20067" and feature["geometry"]["type"] == "MultiPolygon"
    assert shape(feature["geometry"]).contains(shapely.Point(OAXACA_CENTRE))
    assert get(oaxaca, "/collections/municipalities/items/99999").status_code == 404
    assert get(oaxaca, "/collections/nope/items").status_code == 404
    assert get(oaxaca, "/collections/rivers/items/abc").status_code == 404


@pytest.mark.parametrize("crs", [None, "EPSG:4326"])
def test_single_feature_is_the_feature_of_a_page(oaxaca: Database, crs: str | None) -> None:
    """One item and the same feature in a page are one rendering (on PostGIS both are
    written by the database), links aside."""
    params = {"crs": crs} if crs else {}
    for key in ("20067", "20157"):
        one = ok(get(oaxaca, f"/collections/municipalities/items/{key}", params=params))
        page = ok(
            get(oaxaca, "/collections/municipalities/items", params={"cvegeo": key, **params})
        )
        assert [f["id"] for f in page["features"]] == [key]
        assert one.pop("links") and one == page["features"][0]


def test_metro_zone_lists_its_members(oaxaca: Database) -> None:
    zone = ok(get(oaxaca, "/collections/metro_zones/items/20.1.01"))
    members = zone["properties"]["members"].split(",")
    assert len(members) == 26 and {"20067", "20157"} <= set(members)
    assert members == sorted(members)


# --- CQL2 ----------------------------------------------------------------------------------


def test_cql2_filters(oaxaca: Database) -> None:
    like = ok(
        get(
            oaxaca,
            "/collections/municipalities/items",
            params={"filter": "name LIKE 'San Jacinto A%'"},
        )
    )
    assert ids(like) == ["20157"]
    point = ok(
        get(
            oaxaca,
            "/collections/municipalities/items",
            params={"filter": "S_INTERSECTS(geom, POINT(-96.7266 17.0654))"},
        )
    )
    assert ids(point) == ["20067"]
    combined = ok(
        get(
            oaxaca,
            "/collections/municipalities/items",
            params={
                "filter": "population BETWEEN 40000 AND 1000000 AND NOT cvegeo IN ('20067')",
                "limit": 100,
            },
        )
    )
    # Censo 2020: Xoxocotlán 100,402, Santa Lucía 50,362, Zaachila 46,464, Atzompa 41,921
    assert set(ids(combined)) == {"20385", "20390", "20565", "20399"}
    assert all(40000 <= f["properties"]["population"] <= 1000000 for f in combined["features"])


def test_cql2_syntax_error_points_at_the_position(oaxaca: Database) -> None:
    r = get(oaxaca, "/collections/municipalities/items", params={"filter": "name = = 'x'"})
    reason = problem(r, 400, "filter")
    assert "column" in reason
    r = get(oaxaca, "/collections/municipalities/items", params={"filter": "colour = 'red'"})
    assert "colour" in problem(r, 400, "filter")


# --- CRS (Part 2) --------------------------------------------------------------------------


def test_crs_6372_and_4326_axis_order(oaxaca: Database) -> None:
    plain = ok(get(oaxaca, "/collections/municipalities/items/20157"))
    r = get(
        oaxaca,
        "/collections/municipalities/items/20157",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/6372"},
    )
    assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/6372>"
    # EPSG:6372 is northing, easting: swap to compare in x/y
    projected = shapely.transform(shape(ok(r)["geometry"]), lambda ne: ne[:, ::-1])
    to_lcc = Transformer.from_crs(4326, 6372, always_xy=True)
    inside = shape(plain["geometry"]).representative_point()
    x, y = to_lcc.transform(inside.x, inside.y)
    assert projected.buffer(1).contains(shapely.Point(x, y))
    assert 2_900_000 < projected.centroid.x < 3_200_000  # easting, metres, INEGI's LCC
    assert 500_000 < projected.centroid.y < 800_000  # northing
    latlon = ok(get(oaxaca, "/collections/municipalities/items/20157", params={"crs": "EPSG:4326"}))
    lat, lon = latlon["geometry"]["coordinates"][0][0][0]
    assert 16 < lat < 18 and -97 < lon < -96


def test_bbox_crs_6372_selects_the_same(oaxaca: Database) -> None:
    to_lcc = Transformer.from_crs(4326, 6372, always_xy=True)
    small = (-96.73, 17.06, -96.72, 17.07)
    x0, y0 = to_lcc.transform(small[0], small[1])
    x1, y1 = to_lcc.transform(small[2], small[3])
    # EPSG:6372's axis order: northing first
    lcc = ",".join(str(v) for v in (min(y0, y1), min(x0, x1), max(y0, y1), max(x0, x1)))
    by_lcc = ok(
        get(
            oaxaca,
            "/collections/municipalities/items",
            params={
                "bbox": lcc,
                "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/6372",
                "limit": 100,
            },
        )
    )
    by_lonlat = ok(
        get(
            oaxaca,
            "/collections/municipalities/items",
            params={"bbox": ",".join(map(str, small)), "limit": 100},
        )
    )
    assert set(ids(by_lonlat)) <= set(ids(by_lcc))
    assert "20067" in ids(by_lcc)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("bbox=1,2,3", "bbox", "got 3"),
        ("bbox=-96.8,abc,-96.6,17.1", "bbox", "value 2"),
        ("bbox=-96.6,17,-96.8,17.1", "bbox", "lower corner"),
        ("limit=0", "limit", "at least 1"),
        ("limit=10001", "limit", "at most"),
        ("limit=ten", "limit", "whole number"),
        ("offset=-1", "offset", "at least 0"),
        ("colour=red", "colour", "unknown parameter"),
        ("population=many", "population", "not a int"),
        ("properties=name,colour", "properties", "colour"),
        ("sortby=-colour", "sortby", "colour"),
        ("crs=EPSG:32614", "crs", "not a CRS Linde serves"),
        ("crs=", "crs", "empty"),  # an empty CRS names none (it was taken for CRS84)
        ("filter=name='x'&filter-crs=", "filter-crs", "empty"),
        ("bbox=1,2,3,4&bbox-crs=EPSG:9999", "bbox-crs", "not a CRS"),
        ("datetime=2024-01-01", "datetime", "no time property"),
        ("f=xlsx", "f", "not offered"),
        ("filter-lang=ecql&filter=a", "filter-lang", "cql2-text or cql2-json"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    oaxaca: Database, query: str, field: str, words: str
) -> None:
    r = get(oaxaca, f"/collections/municipalities/items?{query}")
    assert words in problem(r, 400, field)


def test_injection_payloads_never_reach_sql(oaxaca: Database) -> None:
    payloads = [
        {"cvegeo": "20067' OR '1'='1"},
        {"sortby": "name;DROP TABLE municipalities"},
        {"properties": "name) FROM users --"},
        {"filter": "name = 'x' OR 1=1; DROP TABLE municipalities"},
    ]
    for params in payloads:
        r = get(oaxaca, "/collections/municipalities/items", params=params)
        assert r.status_code in (200, 400), r.text
        if r.status_code == 200:
            assert r.json()["numberReturned"] == 0
    assert ok(get(oaxaca, "/collections/municipalities/items"))["numberMatched"] == 26


# --- ETag, HTML ----------------------------------------------------------------------------


def test_etag_and_datetime_follow_the_claims(api: Database, tmp_path: Path) -> None:
    import_municipalities(api.engine, tiny_municipalities(tmp_path / "m.geojson"), actor="test")
    url = "/collections/claims/items"
    first = get(api, url, "planner")
    assert ok(first)["numberMatched"] == 0
    tag = first.headers["etag"]
    again = get(api, url, "planner", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    with api.client("commission") as http:
        assert http.post("/claims", json={}).status_code == 422  # refused: nothing changes
        assert get(api, url, "planner", headers={"If-None-Match": tag}).status_code == 304
        for day in ("2024-01-01", "2025-01-01"):
            body = {**claim_body(CLAIM_SHAPE), "valid_from": f"{day}T00:00:00Z"}
            assert http.post("/claims", json=body).status_code == 201
    changed = get(api, url, "planner", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert ok(changed)["numberMatched"] == 2
    in_2024 = ok(get(api, url, "planner", params={"datetime": "2024-06-01T00:00:00Z"}))
    assert [f["properties"]["version"] for f in in_2024["features"]] == [1]
    since = ok(get(api, url, "planner", params={"datetime": "2024-06-01T00:00:00Z/.."}))
    assert since["numberMatched"] == 2
    now = ok(get(api, url, "planner", params={"datetime": "2026-01-01"}))
    assert [f["properties"]["version"] for f in now["features"]] == [2]
    assert now["features"][0]["properties"]["municipality"] == "Oaxaca de Juárez"


def test_pages_are_cached_from_their_second_request_and_never_served_stale(
    api: Database, tmp_path: Path
) -> None:
    import_municipalities(api.engine, tiny_municipalities(tmp_path / "m.geojson"), actor="test")
    url = "/collections/claims/items"

    def cache() -> dict[str, int]:
        stats: dict[str, int] = ok(get(api, "/health"))["response_cache"]
        return stats

    before = cache()
    first, second, third = (ok(get(api, url, "planner")) for _ in range(3))
    assert first == second == third and first["numberMatched"] == 0
    after = cache()
    assert after["stored"] - before["stored"] == 1  # on the second request, not the first
    assert after["hits"] - before["hits"] == 1  # the third was served from it
    with api.client("commission") as http:
        assert http.post("/claims", json=claim_body(CLAIM_SHAPE)).status_code == 201
    changed = ok(get(api, url, "planner"))
    assert changed["numberMatched"] == 1  # the write is seen at once
    final = cache()
    assert final["dropped_stale"] - after["dropped_stale"] == 1
    assert final["entries"] == after["entries"] - 1  # the old body is gone, the new not stored


def test_html_view_is_spanish(oaxaca: Database) -> None:
    page = get(
        oaxaca,
        "/collections/municipalities/items?limit=5",
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Municipios" in page.text and "Siguiente" in page.text and "Descargar" in page.text
    landing = get(oaxaca, "/?f=html")
    assert 'lang="es"' in landing.text and "Colecciones" in landing.text
    assert "<script" not in page.text  # nothing fetched from elsewhere


# --- downloads -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["geojson", "csv", "gpkg", "shp", "kml", "fgb"])
def test_downloads_hold_the_query(oaxaca: Database, fmt: str, tmp_path: Any) -> None:
    r = get(oaxaca, f"/collections/municipalities/items?bbox={CORE_Q}&f={fmt}")
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    assert "attachment" in disposition and "linde_municipalities_filtrado_" in disposition
    expected = ok(get(oaxaca, f"/collections/municipalities/items?bbox={CORE_Q}&limit=100"))
    suffix = {"shp": "zip"}.get(fmt, fmt)
    path = tmp_path / f"out.{suffix}"
    path.write_bytes(r.content)
    source = f"/vsizip/{path}" if fmt == "shp" else str(path)
    if fmt == "csv":
        text = r.content.decode("utf-8-sig")
        assert text.count("\n") == expected["numberMatched"] + 1
        assert "San Jacinto Amilpas" in text
        return
    frame = pyogrio.read_dataframe(source)
    assert len(frame) == expected["numberMatched"]
    assert frame.geometry.union_all().intersects(box(*CORE))


def test_download_by_accept_header(oaxaca: Database) -> None:
    r = get(
        oaxaca, "/collections/rivers/items", headers={"Accept": "application/geopackage+sqlite3"}
    )
    assert r.status_code == 200 and r.content[:16] == b"SQLite format 3\x00"


def test_download_of_everything_ignores_the_page_size(oaxaca: Database) -> None:
    r = get(oaxaca, "/collections/municipalities/items?f=csv&properties=name")
    lines = io.StringIO(r.content.decode("utf-8-sig")).read().splitlines()
    assert len(lines) == 27  # a header and all 26, far past the page size of 10
