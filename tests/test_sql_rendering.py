"""Pages rendered by PostGIS read exactly as pages rendered in Python.

On PostGIS a GeoJSON page's features are written by the database
(``layers.queries.rendered``, on a request's connection or on the event loop);
HTML pages and SpatiaLite go through Python (``page`` + ``api.ogc.render.feature_bytes``). Every
collection, with the demo's data, a detection run's zones and one inspection of
awkward values, must read the same both ways: the same ids, properties, values
and types, geometry, order, and ``numberMatched``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import shapely
from sqlalchemy import insert

from api.ogc.render import feature_bytes
from geo.crs import CRS84, EPSG4326, EPSG6372
from layers.collections import COLLECTIONS
from layers.disputes.zone_edits import register_zone
from layers.engine import AsyncReader
from layers.geometry_io import to_db
from layers.queries import items as item_queries
from layers.queries import rendered
from layers.queries.items import ItemsQuery
from layers.schema import inspections, metro_zone_members, metro_zones
from services.demo import ZONE_CODE, load_demo
from services.detection import run_detection
from tests.conftest import Database

AWKWARD_ID = "00000000-0000-4000-8000-000000000001"


def add_awkward_inspection(db: Database) -> None:
    """Microseconds and whole seconds, quotes, backslashes, control characters,
    non-Latin text, floats that are not short in decimal, NULLs."""
    with db.engine.begin() as conn:
        conn.execute(
            insert(inspections),
            [
                {
                    "id": AWKWARD_ID,
                    "observed_at": datetime(2026, 11, 20, 16, 30, 0, 500, tzinfo=UTC),
                    "category": "solid_waste",
                    "severity": 5,
                    "description": 'comillas " y \\ barra\nlínea\ttab \x01 ñ 河 🦎 </script>',
                    "gps_accuracy_m": 0.1 + 0.2,
                    "inspector": "Año Ñandú",
                    "source": "test",
                    "created_at": datetime(2026, 11, 21, tzinfo=UTC),
                    "geom": to_db([shapely.Point(-96.7261234567891, 17.0612345678901)])[0],
                    "chainage_m": 5.0,
                    "river_distance_m": 1e-7,
                    "in_federal_zone": False,
                }
            ],
        )


def add_second_zones(db: Database) -> None:
    """A second metro zone and a second disputed zone, with other members and parties:
    the properties read from a correlated subquery must be each zone's own."""
    with db.engine.begin() as conn:
        conn.execute(
            insert(metro_zones),
            [
                {
                    "code": "TEST.2",
                    "name": "Zona de prueba",
                    "delimitation_year": 2020,
                    "kind": "Zona metropolitana",
                    "source": "test",
                    "content_sha256": "0" * 64,
                    "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
                    # outlined: the layer holds only zones with an outline
                    "geom": to_db([shapely.MultiPolygon([shapely.box(-96.8, 17.0, -96.7, 17.1)])])[
                        0
                    ],
                }
            ],
        )
        conn.execute(
            insert(metro_zone_members),
            [{"zone_code": "TEST.2", "cvegeo": k, "member_name": k} for k in ("20087", "20390")],
        )
    register_zone(
        db.engine,
        name="Zona registrada",
        geom=shapely.box(-96.70, 17.05, -96.69, 17.06),
        parties=["20390", "20375"],
        actor="test",
    )


def python_rendered(db: Database, collection: str, q: ItemsQuery) -> tuple[list[Any], Any]:
    c = COLLECTIONS[collection]
    with db.engine.connect() as conn:
        page = item_queries.page(conn, c, q)
        matched = item_queries.matched(conn, c, q, len(page), cap=100_000)
    return [json.loads(feature_bytes(i)) for i in page], matched


def sql_rendered(db: Database, collection: str, q: ItemsQuery) -> tuple[list[Any], Any] | None:
    with db.engine.connect() as conn:
        page = rendered.page_geojson(conn, COLLECTIONS[collection], q, cap=100_000)
    if page is None:
        return None
    features = json.loads(b"[" + page.features + b"]")
    assert page.returned == len(features)
    return features, page.matched


def sql_rendered_on_the_loop(
    db: Database, collection: str, q: ItemsQuery
) -> tuple[list[Any], Any, list[tuple[str, int]]]:
    """The same page through the event-loop statement (bound values, bytes as sent)."""

    async def read() -> tuple[rendered.RenderedPage, list[tuple[str, int]]]:
        reader = AsyncReader.for_engine(db.engine)
        assert reader is not None
        await reader.open()
        try:
            c = COLLECTIONS[collection]
            return await rendered.page_geojson_async(reader, db.engine.dialect, c, q, 100_000)
        finally:
            await reader.close()

    page, counters = asyncio.run(read())
    return json.loads(b"[" + page.features + b"]"), page.matched, counters


