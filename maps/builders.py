"""Map builders: pure functions from features to a ``folium.Map``.

Every builder takes GeoDataFrames in EPSG:4326 (or anything GeoPandas reprojects
to it), never touches the database, and returns a map with a layer control, a
metric scale bar, a full-screen button, a north arrow, a title, the date it was
made and a source note. Saving, serving and static export are separate steps
(``maps.export``). An empty input gives a map that says so, not a blank page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium import plugins

from geo.simplify import (
    quantize,
    simplify_coverage,
)
from maps.claim_layers import OFFICIAL_COLOR, add_claims
from maps.common import (
    DEFAULT_SOURCE,
    MEXICO_TZ,
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
from maps.elements import DateFilter, HatchPattern, Labels, Legend, LegendEntry, PointCluster
from maps.legend import (
    CHOROPLETH_COLORS,
    OFFICIAL_DASH,
    category_color,
    category_label,
    classify,
    format_number,
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
    zone: dict[str, Any],
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


def _popup(row: pd.Series) -> dict[str, Any]:
    """An inspection point's popup as text: its category, then one line per fact."""
    observed = row.get("observed_at")
    observed_text = "—"
    if observed is not None and not pd.isna(observed):
        moment = pd.Timestamp(observed)
        # the hour as the inspector lived it, in Mexico City's time
        moment = moment.tz_convert(MEXICO_TZ) if moment.tzinfo else moment
        observed_text = moment.strftime("%d/%m/%Y %H:%M")
    lines = [f"Observada: {observed_text}"]
    if pd.notna(row.get("severity")):
        lines.append(f"Gravedad: {int(row['severity'])} de 5")
    if row.get("description"):
        lines.append(str(row["description"]))
    return {"title": category_label(str(row.get("category"))), "lines": lines}


def _add_points(
    m: folium.Map,
    points: gpd.GeoDataFrame,
    date_from: date | None,
    date_to: date | None,
) -> list[LegendEntry]:
    """Inspection points clustered by category with a date filter; the legend rows."""
    entries: list[LegendEntry] = []
    if not len(points):
        return entries
    points = points.copy()
    if "category" not in points.columns:
        points["category"] = "other"
    if "observed_at" not in points.columns:
        points["observed_at"] = None
    observed = pd.to_datetime(points["observed_at"], utc=True)
    points["_day"] = observed.dt.strftime("%Y-%m-%d").fillna("")
    for category, group in points.groupby("category", sort=True):
        color = category_color(str(category))
        label = category_label(str(category))
        rows = [
            [round(g.y, 6), round(g.x, 6), day, _popup(r)]
            for g, day, (_, r) in zip(group.geometry, group["_day"], group.iterrows(), strict=True)
        ]
        PointCluster(rows, f"Inspecciones: {label} ({len(rows)})", color).add_to(m)
        entries.append(LegendEntry(label, color, "point"))
    days = points["_day"][points["_day"] != ""]
    start = date_from.isoformat() if date_from else (days.min() if len(days) else None)
    end = date_to.isoformat() if date_to else (days.max() if len(days) else None)
    m.add_child(DateFilter(start, end))
    return entries


def river_map(
    river: dict[str, Any],
    lines: gpd.GeoDataFrame,
    inspections: gpd.GeoDataFrame | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    tiles: bool = True,
    made_on: date | None = None,
) -> folium.Map:
    """A river stretch: the river, its federal zone band and inspection points.

    Args:
        river: ``name``, ``federal_zone_width_m`` and optionally ``id`` and ``source``.
        lines: the river's line geometry (the stretch to show).
        inspections: any point features with ``category`` and optionally
            ``observed_at``, ``severity`` and ``description``; clustered by category,
            with a Spanish legend and a date filter.
        date_from, date_to: the filter's initial range (the points given are all kept,
            so the reader can widen it).

    The federal zone band is a buffer of ``federal_zone_width_m`` metres on each side
    of the line, computed in EPSG:6372.
    """
    lines = _lonlat(lines)
    points = _lonlat(inspections)
    width_m = float(river.get("federal_zone_width_m") or 10.0)
    bounds = _bounds(lines, points)
    m = _base_map(bounds, tiles)
    period = ""
    if date_from or date_to:
        start = date_from.strftime("%d/%m/%Y") if date_from else "…"
        end = date_to.strftime("%d/%m/%Y") if date_to else "…"
        period = f" · inspecciones del {start} al {end}"
    text = MapText(
        title=f"Río {river['name']}"
        if not str(river["name"]).lower().startswith("río")
        else str(river["name"]),
        subtitle=f"Zona federal de {format_number(width_m)} m a cada lado del cauce{period}",
        sources=[str(river.get("source") or ""), "Linde, inspecciones de campo"],
        made_on=made_on,
    )
    if bounds is None or not len(lines):
        return _finish(m, text, None, "El río no tiene geometría en el tramo pedido.")

    tolerance, decimals = _for_scale(bounds)
    # the band is drawn from the full line, then simplified like it: it must stay centred
    entries = add_river(m, lines, width_m, tolerance, decimals, tooltip=text.title)
    point_entries = _add_points(m, points, date_from, date_to)
    if inspections is not None and not point_entries:
        entries.append(
            LegendEntry("Sin inspecciones en este tramo y periodo", "#ffffff", "outline")
        )
    return _finish(m, text, Legend("Río e inspecciones", entries + point_entries))


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
    entries += _add_points(m, points, None, None)
    plugins.MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="hectares",
        secondary_area_unit="sqmeters",
        localization="es",
    ).add_to(m)
    return _finish(m, text, Legend("Zona en disputa", entries))
