"""An edit gives new ETags only to the tiles under it (old and new geometry); every
other tile keeps its ETag (304) and its cached body. The change log is in the
database, so a second worker on the same database agrees, and an edit made outside
Linde (plain SQL) counts the same."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import morecantile
import pytest
import shapely
from sqlalchemy import text

from geo.tiles import decode_tile, tile_bounds
from layers.tile_changes import Change, LayerLog
from tests.conftest import Database

WMQ = morecantile.tms.get("WebMercatorQuad")
SAN_JACINTO = "20157"
Z = 12


@pytest.fixture(scope="module")
def edited(engine_kind: str, seeded_database: Any) -> Database:
    """A copy of the Oaxaca municipalities of its own: the tests here write to it."""
    database: Database = seeded_database(
        engine_kind, "tile-edits", metro_zones=(), rivers=False, roles=()
    )
    return database


def _url(z: int, x: int, y: int) -> str:
    return f"/collections/municipalities/tiles/WebMercatorQuad/{z}/{y}/{x}"


def _names(body: bytes) -> dict[str, str]:
    return {
        f["properties"]["cvegeo"]: f["properties"]["name"]
        for f in decode_tile(body).get("municipalities", [])
    }


def _near_and_far(database: Database) -> tuple[str, str, str]:
    """San Jacinto's tile, and the tile of the municipality farthest from it (whose
    tile does not meet San Jacinto's box, even with the tile's buffer)."""
    with database.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT cvegeo, AsBinary(geom) FROM municipalities")
            if database.kind == "spatialite"
            else text("SELECT cvegeo, ST_AsBinary(geom) FROM municipalities")
        ).all()
    shapes = {k: shapely.from_wkb(bytes(g)) for k, g in rows}
    sja = shapes[SAN_JACINTO]
    far = max(shapes, key=lambda k: shapes[k].centroid.distance(sja.centroid))
    near_point, far_point = sja.representative_point(), shapes[far].representative_point()
    near_tile = WMQ.tile(near_point.x, near_point.y, Z)
    far_tile = WMQ.tile(far_point.x, far_point.y, Z)
    box = tile_bounds(WMQ, Z, far_tile.x, far_tile.y).lonlat_buffered
    assert not shapely.box(*box).intersects(shapely.box(*sja.bounds)), "pick another far tile"
    return (
        _url(Z, near_tile.x, near_tile.y),
        _url(Z, far_tile.x, far_tile.y),
        far,
    )


def test_an_edit_changes_only_the_tiles_under_it(edited: Database, serve: Any) -> None:
    near, far, far_key = _near_and_far(edited)
    second_worker = serve(edited)  # another process's view: the log is in the database
    other = replace(edited, base_url=second_worker)
    # each worker's own ETags: they hash the URL, and the two listen on their own ports
    # (behind a load balancer both see the same one)
    with edited.client() as one, other.client() as two:
        workers = (one, two)
        before = [{url: http.get(url) for url in (near, far)} for http in workers]
        assert all(r.status_code == 200 for tags in before for r in tags.values())
        assert SAN_JACINTO in _names(before[0][near].content)
        for http, tags in zip(workers, before, strict=True):
            for url, r in tags.items():
                again = http.get(url, headers={"If-None-Match": r.headers["etag"]})
                assert again.status_code == 304

        with edited.engine.begin() as conn:  # plain SQL, as any other writer would
            conn.execute(
                text("UPDATE municipalities SET name = 'San Jacinto (editado)' WHERE cvegeo = :k"),
                {"k": SAN_JACINTO},
            )
        renamed = []
        for http, tags in zip(workers, before, strict=True):
            kept = http.get(far, headers={"If-None-Match": tags[far].headers["etag"]})
            assert kept.status_code == 304, "a tile far from the edit keeps its ETag"
            changed = http.get(near, headers={"If-None-Match": tags[near].headers["etag"]})
            assert changed.status_code == 200
            assert changed.headers["etag"] != tags[near].headers["etag"]
            assert _names(changed.content)[SAN_JACINTO] == "San Jacinto (editado)"
            renamed.append(changed.headers["etag"])

        # a geometry moved: the tiles under its old place and under its new place change
        with edited.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE municipalities SET geom = "
                    "(SELECT geom FROM municipalities WHERE cvegeo = :far) WHERE cvegeo = :k"
                ),
                {"far": far_key, "k": SAN_JACINTO},
            )
        for http, tags, near_tag in zip(workers, before, renamed, strict=True):
            moved_to = http.get(far, headers={"If-None-Match": tags[far].headers["etag"]})
            assert moved_to.status_code == 200
            assert SAN_JACINTO in _names(moved_to.content)
            moved_from = http.get(near, headers={"If-None-Match": near_tag})
            assert moved_from.status_code == 200
            assert SAN_JACINTO not in _names(moved_from.content)


def test_a_tile_version_grows_at_every_change_that_meets_it() -> None:
    """Pure: the newest change meeting the tile; ``changes_from`` when older ones were
    pruned (newer than anything pruned, so never an ETag seen before); a whole-layer
    change meets every tile; a counter behind the pruning gives the counter itself."""
    here, there = (0.0, 0.0, 1.0, 1.0), (10.0, 10.0, 11.0, 11.0)
    log = LayerLog(
        seen=9,
        changes_from=3,
        changes=(
            Change(4, (0.5, 0.5, 0.6, 0.6)),
            Change(6, (10.2, 10.2, 10.3, 10.3)),
            Change(8, None),
        ),
    )
    assert log.version_for(5, here) == 4
    assert log.version_for(5, there) == 3
    assert log.version_for(7, there) == 6
    assert log.version_for(9, here) == 8 and log.version_for(9, there) == 8
    assert LayerLog(seen=9, changes_from=7, changes=(Change(8, here),)).version_for(9, there) == 7
    assert log.version_for(2, here) == 2
