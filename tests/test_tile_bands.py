"""Geometry prepared per band of zooms for vector tiles: the copies keep the coverage's
shared edges, the importer stores them on both engines, tiles read them, and a
geometry written by any other means drops its copies so no tile draws a stale one."""

from __future__ import annotations

import itertools

import geopandas
import morecantile
import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, delete, func, select, text, update

from geo.tile_bands import (
    BAND_TOPS,
    SIMPLIFY_UNITS,
    band_for_zoom,
    band_tolerance_deg,
    coverage_bands,
)
from geo.tiles import decode_tile, tile_bounds
from layers.collections import COLLECTIONS
from layers.importers.municipalities import import_municipalities
from layers.schema import tile_geometries
from layers.tiles import TileQuery, render_tile
from tests.conftest import OAXACA, Database

WMQ = morecantile.tms.get("WebMercatorQuad")
SAN_JACINTO = "20157"
#: a z7 tile over the Oaxaca metro zone: all 26 municipalities in it
Z7 = WMQ.tile(-96.72, 17.06, 7)


def _coordinates(data: bytes) -> int:
    return sum(
        int(shapely.get_num_coordinates(shape(f["geometry"])))
        for f in decode_tile(data).get("municipalities", [])
    )


def _z7(database: Database) -> bytes:
    with database.engine.connect() as conn:
        q = TileQuery(7, tile_bounds(WMQ, 7, Z7.x, Z7.y))
        return render_tile(conn, COLLECTIONS["municipalities"], q)


def test_each_zoom_reads_the_band_at_or_above_it() -> None:
    assert [band_for_zoom(z) for z in (0, 6, 7, 8, 9, 10, 11, 12, 13, 22)] == [
        6, 6, 7, 8, 9, 10, 12, 12, None, None,
    ]  # fmt: skip
    # half a pixel of a 512-pixel tile at the band's top zoom, whatever the band
    assert band_tolerance_deg(6) == 4 * band_tolerance_deg(8)
    assert band_tolerance_deg(8) == 360.0 * SIMPLIFY_UNITS / (2**8 * 4096)


def test_bands_keep_the_metro_zone_a_coverage_with_shared_edges() -> None:
    frame = geopandas.read_file(OAXACA)
    bands = coverage_bands(list(frame.geometry))
    assert list(bands) == list(BAND_TOPS)
    full = int(shapely.get_num_coordinates(frame.geometry.values).sum())
    counts = []
    for top, copies in bands.items():
        assert len(copies) == len(frame)
        assert all(g.is_valid and not g.is_empty for g in copies), top
        assert shapely.coverage_is_valid(copies), top  # no overlap between neighbours
        counts.append(int(shapely.get_num_coordinates(copies).sum()))
        for a, b in itertools.combinations(copies, 2):
            if a.intersects(b):  # neighbours meet along a line, never a sliver
                assert a.intersection(b).area < 1e-12, top
    assert counts == sorted(counts) and counts[0] < full / 3, (counts, full)


def test_the_importer_stores_copies_and_low_zoom_tiles_read_them(oaxaca: Database) -> None:
    with oaxaca.engine.connect() as conn:
        per_band: dict[int, int] = dict(
            conn.execute(
                select(tile_geometries.c.band, func.count())
                .where(tile_geometries.c.layer == "municipalities")
                .group_by(tile_geometries.c.band)
            ).all()
        )
    assert per_band == dict.fromkeys(BAND_TOPS, 26)
    banded = _z7(oaxaca)
    with oaxaca.engine.connect() as conn:
        copies = conn.begin()
        conn.execute(delete(tile_geometries))  # rolled back: the fixture is shared
        q = TileQuery(7, tile_bounds(WMQ, 7, Z7.x, Z7.y))
        full = render_tile(conn, COLLECTIONS["municipalities"], q)
        copies.rollback()
    assert len(decode_tile(banded)["municipalities"]) == 26
    assert _coordinates(banded) < _coordinates(full) * 0.8, "the band copy is what is drawn"
    assert len(banded) < len(full)


def test_the_projected_copies_draw_the_same_tiles_as_projecting_each_time(
    oaxaca: Database,
) -> None:
    """PostgreSQL keeps each copy snapped and projected for its band's top zoom
    (``mercator``); a tile that reads it is byte for byte the tile that snaps and
    projects the lon/lat copy itself, at the band's top zoom and at the zooms of the
    band below it (which must not read it: their grid is another). SpatiaLite keeps
    none: its Python encoder reads the lon/lat copy."""
    mercator = tile_geometries.c.mercator
    with oaxaca.engine.connect() as conn:
        stored = conn.execute(select(func.count()).where(mercator.is_not(None))).scalar_one()
    if oaxaca.kind == "spatialite":
        assert stored == 0
        return
    assert stored == 26 * len(BAND_TOPS)
    zooms = [5, 6, 7, 8, 9, 10, 11, 12]
    tiles = [(z, WMQ.tile(-96.72, 17.06, z)) for z in zooms]

    def draw(conn: Connection) -> list[bytes]:
        municipalities = COLLECTIONS["municipalities"]
        return [
            render_tile(conn, municipalities, TileQuery(z, tile_bounds(WMQ, z, t.x, t.y)))
            for z, t in tiles
        ]

    with oaxaca.engine.connect() as conn:
        read = draw(conn)
        conn.rollback()
        projecting = conn.begin()
        conn.execute(update(tile_geometries).values(mercator=None))  # rolled back: shared
        made = draw(conn)
        projecting.rollback()
    assert all(read) and read == made


def test_a_geometry_written_by_plain_sql_drops_its_copies(db: Database) -> None:
    import_municipalities(db.engine, OAXACA, actor="test")
    key = tile_geometries.c.key
    with db.engine.begin() as conn:
        before = conn.execute(select(func.count()).where(key == SAN_JACINTO)).scalar_one()
        conn.execute(
            text("UPDATE municipalities SET name = 'San Jacinto (editado)' WHERE cvegeo = :k"),
            {"k": SAN_JACINTO},
        )
        renamed = conn.execute(select(func.count()).where(key == SAN_JACINTO)).scalar_one()
        conn.execute(
            text(
                "UPDATE municipalities SET geom = (SELECT geom FROM municipalities "
                "WHERE cvegeo = '20067') WHERE cvegeo = :k"
            ),
            {"k": SAN_JACINTO},
        )
        moved = conn.execute(select(func.count()).where(key == SAN_JACINTO)).scalar_one()
        others = conn.execute(select(func.count()).where(key != SAN_JACINTO)).scalar_one()
    assert (before, renamed, moved) == (len(BAND_TOPS), len(BAND_TOPS), 0)
    assert others == 25 * len(BAND_TOPS)
    # the moved municipality is drawn where it is now, at full detail, beside the others
    feats = {
        f["properties"]["cvegeo"]: shape(f["geometry"])
        for f in decode_tile(_z7(db))["municipalities"]
    }
    moved_to, band_copy = feats[SAN_JACINTO], feats["20067"]
    # the same outline but for the band's simplification: within a unit along it
    assert moved_to.symmetric_difference(band_copy).area <= band_copy.length * 1.0
    assert shapely.get_num_coordinates(moved_to) > shapely.get_num_coordinates(band_copy)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM municipality_versions WHERE cvegeo = :k"), {"k": "20067"})
        conn.execute(text("DELETE FROM municipalities WHERE cvegeo = :k"), {"k": "20067"})
        left = conn.execute(select(func.count()).where(key == "20067")).scalar_one()
    assert left == 0
