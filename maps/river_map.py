"""The map of a river stretch: its line, federal zone and the inspection points along it.

Pure, like every builder (``maps.builders``): GeoDataFrames in, a ``folium.Map`` out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import folium
import geopandas as gpd

from maps.common import (
    MapText,
    _base_map,
    _bounds,
    _finish,
    _for_scale,
    _lonlat,
)
from maps.elements import Legend, LegendEntry
from maps.inspection_points import add_inspection_points
from maps.legend import (
    format_number,
)
from maps.river_layers import add_river

#: a municipality without a value on a choropleth


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
    point_entries = add_inspection_points(m, points, date_from, date_to)
    if inspections is not None and not point_entries:
        entries.append(
            LegendEntry("Sin inspecciones en este tramo y periodo", "#ffffff", "outline")
        )
    return _finish(m, text, Legend("Río e inspecciones", entries + point_entries))
