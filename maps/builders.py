"""Map builders: pure functions from features to a ``folium.Map``.

Every builder takes GeoDataFrames in EPSG:4326 (or anything GeoPandas reprojects
to it), never touches the database, and returns a map with a layer control, a
metric scale bar, a full-screen button, a north arrow, a title, the date it was
made and a source note. Saving, serving and static export are separate steps
(``maps.export``). An empty input gives a map that says so, not a blank page.

This module holds the municipalities and metro-zone maps; the river map is in
``maps.river_map``, the disputed-zone map in ``maps.dispute_map``, and the
inspection points both of them draw in ``maps.inspection_points``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.simplify import (
    quantize,
    simplify_coverage,
)
from maps.common import (
    MapText,
    _base_map,
    _bounds,
    _collection,
    _features,
    _finish,
    _for_scale,
    _lonlat,
    _outline,
    _plain,
    has_numbers,
    no_numbers_notice,
)
from maps.elements import Labels, Legend, LegendEntry
from maps.legend import (
    CHOROPLETH_COLORS,
    classify,
)
from maps.river_layers import DEFAULT_FEDERAL_ZONE_M, add_river
from maps.vector import GeoJsonLayer
from maps.vector_tiles import TileSource, VectorTileLayer, quoted_list

#: a municipality without a value on a choropleth
NO_DATA_COLOR = "#cccccc"
#: names are drawn on the map itself up to this many municipalities; beyond, on hover only
LABELS_SHOWN_UP_TO = 80


def municipalities_map(
    municipalities: gpd.GeoDataFrame,
    text: MapText,
    *,
    outline_name: str | None = None,
    choropleth: str | None = None,
    choropleth_title: str | None = None,
    tiles: bool = True,
    empty_message: str = "No hay municipios cargados para este mapa.",
    rivers: gpd.GeoDataFrame | None = None,
    tile_source: TileSource | None = None,
) -> folium.Map:
    """A map of municipalities: styled, labelled, population on hover, optional choropleth.

    Args:
        municipalities: one row per municipality with ``cvegeo``, ``name`` and
            ``population`` (may be missing) and polygon geometry; they must not overlap
            (a coverage), as INEGI's do.
        text: title, subtitle, sources and date.
        outline_name: when given, the union of the municipalities is drawn as an outline
            layer with this name (a metro zone's limit).
        choropleth: a numeric column to colour the municipalities by, in five quantile
            classes; ``None`` draws them all in one colour.
        choropleth_title: the legend's title for that column (defaults to its name).
        tiles: add the online OpenStreetMap basemap (the map stays readable without it).
        rivers: river lines (``name``, ``federal_zone_width_m``) to draw over the
            municipalities with their federal zone, clipped to the municipalities.
        tile_source: for a map shown in Linde's pages: when the municipalities are too
            many to inline (``TileSource.too_big``), they are drawn from Linde's vector
            tiles of ``municipalities`` (filtered to these keys, coloured by key) and
            not simplified here; labels, outline and rivers stay inline. ``None`` (files)
            always inlines.

    A choropleth column that holds no number at all (every value missing, as when the
    municipalities were imported without population) gives the plain map, and its
    subtitle and legend say in Spanish that there was nothing to colour by.

    Raises:
        ValueError: features without a CRS, or a choropleth column that is missing.
    """
    munis = _lonlat(municipalities).reset_index(drop=True)
    for column in ("cvegeo", "name", "population"):
        if column not in munis.columns:
            munis[column] = None
    bounds = _bounds(munis)
    m = _base_map(bounds, tiles)
    if bounds is None:
        return _finish(m, text, None, empty_message)

    tolerance, decimals = _for_scale(bounds)
    from_tiles = tile_source is not None and tile_source.too_big(munis.geometry.values)
    # from tiles, each tile is simplified for its zoom by the tile server: the stored
    # shapes only place the labels and make the outline (simplified on its own below)
    geoms = (
        munis.geometry.values
        if from_tiles
        else quantize(simplify_coverage(munis.geometry.values, tolerance), decimals)
    )

    columns = ["cvegeo", "name", "population"]
    legend_entries: list[LegendEntry] = []
    colors: list[str] = ["#f4f1e4"] * len(munis)
    if choropleth is not None and choropleth not in munis.columns:
        raise ValueError(f"choropleth column {choropleth!r} is not among the features' columns")
    if choropleth is not None and not has_numbers(munis[choropleth]):
        missing = choropleth_title or choropleth
        text = replace(text, subtitle=" · ".join(filter(None, [text.subtitle, "sin coropleta"])))
        legend_entries.append(LegendEntry(no_numbers_notice(missing), "#cccccc"))
        choropleth = None
    if choropleth is not None:
        values = pd.to_numeric(munis[choropleth], errors="coerce")
        classes, class_labels = classify(values.to_numpy(dtype=float), len(CHOROPLETH_COLORS))
        colors = [CHOROPLETH_COLORS[c] if c >= 0 else NO_DATA_COLOR for c in classes]
        legend_entries += [
            LegendEntry(label, color)
            for label, color in zip(class_labels, CHOROPLETH_COLORS, strict=False)
        ]
        if values.isna().any():
            legend_entries.append(LegendEntry("sin dato", NO_DATA_COLOR))
        if choropleth not in columns:
            columns.append(choropleth)
    munis = munis.assign(_fill=colors)

    tooltip_fields = ["name", "cvegeo", "population"]
    aliases = ["Municipio", "Clave", "Población"]
    if choropleth is not None and choropleth not in tooltip_fields:
        tooltip_fields.append(choropleth)
        aliases.append(choropleth_title or choropleth)
    muni_style = {"fillOpacity": 0.7, "color": "#4a5a6a", "weight": 1}
    muni_highlight = {"weight": 3, "color": "#1d2b36"}
    if tile_source is not None and from_tiles:
        keys = [str(k) for k in munis["cvegeo"]]
        extra = (
            {k: {choropleth: _plain(v)} for k, v in zip(keys, munis[choropleth], strict=True)}
            if choropleth is not None and choropleth not in ("cvegeo", "name", "population")
            else {}
        )
        VectorTileLayer(
            tile_source.url(
                "municipalities",
                f"cvegeo IN ({quoted_list(keys)})",
                ("cvegeo", "name", "population"),
            ),
            "municipalities",
            "Municipios",
            {**muni_style, "fillColor": colors[0] if len(set(colors)) == 1 else NO_DATA_COLOR},
            id_property="cvegeo",
            fills=dict(zip(keys, colors, strict=True)),
            extra=extra,
            tooltip_fields=tooltip_fields,
            tooltip_aliases=aliases,
            highlight=muni_highlight,
        ).add_to(m)
    else:
        data = _features(geoms, munis, [*columns, "_fill"], "cvegeo")
        GeoJsonLayer(
            data,
            "Municipios",
            muni_style,
            fill_property="_fill",
            highlight=muni_highlight,
            tooltip_fields=tooltip_fields,
            tooltip_aliases=aliases,
            smooth_factor=0.5,
        ).add_to(m)

    if outline_name:
        outline = _outline(geoms)
        if from_tiles:
            # one polygon is a coverage of its own: simplified as the map's scale wants
            outline = quantize(simplify_coverage([outline], tolerance), decimals)[0]
        GeoJsonLayer(
            _collection(outline),
            outline_name,
            {"fill": False, "color": "#b2182b", "weight": 3},
            interactive=False,
        ).add_to(m)
        legend_entries.insert(0, LegendEntry(outline_name, "#b2182b", "outline"))

    river_lines = _lonlat(rivers)
    if len(river_lines):
        river_lines = river_lines.clip(_outline(geoms))
        river_lines = river_lines[~river_lines.geometry.is_empty]
        widths = river_lines.get("federal_zone_width_m", pd.Series(dtype=float)).dropna()
        width_m = float(widths.max()) if len(widths) else DEFAULT_FEDERAL_ZONE_M
        names = ", ".join(sorted({str(n) for n in river_lines.get("name", []) if n}))
        legend_entries += add_river(
            m,
            river_lines,
            width_m,
            tolerance,
            decimals,
            channel_name=f"Ríos ({names})" if names else "Ríos",
            tooltip=names or None,
        )

    points = shapely.point_on_surface(geoms)
    # the most populous municipality is named first (then the largest): where two names
    # cannot both fit, the one more readers look for keeps its place
    population = pd.to_numeric(munis["population"], errors="coerce").fillna(-1).to_numpy()
    order = np.lexsort((-shapely.area(geoms), -population))
    labels = [
        (float(points[i].y), float(points[i].x), str(munis["name"].iloc[i]))
        for i in order
        if munis["name"].iloc[i]
    ]
    Labels(labels, "Nombres de los municipios", show=len(labels) <= LABELS_SHOWN_UP_TO).add_to(m)

    if choropleth is None:
        legend_entries.append(LegendEntry("Municipio (límite oficial INEGI)", "#f4f1e4"))
        title = "Municipios"
    else:
        title = choropleth_title or choropleth
    return _finish(m, text, Legend(title, legend_entries))


def metro_zone_map(
    zone: Mapping[str, Any],
    municipalities: gpd.GeoDataFrame,
    *,
    choropleth: str | None = None,
    choropleth_title: str | None = None,
    tiles: bool = True,
    made_on: date | None = None,
    rivers: gpd.GeoDataFrame | None = None,
    tile_source: TileSource | None = None,
) -> folium.Map:
    """A metro zone: its municipalities, its outline and the rivers crossing it.

    Args:
        zone: ``code``, ``name``, ``delimitation_year`` and optionally ``source``.
        municipalities: the zone's members (see :func:`municipalities_map`), with
            an optional ``source`` column cited in the note.
        tile_source: see :func:`municipalities_map`.
    """
    sources = [str(zone.get("source") or "")]
    if "source" in municipalities.columns:
        sources += [str(s) for s in municipalities["source"].dropna().unique()]
    text = MapText(
        title=str(zone["name"]),
        subtitle=f"Clave {zone['code']} · delimitación {zone['delimitation_year']} · "
        f"{len(municipalities)} municipios",
        sources=sources,
        made_on=made_on,
    )
    return municipalities_map(
        municipalities,
        text,
        outline_name="Límite de la zona metropolitana",
        choropleth=choropleth,
        choropleth_title=choropleth_title,
        tiles=tiles,
        empty_message="Ninguno de los municipios de esta zona está cargado en Linde todavía: "
        "no hay nada que dibujar.",
        rivers=rivers,
        tile_source=tile_source,
    )
