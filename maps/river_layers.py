"""A river drawn on a map: its federal zone band and its channel, with legend rows.

Shared by the river map and the metro-zone map (which shows the rivers that cross the
zone), so the band is drawn one way everywhere: a buffer of the river's federal-zone
width on each side of the line, computed in EPSG:6372 from the full line and then
simplified like it, so it stays centred on the channel.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely

from geo.simplify import buffer_metres, quantize, simplify_lines
from maps.elements import LegendEntry
from maps.legend import format_number
from maps.vector import GeoJsonLayer

RIVER_COLOR = "#08519c"
BAND_COLOR = "#9ecae1"
#: the federal zone when a river does not say its own (Ley de Aguas Nacionales, art. 3)
DEFAULT_FEDERAL_ZONE_M = 10.0


def add_river(
    m: folium.Map,
    lines: gpd.GeoDataFrame,
    width_m: float,
    tolerance: float,
    decimals: int,
    *,
    channel_name: str = "Cauce del río",
    tooltip: str | None = None,
) -> list[LegendEntry]:
    """Draw ``lines`` (lon/lat) and their federal zone of ``width_m`` metres a side on
    ``m``; return the legend rows. Nothing is drawn for no lines."""
    if not len(lines):
        return []
    band = buffer_metres(lines.geometry.values, width_m)
    band = quantize(simplify_lines(np.asarray([shapely.union_all(band)]), tolerance / 4), 7)
    line_geoms = quantize(simplify_lines(lines.geometry.values, tolerance), decimals)
    feature: dict[str, Any] = {"type": "Feature", "properties": {}, "geometry": None}
    GeoJsonLayer(
        {
            "type": "FeatureCollection",
            "features": [{**feature, "geometry": shapely.geometry.mapping(band[0])}],
        },
        f"Zona federal ({format_number(width_m)} m)",
        {"color": "#6baed6", "weight": 1, "fillColor": BAND_COLOR, "fillOpacity": 0.45},
        interactive=False,
    ).add_to(m)
    channel = shapely.geometry.mapping(shapely.GeometryCollection(list(line_geoms)))
    GeoJsonLayer(
        {"type": "FeatureCollection", "features": [{**feature, "geometry": channel}]},
        channel_name,
        {"color": RIVER_COLOR, "weight": 3},
        tooltip_text=tooltip,
    ).add_to(m)
    return [
        LegendEntry(channel_name, RIVER_COLOR, "line"),
        LegendEntry(f"Zona federal ({format_number(width_m)} m por lado)", BAND_COLOR),
    ]
