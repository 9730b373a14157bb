"""What every map builder shares: the base map and its frame (title, date, source,
scale, north arrow), bounds, features as GeoJSON and coverage outlines (the day in
Mexico is ``geo.mexico.today_in_mexico``). Pure, like the builders (``maps.builders``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium import plugins
from shapely.geometry.base import BaseGeometry

from geo.mexico import today_in_mexico
from geo.simplify import (
    decimals_for_tolerance,
    tolerance_for_extent,
)
from maps.elements import Frame, Legend
from maps.vector import BaseTiles, LayerControl

#: what the maps cite when the caller gives no source of its own
DEFAULT_SOURCE = "INEGI, Marco Geoestadístico; Censo de Población y Vivienda 2020"
#: the bounds of Mexico (lon/lat), for a map with nothing on it
MEXICO_BOUNDS = (-118.4, 14.5, -86.7, 32.8)


@dataclass(frozen=True)
class MapText:
    """The words around a map: its title, a subtitle, sources and the day it was made."""

    title: str
    subtitle: str = ""
    sources: Sequence[str] = ()
    made_on: date | None = None

    def note(self) -> str:
        sources = "; ".join(dict.fromkeys(s for s in self.sources if s)) or DEFAULT_SOURCE
        made = (self.made_on or today_in_mexico()).strftime("%d/%m/%Y")
        return f"Fuente: {sources}. Elaborado con Linde el {made}."


def _lonlat(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if frame is None:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326))
    if frame.crs is None:
        raise ValueError("features without a CRS: set one (EPSG:4326 lon/lat for GeoJSON)")
    frame = frame.to_crs(4326) if frame.crs.to_epsg() != 4326 else frame
    return frame[~(frame.geometry.isna() | frame.geometry.is_empty)]


def _bounds(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    boxes = [f.total_bounds for f in frames if len(f)]
    if not boxes:
        return None
    arr = np.vstack(boxes)
    return (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())


def _base_map(bounds: tuple[float, float, float, float] | None, tiles: bool) -> folium.Map:
    """An empty map fitted to ``bounds``, with OpenStreetMap tiles when ``tiles``."""
    m = folium.Map(tiles=None, control_scale=False, zoom_snap=0.25, prefer_canvas=False)
    # without a tile layer Leaflet's map has no maximum zoom, and marker clusters need one
    m.options["maxZoom"] = 19
    if tiles:
        BaseTiles().add_to(m)
    minx, miny, maxx, maxy = bounds or MEXICO_BOUNDS
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(24, 24))
    return m


def _finish(
    m: folium.Map,
    text: MapText,
    legend: Legend | None,
    empty_message: str | None = None,
) -> folium.Map:
    m.add_child(Frame(text.title, text.subtitle, text.note(), empty_message))
    if legend is not None:
        m.add_child(legend)
    plugins.Fullscreen(
        position="topleft", title="Pantalla completa", title_cancel="Salir de pantalla completa"
    ).add_to(m)
    LayerControl(position="topright", collapsed=True).add_to(m)
    return m


def _features(
    geoms: np.ndarray, frame: gpd.GeoDataFrame, columns: Sequence[str], id_column: str | None
) -> dict[str, Any]:
    """A FeatureCollection of the given geometries and only the columns the map shows."""
    features = []
    records = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None)
    for i, (geom, props) in enumerate(zip(geoms, records.to_dict("records"), strict=True)):
        feature: dict[str, Any] = {
            "type": "Feature",
            "id": str(props[id_column]) if id_column else str(i),
            "properties": {k: _plain(v) for k, v in props.items()},
            "geometry": shapely.geometry.mapping(geom),
        }
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def _plain(value: Any) -> Any:
    """A property value for the page's JSON (text stays as written: it is shown as text)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return value


def _collection(geometry: BaseGeometry) -> dict[str, Any]:
    """One geometry as a FeatureCollection of one feature without properties."""
    feature = {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geometry)}
    return {"type": "FeatureCollection", "features": [feature]}


def _for_scale(bounds: tuple[float, float, float, float]) -> tuple[float, int]:
    tolerance = tolerance_for_extent(bounds)
    return tolerance, decimals_for_tolerance(tolerance)


def _outline(geoms: np.ndarray) -> BaseGeometry:
    """The union of polygons that tile the land; fast when they form an exact coverage.

    INEGI's national layer has slivers between states (see shared/data/README.md),
    which the coverage union refuses; those get the general, slower union.
    """
    try:
        return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        # "structure" keeps only areas: rounding can collapse a ring to a line
        polygons = shapely.make_valid(geoms, method="structure", keep_collapsed=False)
        return shapely.union_all(polygons)


def has_numbers(column: pd.Series) -> bool:
    """Whether a column holds at least one number to colour or class by."""
    return bool(pd.to_numeric(column, errors="coerce").notna().any())


def no_numbers_notice(what: str) -> str:
    """The Spanish note of a choropleth drawn plain because ``what`` has no figures."""
    return f"Sin datos de «{what}» en estos municipios: el mapa se dibuja sin coropleta."
