"""Big layers of a page's map drawn from Linde's own vector tiles (Leaflet.VectorGrid).

A map shown inside Linde's pages (``/mapas``, ``/disputas/{id}``) does not inline a
layer whose GeoJSON would be big: it draws it from the collection's MVT tiles
(``/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}``), each tile simplified for
its zoom, cached and revalidated with ETags. Files (exported HTML, PNG, PDF) keep
inline GeoJSON, so they still open with no network at all.

**When a layer is big.** :func:`too_big_to_inline` counts the features and the
vertices the server would have to read, simplify and send. Measured on INEGI's
polygons (``../shared/data``, coverage-simplified to the map's scale as the builders
do): the Oaxaca metro zone is 26 municipalities, 12,749 vertices, 0.05 MB of GeoJSON
(stays GeoJSON); the state of Oaxaca is 570 municipalities, 291,995 vertices, 0.5 MB
after 1.6 s of simplification per request; the country is 2,474 and 3.7 million
vertices, 1.1 MB after 22.5 s. So the line is drawn at :data:`INLINE_MAX_FEATURES`
(300) features or :data:`INLINE_MAX_VERTICES` (100,000) vertices: every metro zone
(the largest, the Valle de México, has 76 municipalities) stays GeoJSON, a state or
the country goes to tiles. ``LINDE_MAP_INLINE_MAX_FEATURES`` and
``LINDE_MAP_INLINE_MAX_VERTICES`` move the line.

**Fetching from a sandboxed frame.** The pages show a map in an
``<iframe sandbox="allow-scripts">``: its document has an origin of its own, so it
cannot send the person's session cookie (and private layers' tiles need the role).
The frame asks its page for each tile (``postMessage``); the page fetches it from
its own origin with the cookie and hands the bytes back
(``api/pages/templates/_teselas.html``). A map opened on its own fetches directly.
Only tile addresses pass: the page refuses any other URL.

VectorGrid 1.3.0 is vendored (``maps/static/leaflet.vectorgrid-1.3.0``); its
renderer is SVG (Leaflet 1.9 removed ``L.DomEvent.fakeStop``, which VectorGrid's
canvas renderer calls on click). Text from the tiles (names) reaches the page as
tile properties and is put on screen with ``textContent``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np
import shapely
from folium.elements import JSCSSMixin
from jinja2 import Template

from maps.elements import DataLayer
from maps.vector import tooltip_payload

#: a layer with more features than this is drawn from tiles (see the module's note)
INLINE_MAX_FEATURES = 300
#: a layer with more vertices than this is drawn from tiles
INLINE_MAX_VERTICES = 100_000
#: the tile matrix set the pages' maps use
TMS = "WebMercatorQuad"
#: the ``default_js`` name of Leaflet.VectorGrid, resolved by maps.assets
_VECTORGRID_JS = [("leaflet_vectorgrid", "")]


@dataclass(frozen=True)
class TileSource:
    """Where a page's map reads Linde's tiles, and when a layer is big enough to.

    ``root`` is the service's address as the page sees it ("" for the page's own
    origin: the addresses are then relative, as the pages' bridge wants them).
    """

    root: str = ""
    max_features: int = INLINE_MAX_FEATURES
    max_vertices: int = INLINE_MAX_VERTICES

    def url(
        self, collection: str, cql_filter: str | None = None, properties: Sequence[str] = ()
    ) -> str:
        """The ``{z}/{y}/{x}`` template of a collection's tiles (Leaflet's placeholders)."""
        params = {}
        if cql_filter:
            params["filter"] = cql_filter
        if properties:
            params["properties"] = ",".join(properties)
        query = ("?" + urlencode(params)) if params else ""
        return f"{self.root}/collections/{collection}/tiles/{TMS}/{{z}}/{{y}}/{{x}}{query}"

    def too_big(self, geometries: np.ndarray) -> bool:
        return too_big_to_inline(geometries, self.max_features, self.max_vertices)


def too_big_to_inline(
    geometries: np.ndarray,
    max_features: int = INLINE_MAX_FEATURES,
    max_vertices: int = INLINE_MAX_VERTICES,
) -> bool:
    """Whether a layer of these geometries should be drawn from tiles, not inlined.

    Counts features and vertices as stored (what a request would read and simplify).
    Missing geometries count as features without vertices.
    """
    if len(geometries) > max_features:
        return True
    return int(shapely.get_num_coordinates(np.asarray(geometries)).sum()) > max_vertices


def quoted_list(values: Sequence[str]) -> str:
    """``'a','b'``: string literals for a CQL2 ``IN`` list (quotes doubled)."""
    return ",".join("'" + str(v).replace("'", "''") + "'" for v in values)


class VectorTileLayer(JSCSSMixin, DataLayer):
    """A collection's vector tiles as one toggleable Leaflet layer (VectorGrid, SVG).

    Args:
        url: the tiles' ``{z}/{y}/{x}`` template (:meth:`TileSource.url`).
        source_layer: the MVT layer (Linde names it after the collection).
        name: the layer's name in the layer control.
        style: Leaflet path options for every feature.
        id_property: the property that identifies a feature (for the highlight).
        fills: ``{id: "#rrggbb"}``: a fill per feature (a choropleth), by ``id_property``.
        extra: ``{id: {field: value}}``: values the tooltip shows that tiles do not carry.
        tooltip_text / tooltip_fields / tooltip_aliases: as ``maps.vector.GeoJsonLayer``.
        highlight: path options while the pointer is over a feature.
    """

    default_js = _VECTORGRID_JS

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>.linde-tip th { text-align: left; padding-right: 8px; font-weight: 600; }
.linde-tip td, .linde-tip th { font-size: 12px; }</style>
{% endmacro %}
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function (d) {
  // a frame of its own origin asks its page for each tile (see maps.vector_tiles)
  function bridged(url) {
    var bridge = window.lindeTileBridge;
    if (!bridge) {
      var waiting = {}, next = 0;
      window.addEventListener("message", function (e) {
        if (e.source !== window.parent || !e.data || e.data.linde !== "tesela") { return; }
        var done = waiting[e.data.id];
        if (!done) { return; }
        delete waiting[e.data.id];
        var ok = e.data.status >= 200 && e.data.status < 300 && e.data.body;
        var status = ok ? 200 : e.data.status || 502;
        done(new Response(ok ? e.data.body : null, { status: status }));
      });
      bridge = window.lindeTileBridge = function (asked) {
        return new Promise(function (resolve) {
          var id = ++next;
          waiting[id] = resolve;
          window.parent.postMessage({ linde: "tesela", id: id, url: String(asked) }, "*");
        });
      };
    }
    return bridge(url);
  }
  var framed = window.parent !== window && window.origin === "null";
  var load = L.VectorGrid.Protobuf.prototype._getVectorTilePromise;
  var Tiles = L.VectorGrid.Protobuf.extend({
    _getVectorTilePromise: function (coords, bounds) {
      if (!framed) { return load.call(this, coords, bounds); }
      // VectorGrid calls the global fetch once, at once: that one call goes to the page
      var own = window.fetch;
      window.fetch = bridged;
      try { return load.call(this, coords, bounds); } finally { window.fetch = own; }
    }
  });
  function tip(props) {
    var t = d.tooltip, values = Object.assign({}, props, d.extra[props[d.idProperty]] || {});
    if (t.text !== undefined) {
      var div = document.createElement("div"); div.textContent = t.text; return div;
    }
    var table = document.createElement("table"); table.className = "linde-tip";
    t.fields.forEach(function (field, i) {
      var value = values[field];
      if (value === null || value === undefined || value === "") { return; }
      var row = table.insertRow();
      var th = document.createElement("th"); th.textContent = t.aliases[i]; row.appendChild(th);
      row.insertCell().textContent =
        typeof value === "number" ? value.toLocaleString("es-MX") : String(value);
    });
    return table;
  }
  function style(props) {
    var s = Object.assign({ fill: d.style.fill !== false }, d.style);
    var fill = d.fills[props[d.idProperty]];
    if (fill) { s.fillColor = fill; }
    return s;
  }
  var styles = {};
  styles[d.sourceLayer] = style;
  var layer = new Tiles(d.url, {
    rendererFactory: L.svg.tile,
    vectorTileLayerStyles: styles,
    interactive: d.tooltip !== null,
    maxNativeZoom: 18,
    fetchOptions: { credentials: "same-origin" },
    getFeatureId: function (f) { return f.properties[d.idProperty]; }
  });
  if (d.tooltip !== null) {
    var hint = L.tooltip({ sticky: true });
    layer.on("mouseover", function (e) {
      var props = e.layer.properties || {};
      if (d.highlight) {
        layer.setFeatureStyle(props[d.idProperty], Object.assign(style(props), d.highlight));
      }
      hint.setLatLng(e.latlng).setContent(tip(props));
      if (layer._map) { hint.openOn(layer._map); }
    });
    layer.on("mouseout", function (e) {
      var props = e.layer.properties || {};
      if (d.highlight) { layer.resetFeatureStyle(props[d.idProperty]); }
      if (layer._map) { layer._map.closeTooltip(hint); }
    });
    layer.on("click", function (e) {
      if (!layer._map) { return; }
      L.popup().setLatLng(e.latlng).setContent(tip(e.layer.properties || {})).openOn(layer._map);
    });
  }
  return layer;
})({{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(
        self,
        url: str,
        source_layer: str,
        name: str,
        style: dict[str, Any],
        *,
        id_property: str,
        fills: dict[str, str] | None = None,
        extra: dict[str, dict[str, Any]] | None = None,
        tooltip_text: str | None = None,
        tooltip_fields: Sequence[str] = (),
        tooltip_aliases: Sequence[str] = (),
        highlight: dict[str, Any] | None = None,
        show: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "VectorTileLayer"
        tooltip = tooltip_payload(tooltip_text, tooltip_fields, tooltip_aliases)
        self.payload = {
            "url": url,
            "sourceLayer": source_layer,
            "style": style,
            "idProperty": id_property,
            "fills": fills or {},
            "extra": extra or {},
            "tooltip": tooltip,
            "highlight": highlight,
        }

    def data(self) -> Any:
        return self.payload