def same_types(a: Any, b: Any) -> bool:
    """Equal, and every number of the same JSON kind where Python keeps the difference
    (a float that is whole may read as an int: JSON has one kind of number)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_types(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


QUERIES = {
    "default": ItemsQuery(limit=1000),
    "a short page, then the next": ItemsQuery(limit=2, offset=1),
    "past the end": ItemsQuery(limit=5, offset=10_000),
    "lat/lon order": ItemsQuery(limit=1000, crs=EPSG4326),
    "Mexico's Lambert": ItemsQuery(limit=1000, crs=EPSG6372),
    "the metro core": ItemsQuery(limit=3, bbox=(-96.80, 17.00, -96.65, 17.15)),
}


def variants(c: Any, q: ItemsQuery) -> list[ItemsQuery]:
    """``q``, and for a whole default page also one with ``sortby`` and ``properties=``."""
    if q.bbox is None and q.crs is CRS84 and q.limit == 1000:
        names = tuple(p.name for p in c.properties[::2])
        sort = ((c.properties[-1].name, True), (c.properties[0].name, False))
        return [q, ItemsQuery(limit=1000, properties=names, sortby=sort)]
    return [q]


@pytest.fixture(scope="module")
def demo_db(engine_kind: str, database_factory: Any) -> Database:
    """The demo's data, a detection run's zones, a second metro and disputed zone and the
    awkward inspection, loaded once for the module's reads (nothing here writes)."""
    database: Database = database_factory(engine_kind, "sqlrender")
    for _line in load_demo(database.engine, actor="test"):
        pass
    run_detection(database.engine, actor="test", zone=ZONE_CODE)
    add_second_zones(database)
    add_awkward_inspection(database)
    return database


@pytest.mark.parametrize("engine_kind", ["spatialite"], indirect=True, scope="session")
def test_spatialite_renders_every_page_in_python(demo_db: Database) -> None:
    for collection, c in COLLECTIONS.items():
        for q in QUERIES.values():
            for variant in variants(c, q):
                python_rendered(demo_db, collection, variant)  # reads without an error
                assert sql_rendered(demo_db, collection, variant) is None, collection


@pytest.mark.postgis_only
@pytest.mark.parametrize("query", list(QUERIES))
def test_database_rendered_pages_read_as_python_rendered(demo_db: Database, query: str) -> None:
    db = demo_db
    for collection, c in COLLECTIONS.items():
        q = QUERIES[query]
        for variant in variants(c, q):
            expected = python_rendered(db, collection, variant)
            got = sql_rendered(db, collection, variant)
            assert got is not None
            assert got[1] == expected[1], (collection, variant)
            assert [f["id"] for f in got[0]] == [f["id"] for f in expected[0]], collection
            assert same_types(got[0], expected[0]), (collection, variant)
            on_loop = sql_rendered_on_the_loop(db, collection, variant)
            assert same_types(on_loop[0], expected[0]), (collection, variant, "loop")
            assert on_loop[1] == expected[1], (collection, variant, "loop")
            assert {layer for layer, _ in on_loop[2]} >= set(c.layers)
            if query == "default":
                assert got[0], f"{collection} has no features to compare"
                if collection in ("metro_zones", "disputed_zones"):
                    assert len(got[0]) >= 2, f"{collection}: one feature proves no correlation"


def test_awkward_values_survive_the_database_rendering(db: Database) -> None:
    add_awkward_inspection(db)
    q = ItemsQuery(limit=10)
    features, _ = sql_rendered(db, "inspections", q) or python_rendered(db, "inspections", q)
    (feature,) = features
    props = feature["properties"]
    assert props["observed_at"] == "2026-11-20T16:30:00.000500+00:00"
    assert props["created_at"] == "2026-11-21T00:00:00+00:00"
    assert props["description"] == 'comillas " y \\ barra\nlínea\ttab \x01 ñ 河 🦎 </script>'
    assert props["gps_accuracy_m"] == 0.1 + 0.2 and props["river_distance_m"] == 1e-7
    assert props["chainage_m"] == 5.0 and props["in_federal_zone"] is False
    assert props["referred_to"] is None
    assert feature["geometry"] == {"type": "Point", "coordinates": [-96.7261235, 17.0612346]}
