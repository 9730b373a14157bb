"""The locator inset: a small map of the state with the mapped area marked, so a
printed page says where in Mexico it is.

Drawn as SVG by the page's script from numbers only (path coordinates and a
rectangle, rounded to tenths of a pixel); the state's name is data, shown with
``textContent``. No tiles: it prints the same offline.
"""

from __future__ import annotations

import math
from typing import Any

import folium
import shapely
from jinja2 import Template
from shapely.geometry.base import BaseGeometry

from maps.elements import DataElement

#: the inset's longer side, in CSS pixels
SIZE_PX = 150
#: the smallest side of the marked area, so a small zone stays visible
MIN_MARK_PX = 6.0
#: no inset when the area's box covers more than this share of the state's: it would
#: say nothing (e.g. only the zone's own municipalities are loaded)
MAX_AREA_SHARE = 0.5


def inset_drawing(
    state: BaseGeometry, area: tuple[float, float, float, float], size: int = SIZE_PX
) -> dict[str, Any]:
    """The state's outline as an SVG path and the area's rectangle, in pixels.

    Args:
        state: the state's outline (lon/lat).
        area: the mapped area's lon/lat bounds.

    Longitudes are shortened by the cosine of the middle latitude, as the map's own
    projection roughly does at these latitudes, so the state keeps its shape.
    """
    minx, miny, maxx, maxy = state.bounds
    minx, miny = min(minx, area[0]), min(miny, area[1])
    maxx, maxy = max(maxx, area[2]), max(maxy, area[3])
    shrink = math.cos(math.radians((miny + maxy) / 2))
    width_deg, height_deg = max((maxx - minx) * shrink, 1e-9), max(maxy - miny, 1e-9)
    scale = size / max(width_deg, height_deg)
    width, height = width_deg * scale, height_deg * scale

    def px(x: float, y: float) -> tuple[float, float]:
        return (x - minx) * shrink * scale, (maxy - y) * scale

    # outer rings only, merged: holes between municipalities (and islands in them)
    # mean nothing at 150 px
    parts = [p for p in _polygons(state) if p.area > 0]
    filled = shapely.union_all([shapely.Polygon(p.exterior) for p in parts])
    simple = shapely.simplify(filled, (maxy - miny) / 400, preserve_topology=True)
    rings = []
    for polygon in _polygons(simple):
        points = [px(x, y) for x, y in polygon.exterior.coords]
        rings.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in points) + "Z")
    (ax0, ay1), (ax1, ay0) = px(area[0], area[1]), px(area[2], area[3])
    mark_w, mark_h = max(ax1 - ax0, MIN_MARK_PX), max(ay1 - ay0, MIN_MARK_PX)
    cx, cy = (ax0 + ax1) / 2, (ay0 + ay1) / 2
    return {
        "width": round(width, 1),
        "height": round(height, 1),
        "state": "".join(rings),
        "mark": [
            round(cx - mark_w / 2, 1),
            round(cy - mark_h / 2, 1),
            round(mark_w, 1),
            round(mark_h, 1),
        ],
    }


def _polygons(geom: BaseGeometry) -> list[shapely.Polygon]:
    """The non-empty polygons of a (multi)polygon or collection."""
    parts = shapely.get_parts(shapely.get_parts(geom))  # a collection's multipolygons too
    return [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]


class Locator(DataElement):
    """The inset, a Leaflet control at the top right (under the layer switcher, which
    is hidden in print)."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.linde-locator { background: rgba(255,255,255,.92); padding: 4px 6px 2px; border-radius: 3px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 10px; color: #333; text-align: center; }
.linde-locator svg { display: block; margin: 0 auto 1px; }
</style>
{% endmacro %}
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
(function (map, d) {
  var NS = "http://www.w3.org/2000/svg";
  var Inset = L.Control.extend({ onAdd: function () {
    var div = L.DomUtil.create("div", "linde-locator");
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", d.width); svg.setAttribute("height", d.height);
    svg.setAttribute("viewBox", "0 0 " + d.width + " " + d.height);
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", "Ubicación en " + d.name);
    var state = document.createElementNS(NS, "path");
    state.setAttribute("d", d.state); state.setAttribute("fill", "#e4e1d8");
    state.setAttribute("stroke", "#6b6b6b"); state.setAttribute("stroke-width", "0.8");
    state.setAttribute("fill-rule", "evenodd");
    svg.appendChild(state);
    var mark = document.createElementNS(NS, "rect");
    ["x", "y", "width", "height"].forEach(function (k, i) { mark.setAttribute(k, d.mark[i]); });
    mark.setAttribute("fill", "rgba(156,42,60,.25)"); mark.setAttribute("stroke", "#9c2a3c");
    mark.setAttribute("stroke-width", "1.5");
    svg.appendChild(mark);
    div.appendChild(svg);
    L.DomUtil.create("span", "", div).textContent = d.name;
    L.DomEvent.disableClickPropagation(div);
    return div; } });
  new Inset({ position: "topright" }).addTo(map);
})({{ this._parent.get_name() }}, {{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(self, name: str, drawing: dict[str, Any]):
        super().__init__()
        self._name = "Locator"
        self.name = name
        self.drawing = drawing

    def data(self) -> Any:
        return {"name": self.name, **self.drawing}


def add_locator(
    m: folium.Map,
    state_name: str,
    state: BaseGeometry | None,
    area: tuple[float, float, float, float] | None,
) -> folium.Map:
    """The map with the inset of ``state`` marking ``area``; unchanged when either is
    missing or empty (no municipality of the state loaded, nothing drawn), or when the
    area's box covers more than ``MAX_AREA_SHARE`` of the state's (only the zone's own
    municipalities loaded, or a river that runs far beyond them)."""
    if state is None or state.is_empty or area is None or not all(map(math.isfinite, area)):
        return m
    if _box_area(area) > MAX_AREA_SHARE * _box_area(state.bounds):
        return m
    Locator(state_name, inset_drawing(state, area)).add_to(m)
    return m


def _box_area(bounds: tuple[float, ...]) -> float:
    return max(bounds[2] - bounds[0], 0.0) * max(bounds[3] - bounds[1], 0.0)
