"""Linde's own GeoJSON layer, basemap and layer control, with every word passed as data.

Folium's ``GeoJson`` tooltips build HTML inside a JavaScript template literal, its
``Tooltip`` splices the text into one, and Leaflet's layer control and attribution
write names as raw HTML. These three elements replace them: the features, the
tooltip's words, the layer names and the attribution reach the page as JSON (see
``maps.payload``) and are put on screen as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from branca.element import MacroElement
from folium.map import Layer
from jinja2 import Template

from maps.elements import DataLayer
from maps.payload import JS_ESCAPE_HTML, data_element, js_read

#: OpenStreetMap's standard tile server (the basemap of ``tiles=true``)
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© colaboradores de OpenStreetMap"


def tooltip_payload(
    text: str | None, fields: Sequence[str], aliases: Sequence[str]
) -> dict[str, Any] | None:
    """A layer's tooltip for the page's script: one text, or fields with their Spanish
    aliases (as many of each), or none. Put on screen as text, never as HTML."""
    if len(fields) != len(aliases):
        raise ValueError("tooltip_fields and tooltip_aliases must be as many")
    if text is not None:
        return {"text": text}
    if fields:
        return {"fields": list(fields), "aliases": list(aliases)}
    return None


class GeoJsonLayer(DataLayer):
    """A GeoJSON FeatureCollection drawn with one style, optionally per-feature fill.

    Args:
        features: a FeatureCollection (lon/lat).
        name: the layer's name in the layer control.
        style: Leaflet path options for every feature.
        fill_property: a property holding each feature's ``fillColor``.
        highlight: path options while the pointer is over a feature.
        tooltip_text: one text shown over every feature; or
        tooltip_fields / tooltip_aliases: a table of these properties with these
            headings (numbers written as in Mexico, ``270,955``).
        interactive: ``False`` for a layer that only draws (no tooltip, no hover).
        point_radius: points are drawn as circles of this radius (px).
    """

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>.linde-tip th { text-align: left; padding-right: 8px; font-weight: 600; }
.linde-tip td, .linde-tip th { font-size: 12px; }</style>
{% endmacro %}
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function (d) {
  function tip(feature) {
    var t = d.tooltip;
    if (t.text !== undefined) {
      var div = document.createElement("div"); div.textContent = t.text; return div;
    }
    var table = document.createElement("table"); table.className = "linde-tip";
    t.fields.forEach(function (field, i) {
      var value = feature.properties[field];
      if (value === null || value === undefined || value === "") { return; }
      var row = table.insertRow();
      var th = document.createElement("th"); th.textContent = t.aliases[i]; row.appendChild(th);
      row.insertCell().textContent =
        typeof value === "number" ? value.toLocaleString("es-MX") : String(value);
    });
    return table;
  }
  var layer = L.geoJSON(d.features, {
    interactive: d.interactive,
    smoothFactor: d.smoothFactor,
    style: function (feature) {
      var s = Object.assign({}, d.style);
      if (d.fillProperty) { s.fillColor = feature.properties[d.fillProperty]; }
      return s;
    },
    pointToLayer: function (_feature, latlng) {
      return L.circleMarker(latlng, { radius: d.pointRadius, interactive: d.interactive });
    },
    onEachFeature: function (feature, path) {
      if (!d.interactive) { return; }
      if (d.tooltip) { path.bindTooltip(function () { return tip(feature); }, { sticky: true }); }
      if (d.highlight) {
        path.on("mouseover", function () { path.setStyle(d.highlight); });
        path.on("mouseout", function () { layer.resetStyle(path); });
      }
    }
  });
  return layer;
})({{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(
        self,
        features: dict[str, Any],
        name: str,
        style: dict[str, Any],
        *,
        fill_property: str | None = None,
        highlight: dict[str, Any] | None = None,
        tooltip_text: str | None = None,
        tooltip_fields: Sequence[str] = (),
        tooltip_aliases: Sequence[str] = (),
        interactive: bool = True,
        smooth_factor: float = 1.0,
        point_radius: float = 5,
        show: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        tooltip = tooltip_payload(tooltip_text, tooltip_fields, tooltip_aliases)
        self.payload = {
            "features": features,
            "style": style,
            "fillProperty": fill_property,
            "highlight": highlight,
            "tooltip": tooltip,
            "interactive": interactive,
            "smoothFactor": smooth_factor,
            "pointRadius": point_radius,
        }

    def data(self) -> Any:
        return self.payload


class BaseTiles(DataLayer):
    """An online basemap (a base layer): tile URL template, attribution and name as data.

    Leaflet writes the attribution as HTML, so the script escapes it first.
    """

    _template = Template(
        """
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function (d) {
  """
        + JS_ESCAPE_HTML
        + """
  return L.tileLayer(d.url, { attribution: lindeEscapeHtml(d.attribution), maxZoom: d.maxZoom,
    crossOrigin: false });
})({{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(
        self,
        url: str = OSM_TILES,
        name: str = "Mapa base (OpenStreetMap, en línea)",
        attribution: str = OSM_ATTRIBUTION,
        max_zoom: int = 19,
    ):
        super().__init__(name=name, overlay=False, control=True, show=True)
        self._name = "BaseTiles"
        self.url = url
        self.attribution = attribution
        self.max_zoom = max_zoom

    def data(self) -> Any:
        return {"url": self.url, "attribution": self.attribution, "maxZoom": self.max_zoom}


class LayerControl(MacroElement):
    """Leaflet's layer control over the map's layers, their names escaped for HTML.

    Leaflet writes each name with ``innerHTML``; the names reach the script as data
    and are escaped there, so "Reclamo de <img onerror=…>" is shown as written. Two
    layers with the same name both stay in the control (folium's keeps only one).
    """

    _template = Template(
        """
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
(function (map, d, layers) {
  """
        + JS_ESCAPE_HTML
        + """
  var control = L.control.layers(null, null, { position: d.position, collapsed: d.collapsed });
  layers.forEach(function (layer, i) {
    var entry = d.layers[i], name = lindeEscapeHtml(entry.name);
    if (entry.overlay) { control.addOverlay(layer, name); }
    else { control.addBaseLayer(layer, name); }
  });
  control.addTo(map);
})({{ this._parent.get_name() }}, {{ this.read_js }}, [{{ this.layer_variables }}]);
{% endmacro %}
"""
    )

    def __init__(self, position: str = "topright", collapsed: bool = True):
        super().__init__()
        self._name = "LayerControl"
        self.position = position
        self.collapsed = collapsed

    def render(self, **kwargs: Any) -> str:
        assert self._parent is not None, "a LayerControl is added to a map"
        layers = [
            item
            for item in self._parent._children.values()
            if isinstance(item, Layer) and item.control
        ]
        entries = [{"name": str(item.layer_name), "overlay": bool(item.overlay)} for item in layers]
        # variable names Linde generated (``geo_json_layer_<hex>``), never text from data
        self.layer_variables = ", ".join(item.get_name() for item in layers)
        data = {"position": self.position, "collapsed": self.collapsed, "layers": entries}
        self.data_html = data_element(self.get_name(), data)
        self.read_js = js_read(self.get_name())
        return super().render(**kwargs)
