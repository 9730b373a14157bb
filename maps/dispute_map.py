"""The map of a disputed zone for the commission: the zone hatched, the official line, each
party's claim in its colour, the localities and inspection points inside.

Pure, like every builder (``maps.builders``): GeoDataFrames in, a ``folium.Map`` out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium import plugins

from maps.claim_layers import OFFICIAL_COLOR, add_claims
from maps.common import (
    DEFAULT_SOURCE,
    MapText,
    _base_map,
    _bounds,
    _collection,
    _features,
    _finish,
    _lonlat,
)
from maps.elements import HatchPattern, Legend, LegendEntry
from maps.inspection_points import add_inspection_points
from maps.legend import (
    OFFICIAL_DASH,
    format_number,
)
from maps.vector import GeoJsonLayer
from maps.vector_tiles import TileSource, VectorTileLayer, quoted_list

#: a municipality without a value on a choropleth


def _cited(frame: gpd.GeoDataFrame, column: str, default: str) -> list[str]:
    """The sources a layer names in ``column`` (so illustrative data says so), else ``default``."""
    if column not in frame.columns:
        return [default]
    named = [str(s) for s in frame[column].dropna().unique() if str(s).strip()]
    return named or [default]


def dispute_map(
    zone: dict[str, Any],
    zone_geometry: gpd.GeoDataFrame,
    official: gpd.GeoDataFrame,
    claims: gpd.GeoDataFrame,
    *,
    localities: gpd.GeoDataFrame | None = None,
    inspections: gpd.GeoDataFrame | None = None,
    tiles: bool = True,
    made_on: date | None = None,
    tile_source: TileSource | None = None,
) -> folium.Map:
    """A disputed zone for the commission.

    Args:
        zone: ``name`` and optionally ``status`` (Spanish) and ``area_ha``.
        zone_geometry: the disputed zone's polygon(s), drawn hatched.
        official: the parties' official polygons (``cvegeo``, ``name``), drawn as
            the official line.
        claims: each party's claimed polygon (``cvegeo``, ``municipality``), in the
            party's own colour, in the order given.
        localities: polygons or points (``name``, optional ``population``) inside.
        inspections: inspection points inside (see :func:`river_map`).
        tile_source: for a map shown in Linde's pages: when the official polygons and
            the claims together are too big to inline (``TileSource.too_big``), both
            are drawn from Linde's vector tiles (``municipalities`` filtered to the
            parties, ``claims`` to each party's claim in force, which needs the role:
            the page fetches the tiles with the person's session). ``None`` (files)
            always inlines.

    A measure tool (distances in m, areas in ha) lets the commission measure on the map.
    """
    area = _lonlat(zone_geometry)
    official = _lonlat(official)
    claims = _lonlat(claims)
    places = _lonlat(localities)
    points = _lonlat(inspections)
    bounds = _bounds(area) or _bounds(claims, official)
    m = _base_map(bounds, tiles)
    subtitle = "Zona en disputa"
    if zone.get("status"):
        subtitle += f" · estado: {zone['status']}"
    if zone.get("area_ha") is not None:
        subtitle += f" · {format_number(float(zone['area_ha']), 1)} ha"
    text = MapText(
        title=str(zone["name"]),
        subtitle=subtitle,
        sources=_cited(official, "source", DEFAULT_SOURCE)
        + _cited(claims, "source_reference", "límites reclamados registrados en Linde"),
        made_on=made_on,
    )
    if bounds is None:
        return _finish(m, text, None, "Esta zona no tiene geometría registrada.")
    zone_shape = shapely.union_all(area.geometry.values)
    from_tiles = tile_source is not None and tile_source.too_big(
        np.concatenate([official.geometry.values, claims.geometry.values])
    )
    official_style = {
        "fill": False,
        "color": OFFICIAL_COLOR,
        "weight": 2.5,
        "dashArray": OFFICIAL_DASH,
    }
    official_layer: GeoJsonLayer | VectorTileLayer | None = None
    claim_tiles = None
    if from_tiles and tile_source is not None:
        source = tile_source
        if len(official):
            official_layer = VectorTileLayer(
                source.url(
                    "municipalities",
                    f"cvegeo IN ({quoted_list([str(k) for k in official['cvegeo']])})",
                    ("cvegeo", "name"),
                ),
                "municipalities",
                "Límite oficial (INEGI)",
                official_style,
                id_property="cvegeo",
                tooltip_fields=["name", "cvegeo"],
                tooltip_aliases=["Municipio", "Clave"],
            )

        def claim_tiles(cvegeo: str) -> str:
            return source.url(
                "claims",
                f"cvegeo = {quoted_list([cvegeo])} AND valid_to IS NULL",
                ("cvegeo", "municipality"),
            )

    elif len(official):
        official_layer = GeoJsonLayer(
            _features(official.geometry.values, official, ["cvegeo", "name"], "cvegeo"),
            "Límite oficial (INEGI)",
            official_style,
            tooltip_fields=["name", "cvegeo"],
            tooltip_aliases=["Municipio", "Clave"],
        )
    entries = add_claims(m, official, claims, zone_shape, official_layer, claim_tiles)
    m.add_child(HatchPattern("#d7301f"))
    GeoJsonLayer(
        _collection(zone_shape),
        "Zona en disputa",
        {"color": "#d7301f", "weight": 2.5, "className": "linde-hatch"},
        tooltip_text="En disputa",
    ).add_to(m)
    entries.append(LegendEntry("En disputa", "#d7301f", "hatch"))
    if len(places):
        places = places.copy()
        for column in ("name", "population"):
            if column not in places.columns:
                places[column] = None
        GeoJsonLayer(
            _features(places.geometry.values, places, ["name", "population"], None),
            f"Localidades ({len(places)})",
            {"color": "#525252", "weight": 1, "fillColor": "#969696", "fillOpacity": 0.15},
            tooltip_fields=["name", "population"],
            tooltip_aliases=["Localidad", "Población"],
        ).add_to(m)
        entries.append(LegendEntry("Localidad (INEGI)", "#969696"))
    entries += add_inspection_points(m, points, None, None)
    plugins.MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="hectares",
        secondary_area_unit="sqmeters",
        localization="es",
    ).add_to(m)
    return _finish(m, text, Legend("Zona en disputa", entries))
