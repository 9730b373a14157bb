"""The inspection points of a map: clustered by category, with a text popup and a date filter.

Pure, like every builder: it receives a GeoDataFrame and adds layers to a ``folium.Map``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from geo.mexico import MEXICO_TZ
from maps.elements import DateFilter, LegendEntry, PointCluster
from maps.legend import (
    category_color,
    category_label,
)

#: a municipality without a value on a choropleth


def inspection_popup(row: pd.Series) -> dict[str, Any]:
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


def add_inspection_points(
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
            [round(g.y, 6), round(g.x, 6), day, inspection_popup(r)]
            for g, day, (_, r) in zip(group.geometry, group["_day"], group.iterrows(), strict=True)
        ]
        PointCluster(rows, f"Inspecciones: {label} ({len(rows)})", color).add_to(m)
        entries.append(LegendEntry(label, color, "point"))
    days = points["_day"][points["_day"] != ""]
    start = date_from.isoformat() if date_from else (days.min() if len(days) else None)
    end = date_to.isoformat() if date_to else (days.max() if len(days) else None)
    m.add_child(DateFilter(start, end))
    return entries
