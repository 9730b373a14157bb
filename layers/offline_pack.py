"""The inspectors' offline map pack: the areas it can be made for, and its tiles.

A pack tile carries four layers at once, one MVT layer each, in drawing order:
``localities`` (INEGI localities, polygons), ``municipalities`` (official limits),
``disputed_zones`` (those the caller may read) and ``rivers`` (with
``federal_zone_width_m``, which the phone draws as the federal zone). Each layer is
made by ``layers.tiles.render_tile`` exactly as the OGC API's tiles are; an MVT tile
is a list of layers, so the four encodings one after the other are one valid tile.

Localities are no OGC collection (they have no change counter); :data:`LOCALITIES`
describes them to the tile renderer only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, select

from geo.errors import NotFound, Problem
from geo.tile_pack import BBox, PackPlan
from geo.tiles import tile_bounds, tile_matrix_set
from layers.access import row_condition
from layers.collections import DISPUTED_ZONES, MUNICIPALITIES, RIVERS, Collection, Property
from layers.geometry_io import from_db
from layers.schema import localities, metro_zone_members, metro_zones, municipalities
from layers.tiles import TileQuery, render_tile

_l = localities.c
LOCALITIES = Collection(
    id="localities",
    title="Localidades (INEGI)",
    description="Localidades urbanas y rurales del Marco Geoestadístico de INEGI.",
    table=localities,
    source=localities,
    id_property=Property("cvegeo", _l.cvegeo, "str", "Clave de la localidad"),
    properties=(
        Property("name", _l.name, "str", "Localidad"),
        Property("municipality_cvegeo", _l.municipality_cvegeo, "str", "Municipio (clave)"),
        Property("ambit", _l.ambit, "str", "Ámbito"),
        Property("population", _l.population, "int", "Población"),
    ),
    geometry_type="MultiPolygon",
    layers=(),
    read_role=None,
    time=None,
    order=(_l.cvegeo,),
)

#: the layers of a pack tile, in drawing order (rivers on top)
PACK_LAYERS: tuple[Collection, ...] = (LOCALITIES, MUNICIPALITIES, DISPUTED_ZONES, RIVERS)

#: tiles rendered to estimate a pack's size before it is downloaded
SAMPLE_TILES = 24


@dataclass(frozen=True)
class Area:
    """What a pack is made for: ``kind`` is ``municipality``, ``metro_zone`` or ``view``."""

    kind: str
    key: str
    name: str
    bbox: BBox


def _bounds(value: Any) -> BBox | None:
    geom = from_db(value)
    if geom is None or geom.is_empty:
        return None
    west, south, east, north = geom.bounds
    return (west, south, east, north)


def municipality_area(conn: Connection, cvegeo: str, parameter: str = "municipio") -> Area:
    """The area of municipality ``cvegeo`` (its official limit's box).

    Raises:
        NotFound: no municipality with that key is loaded (naming ``parameter``).
    """
    row = conn.execute(
        select(municipalities.c.name, municipalities.c.geom).where(
            municipalities.c.cvegeo == cvegeo
        )
    ).first()
    box = _bounds(row.geom) if row is not None else None
    if row is None or box is None:
        raise NotFound(
            f"no municipality {cvegeo!r} is loaded",
            problems=[Problem(parameter, f"{cvegeo!r} is no loaded municipality's key")],
        )
    return Area("municipality", cvegeo, row.name, box)


def metro_zone_area(conn: Connection, code: str, parameter: str = "zona") -> Area:
    """The area of metro zone ``code`` (the union of its loaded municipalities).

    Raises:
        NotFound: no such zone, or none of its municipalities is loaded.
    """
    row = conn.execute(
        select(metro_zones.c.name, metro_zones.c.geom).where(metro_zones.c.code == code)
    ).first()
    box = _bounds(row.geom) if row is not None else None
    if row is None or box is None:
        raise NotFound(
            f"no metro zone {code!r} with municipalities loaded",
            problems=[Problem(parameter, f"{code!r} is no loaded metro zone's code")],
        )
    return Area("metro_zone", code, row.name, box)


def areas(conn: Connection) -> dict[str, list[dict[str, str]]]:
    """The metro zones with a geometry, and the municipalities loaded in them, by name."""
    zones = conn.execute(
        select(metro_zones.c.code, metro_zones.c.name)
        .where(metro_zones.c.geom.is_not(None))
        .order_by(metro_zones.c.name)
    ).all()
    members = conn.execute(
        select(municipalities.c.cvegeo, municipalities.c.name)
        .where(municipalities.c.cvegeo.in_(select(metro_zone_members.c.cvegeo)))
        .order_by(municipalities.c.name)
    ).all()
    return {
        "metro_zones": [{"key": code, "name": name} for code, name in zones],
        "municipalities": [{"key": key, "name": name} for key, name in members],
    }


def pack_layers(rows: Any) -> tuple[Collection, ...]:
    """The pack's layers for a caller whose reach of disputed zones is ``rows``
    (``geo.access.RowScope``; None: every zone)."""
    condition = row_condition(DISPUTED_ZONES.table, rows)
    if condition is None:
        return PACK_LAYERS
    zones = replace(DISPUTED_ZONES, where=condition)
    return tuple(zones if c is DISPUTED_ZONES else c for c in PACK_LAYERS)


def render_pack_tile(
    conn: Connection, layers: tuple[Collection, ...], z: int, x: int, y: int
) -> bytes:
    """Tile (z, x, y) of WebMercatorQuad with every layer of ``layers`` (``b""``: empty).

    The caller has checked the tile (``geo.tiles.check_tile``).
    """
    tms = tile_matrix_set("WebMercatorQuad")
    q = TileQuery(z, tile_bounds(tms, z, x, y))
    return b"".join(render_tile(conn, c, q) for c in layers)


def estimate_bytes(conn: Connection, layers: tuple[Collection, ...], plan: PackPlan) -> int:
    """The pack's size, from :data:`SAMPLE_TILES` of its tiles spread over every zoom."""
    tiles = plan.tiles()
    step = max(1, len(tiles) // SAMPLE_TILES)
    sample = tiles[step // 2 :: step][:SAMPLE_TILES]
    if not sample:
        return 0
    sizes = [len(render_pack_tile(conn, layers, *t)) for t in sample]
    return round(sum(sizes) / len(sizes) * len(tiles))
