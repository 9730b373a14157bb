"""An area of a collection's vector tiles written to an MBTiles file, for offline use.

MBTiles 1.3: one SQLite file with a ``metadata`` table (``format`` = ``pbf`` and a
``json`` row listing the vector layers and their fields) and a ``tiles`` table of
gzip-compressed MVT tiles addressed in the TMS scheme (rows counted from the
south). GDAL (``ogrinfo``), QGIS, MapLibre and the field app read it.

The tiles are the ones the API serves (``layers.tiles.render_tile``), rendered on
one read connection; empty tiles are left out, as the spec allows.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import morecantile
from sqlalchemy import Engine

from geo.errors import InvalidParameter, Problem
from geo.tiles import tile_bounds, tiles_covering
from layers.collections import Collection
from layers.engine import read_connection
from layers.tiles import FIELD_TYPES, TileQuery, render_tile, tile_properties

#: an export refuses more tiles than this unless told otherwise (a z14 state is millions)
MAX_TILES_DEFAULT = 50_000

_SCHEMA = """
CREATE TABLE metadata (name TEXT, value TEXT);
CREATE UNIQUE INDEX metadata_name ON metadata (name);
CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
"""


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    tiles_written: int
    tiles_empty: int
    bytes_written: int


def export_mbtiles(
    engine: Engine,
    c: Collection,
    path: Path,
    bbox: tuple[float, float, float, float],
    zooms: range,
    *,
    filter_text: str | None = None,
    max_tiles: int = MAX_TILES_DEFAULT,
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write the tiles of ``c`` over the lon/lat ``bbox`` at ``zooms`` to ``path``.

    An existing file at ``path`` is replaced only once every tile is written (the
    file is built beside it and renamed).

    Raises:
        InvalidParameter: a bad box or zoom range, more than ``max_tiles`` tiles, or a
            bad filter (nothing is written).
    """
    west, south, east, north = bbox
    if not (-180 <= west < east <= 180 and -85.06 <= south < north <= 85.06):
        raise InvalidParameter(
            "bbox: expected west,south,east,north in degrees, west < east and south < north",
            problems=[Problem("bbox", f"{bbox} is not a lon/lat box inside Web Mercator")],
        )
    if not zooms or zooms.start < 0 or zooms.stop - 1 > 18:
        raise InvalidParameter(
            "zooms: use a range between 0 and 18, such as 6-12",
            problems=[Problem("zooms", f"{zooms.start}-{zooms.stop - 1} is outside 0-18")],
        )
    tms = morecantile.tms.get("WebMercatorQuad")
    addresses = tiles_covering(tms, bbox, zooms)
    if len(addresses) > max_tiles:
        raise InvalidParameter(
            f"{len(addresses):,} tiles: more than the limit of {max_tiles:,}",
            problems=[Problem("zooms", "lower the highest zoom or the area, or raise --max-tiles")],
        )
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    out = sqlite3.connect(partial)
    written = empty = size = 0
    try:
        out.executescript(_SCHEMA)
        with read_connection(engine) as conn:
            for n, (z, x, y) in enumerate(addresses, start=1):
                q = TileQuery(z, tile_bounds(tms, z, x, y), filter_text)
                data = render_tile(conn, c, q)
                if progress is not None:
                    progress(n, len(addresses))
                if not data:
                    empty += 1
                    continue
                packed = gzip.compress(data, mtime=0)
                out.execute(
                    "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, packed)
                )
                written += 1
                size += len(packed)
        out.executemany("INSERT INTO metadata VALUES (?, ?)", _metadata(c, bbox, zooms).items())
        out.commit()
    finally:
        out.close()
    partial.replace(path)
    return ExportSummary(path, written, empty, size)


def _metadata(c: Collection, bbox: tuple[float, float, float, float], zooms: range) -> dict:
    west, south, east, north = bbox
    fields = {p.name: FIELD_TYPES[p.kind] for p in tile_properties(c)}
    layer = {
        "id": c.id,
        "description": c.title,
        "minzoom": zooms.start,
        "maxzoom": zooms.stop - 1,
        "fields": fields,
    }
    return {
        "name": c.title,
        "description": c.description,
        "format": "pbf",
        "type": "overlay",
        "version": "1.3",
        "bounds": f"{west},{south},{east},{north}",
        "center": f"{(west + east) / 2},{(south + north) / 2},{zooms.start}",
        "minzoom": str(zooms.start),
        "maxzoom": str(zooms.stop - 1),
        "attribution": "Linde; límites: INEGI, Marco Geoestadístico",
        "json": json.dumps({"vector_layers": [layer]}, ensure_ascii=False),
    }
