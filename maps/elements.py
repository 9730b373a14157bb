"""Map elements folium lacks, written as small Leaflet snippets (by hand, and why).

Folium has no map title, source note, north arrow, legend, compact label layer,
date filter or hatch fill. Its ``Marker`` per label or per point costs ~600 bytes of
JavaScript each and its legends (branca colormaps) pull d3 from a CDN; these
elements draw the same from one compact JSON array with a few lines of Leaflet.
Every text they show is data: it reaches the page as JSON (``maps.payload``) and is
put on screen with ``textContent`` or as a DOM node, never spliced into a script
or an HTML string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from maps.payload import data_element, js_read

#: the ``default_js`` names of leaflet.markercluster, resolved by maps.assets
_CLUSTER_JS = [("markerclusterjs", "")]
_CLUSTER_CSS = [("markerclustercss", ""), ("markerclusterdefaultcss", "")]
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _color(value: str) -> str:
    """A ``#rrggbb`` colour, or ``ValueError``: colours are written into SVG attributes."""
    if not _HEX_COLOR.fullmatch(value):
        raise ValueError(f"not a #rrggbb colour: {value!r}")
    return value


class _ReadsItsData:
    """Writes ``data()`` as the page's JSON element named after the element, and gives
    its template ``read_js``, the expression that reads it back."""

    def data(self) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def render(self, **kwargs: Any) -> str:
        self.data_html = data_element(self.get_name(), self.data())  # type: ignore[attr-defined]
        self.read_js = js_read(self.get_name())  # type: ignore[attr-defined]
        return super().render(**kwargs)  # type: ignore[misc]


class DataElement(_ReadsItsData, MacroElement):
    """An element whose script reads its words from a JSON element of the page."""


class DataLayer(_ReadsItsData, Layer):
    """A toggleable layer whose script reads its data from a JSON element of the page."""


class Frame(DataElement):
    """Title, date, source note, north arrow and a metric scale bar; print styles.

    The map's background is a pale grey-blue so that outlines and labels stay
    readable when no basemap tiles can be loaded.
    """

    _template = Template(
        """
{% macro header(this, kwargs) %}
<link rel="icon" href="data:,">
<style>
.leaflet-container { background: #e8eef0; font-family: system-ui, "Segoe UI", Roboto, sans-serif; }
.leaflet-control-layers { font-size: 13px; }
.linde-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
  z-index: 1000; background: rgba(255,255,255,.92); padding: 6px 14px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); text-align: center; max-width: 60%; pointer-events: none; }
.linde-title h1 { font-size: 17px; margin: 0; }
.linde-title p { font-size: 12px; margin: 2px 0 0; color: #444; }
.linde-title img.linde-logo { display: block; margin: 0 auto 3px; max-height: 46px; max-width: 180px; }
.linde-title p.linde-institution { margin: 0 0 2px; font-size: 12px; font-weight: 600;
  color: #555; }
.linde-note { background: rgba(255,255,255,.9); padding: 3px 8px; font-size: 11px; color: #333;
  border-radius: 3px; max-width: 420px; }
.linde-north { background: rgba(255,255,255,.9); border-radius: 3px; padding: 2px 4px; line-height: 0; }
.linde-label { font-size: 11px; font-weight: 600; color: #1d2b36; white-space: nowrap;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }
.linde-label div { transform: translate(-50%, -50%); display: inline-block; }
.linde-label-dropped { display: none; }
.linde-empty { position: absolute; top: 45%; left: 50%; transform: translate(-50%, -50%);
  z-index: 1000; background: #fff8e1; border: 1px solid #e0b000; padding: 14px 20px;
  border-radius: 6px; font-size: 15px; max-width: 70%; text-align: center; }
@media print {
  .leaflet-control-zoom, .leaflet-control-layers, .leaflet-control-fullscreen,
  .leaflet-control-measure, .linde-filter { display: none !important; }
}
</style>
{% endmacro %}
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
(function (map, d) {
  var title = L.DomUtil.create("div", "linde-title", map.getContainer());
  if (d.logo && d.logo.indexOf("data:image/png;base64,") === 0) {
    var logo = L.DomUtil.create("img", "linde-logo", title); logo.src = d.logo; logo.alt = d.institution || "Logotipo";
  }
  if (d.institution) { L.DomUtil.create("p", "linde-institution", title).textContent = d.institution; }
  var h1 = L.DomUtil.create("h1", "", title); h1.textContent = d.title;
  if (d.subtitle) { var sub = L.DomUtil.create("p", "", title); sub.textContent = d.subtitle; }
  var Note = L.Control.extend({ onAdd: function () {
    var div = L.DomUtil.create("div", "linde-note");
    div.textContent = d.note;
    return div; } });
  new Note({ position: "bottomleft" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft", maxWidth: 160 }).addTo(map);
  var North = L.Control.extend({ onAdd: function () {
    var div = L.DomUtil.create("div", "linde-north");
    div.title = "Norte";
    div.innerHTML = '<svg width="26" height="38" viewBox="0 0 26 38" role="img" aria-label="Norte">' +
      '<polygon points="13,2 22,26 13,21 4,26" fill="#222"/>' +
      '<polygon points="13,2 13,21 4,26" fill="#888"/>' +
      '<text x="13" y="37" font-size="11" text-anchor="middle" font-weight="700">N</text></svg>';
    return div; } });
  new North({ position: "topleft" }).addTo(map);
  if (d.emptyMessage) {
    var empty = L.DomUtil.create("div", "linde-empty", map.getContainer());
    empty.textContent = d.emptyMessage;
  }
})({{ this._parent.get_name() }}, {{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(
        self,
        title: str,
        subtitle: str,
        note: str,
        empty_message: str | None = None,
        institution: str = "",
    ):
        super().__init__()
        self._name = "Frame"
        self.institution = institution
        #: a data: URI of a PNG the server re-drew (``layers.logos``), or ""
        self.logo = ""
        self.title = title
        self.subtitle = subtitle
        self.note = note
        self.empty_message = empty_message

    def data(self) -> Any:
        return {
            "institution": self.institution,
            "logo": self.logo,
            "title": self.title,
            "subtitle": self.subtitle,
            "note": self.note,
            "emptyMessage": self.empty_message,
        }


@dataclass(frozen=True)
class LegendEntry:
    label: str
    color: str
    kind: Literal["fill", "line", "point", "hatch", "outline"] = "fill"
    #: a line's dash pattern as Leaflet's ``dashArray`` (``"8 5"``); ``""`` solid. Given,
    #: the swatch is that line drawn over a pale fill, so a dash tells the line apart
    #: where colour alone would not (printed in grey, or a reader who does not see it)
    dash: str | None = None


class Legend(DataElement):
    """A legend box (bottom right) with a title and one row per entry, in Spanish."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.linde-legend { background: rgba(255,255,255,.94); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 12px; line-height: 18px; max-width: 260px;
  overflow-wrap: anywhere; }
.linde-legend h2 { font-size: 13px; margin: 0 0 4px; }
.linde-legend i { display: inline-block; width: 16px; height: 12px; margin-right: 6px;
  vertical-align: middle; }
.linde-legend i.point { border-radius: 50%; width: 11px; height: 11px; border: 1px solid #333; }
.linde-legend i.line { height: 0; border-top: 3px solid; }
.linde-legend i.outline { border: 2px solid; background: transparent !important; }
.linde-legend svg.dash { width: 22px; height: 12px; margin-right: 6px; vertical-align: middle; }
.linde-legend i.hatch { background: repeating-linear-gradient(45deg, var(--c) 0 2px, transparent 2px 6px) !important;
  border: 1px solid var(--c); }
</style>
{% endmacro %}
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
(function (map, d) {
  var title = d.title, entries = d.entries;
  var Legend = L.Control.extend({ onAdd: function () {
    var div = L.DomUtil.create("div", "linde-legend");
    var h = L.DomUtil.create("h2", "", div); h.textContent = title;
    entries.forEach(function (e) {
      var row = L.DomUtil.create("div", "", div);
      if (e.dash !== null && e.dash !== undefined) {
        var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg");
        svg.setAttribute("class", "dash"); svg.setAttribute("viewBox", "0 0 22 12");
        if (e.kind !== "line") {
          var fill = document.createElementNS(NS, "rect");
          fill.setAttribute("width", "22"); fill.setAttribute("height", "12");
          fill.setAttribute("fill", e.color); fill.setAttribute("fill-opacity", "0.15");
          svg.appendChild(fill);
        }
        var ln = document.createElementNS(NS, "line");
        ln.setAttribute("x1", "0"); ln.setAttribute("y1", "6"); ln.setAttribute("x2", "22");
        ln.setAttribute("y2", "6"); ln.setAttribute("stroke", e.color); ln.setAttribute("stroke-width", "3");
        if (e.dash) { ln.setAttribute("stroke-dasharray", e.dash); }
        svg.appendChild(ln); row.appendChild(svg);
        row.appendChild(document.createTextNode(e.label));
        return;
      }
      var sw = L.DomUtil.create("i", e.kind, row);
      sw.style.setProperty("--c", e.color);
      if (e.kind === "line" || e.kind === "outline") { sw.style.borderColor = e.color; }
      else { sw.style.background = e.color; }
      row.appendChild(document.createTextNode(e.label));
    });
    L.DomEvent.disableClickPropagation(div);
    return div; } });
  new Legend({ position: "bottomright" }).addTo(map);
})({{ this._parent.get_name() }}, {{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(self, title: str, entries: list[LegendEntry]):
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.entries = [
            {"label": e.label, "color": e.color, "kind": e.kind, "dash": e.dash} for e in entries
        ]

    def data(self) -> Any:
        return {"title": self.title, "entries": self.entries}


class Labels(DataLayer):
    """Text labels at given points, one toggleable layer, drawn without collisions.

    ``rows`` are ``[lat, lon, text, short]``, most important first. In print (a PDF
    or PNG from the renderer, or the browser's own printing), whenever the map is
    shown, zoomed or moved, the labels are placed in that order: a label that
    would overlap one already placed (or the title, legend, note or a control, or
    leave the map) is tried a line above and below its point, then in its short form
    (``Sta. Ma. Atzompa``) in the same three places, and dropped
    (class ``linde-label-dropped``) if it still does not fit; the municipality's
    name stays in its tooltip. So a printed map never shows two names on top of
    each other. On screen every name is shown; the reader can zoom in.
    """

    _template = Template(
        """
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function (map, rows) {
  var group = L.layerGroup(), markers = [];
  rows.forEach(function (r) {
    var div = document.createElement("div"); div.textContent = r[2];
    var m = L.marker([r[0], r[1]], { interactive: false, keyboard: false,
      icon: L.divIcon({ className: "linde-label", html: div, iconSize: null }) }).addTo(group);
    markers.push([m, r[2], r[3]]);
  });
  function overlaps(a, b) { return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; }
  function box(el, pad) { var b = el.getBoundingClientRect();
    return { left: b.left - pad, top: b.top - pad, right: b.right + pad, bottom: b.bottom + pad }; }
  var printing = window.matchMedia("print"), SHIFTS = [0, -0.9, 0.9];
  function place() {
    if (!map.hasLayer(group)) { return; }
    if (!printing.matches) {  // on screen every name stays: the reader can zoom in
      markers.forEach(function (k) { var el = k[0].getElement();
        if (el) { el.classList.remove("linde-label-dropped"); el.firstChild.textContent = k[1];
          el.firstChild.style.transform = ""; } });
      return;
    }
    var frame = map.getContainer().getBoundingClientRect();
    var taken = Array.prototype.map.call(map.getContainer().querySelectorAll(
      ".linde-title, .linde-legend, .linde-note, .linde-north, .leaflet-control, .linde-inset"),
      function (el) { return box(el, 2); });
    markers.forEach(function (k) {
      var el = k[0].getElement(); if (!el) { return; }
      var text = el.firstChild;
      el.classList.remove("linde-label-dropped");
      var tries = k[2] && k[2] !== k[1] ? [k[1], k[2]] : [k[1]];
      // on its point, then a line above or below it (still over its municipality)
      for (var i = 0; i < tries.length; i++) {
        for (var j = 0; j < SHIFTS.length; j++) {
          text.textContent = tries[i];
          text.style.transform = "translate(-50%, calc(-50% + " + SHIFTS[j] + "em))";
          var b = box(text, 2);
          var inside = b.left >= frame.left && b.right <= frame.right && b.top >= frame.top && b.bottom <= frame.bottom;
          if (inside && !taken.some(function (t) { return overlaps(b, t); })) { taken.push(b); return; }
        }
      }
      text.textContent = k[1]; text.style.transform = "";
      el.classList.add("linde-label-dropped");
    });
  }
  group.on("add", function () { setTimeout(place, 0); });
  map.on("zoomend moveend resize", place);
  printing.addEventListener("change", place);
  window.lindePlaceLabels = place;
  return group;
})({{ this._parent.get_name() }}, {{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(self, rows: list[tuple[float, float, str]], name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "Labels"
        self.rows = [
            [round(lat, 5), round(lon, 5), text, short_name(text)] for lat, lon, text in rows
        ]

    def data(self) -> Any:
        return self.rows


#: the words Mexican maps abbreviate in place names, longest first
_ABBREVIATIONS = (
    ("Santa María", "Sta. Ma."),
    ("Santa Lucía", "Sta. Lucía"),
    ("San Sebastián", "S. Sebastián"),
    ("Santa", "Sta."),
    ("Santo", "Sto."),
    ("San", "S."),
    ("Villa de", "V."),
    ("Heroica", "H."),
)


def short_name(name: str) -> str:
    """A place name in the abbreviated form of printed maps (``Sta. Ma. Atzompa``);
    a name with nothing to shorten is returned as it is."""
    for long, short in _ABBREVIATIONS:
        if name.startswith(long + " "):
            return short + name[len(long) :]
    return name


class PointCluster(JSCSSMixin, DataLayer):
    """Points of one category, clustered (leaflet.markercluster), filterable by date.

    ``rows`` are ``[lat, lon, "YYYY-MM-DD", popup]`` where ``popup`` is
    ``{"title": text, "lines": [text, …]}``: plain text, shown as text (a note
    holding HTML is shown as written). Every layer registers itself in
    ``window.lindePoints`` so that :class:`DateFilter` can show only the points
    within a date range.
    """

    default_js = _CLUSTER_JS
    default_css = _CLUSTER_CSS

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>.linde-cluster { opacity: .85; color: #fff; border-radius: 50%; width: 30px; height: 30px;
  line-height: 30px; text-align: center; font-weight: 700; border: 2px solid #fff;
  box-shadow: 0 0 3px #000; }</style>
{% endmacro %}
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function (d) {
  var group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40,
    iconCreateFunction: function (c) {
      var div = document.createElement("div"); div.className = "linde-cluster";
      div.style.background = d.color; div.textContent = String(c.getChildCount());
      return L.divIcon({ className: "", iconSize: [30, 30], html: div }); } });
  function popup(p) {
    var div = document.createElement("div");
    div.appendChild(document.createElement("strong")).textContent = p.title;
    p.lines.forEach(function (line) { div.appendChild(document.createElement("div")).textContent = line; });
    return div;
  }
  var markers = d.rows.map(function (r) {
    var m = L.circleMarker([r[0], r[1]], { radius: 7, color: "#222", weight: 1,
      fillColor: d.color, fillOpacity: 0.9 });
    m.bindPopup(function () { return popup(r[3]); }); m.lindeDate = r[2];
    return m; });
  group.addLayers(markers);
  window.lindePoints = window.lindePoints || [];
  window.lindePoints.push({ group: group, markers: markers });
  return group;
})({{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(self, rows: list[list[Any]], name: str, color: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PointCluster"
        self.rows = rows
        self.color = _color(color)

    def data(self) -> Any:
        return {"rows": self.rows, "color": self.color}


class DateFilter(DataElement):
    """A control with two dates that shows only the points observed between them."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.linde-filter { background: rgba(255,255,255,.94); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); font-size: 12px; }
.linde-filter label { display: block; margin: 2px 0; }
.linde-filter input { font-size: 12px; }
</style>
{% endmacro %}
{% macro html(this, kwargs) %}{{ this.data_html }}{% endmacro %}
{% macro script(this, kwargs) %}
(function (map, d) {
  var Filter = L.Control.extend({ onAdd: function () {
    var div = L.DomUtil.create("div", "linde-filter");
    div.innerHTML = '<strong>Fecha de observación</strong>' +
      '<label>Desde <input type="date" name="desde"></label>' +
      '<label>Hasta <input type="date" name="hasta"></label><span class="linde-count"></span>';
    var from = div.querySelector('[name=desde]'), to = div.querySelector('[name=hasta]');
    from.value = d.start; to.value = d.end;
    var count = div.querySelector(".linde-count");
    function apply() {
      var shown = 0, total = 0;
      (window.lindePoints || []).forEach(function (layer) {
        layer.group.clearLayers();
        var keep = layer.markers.filter(function (m) {
          return (!from.value || m.lindeDate >= from.value) && (!to.value || m.lindeDate <= to.value); });
        layer.group.addLayers(keep); shown += keep.length; total += layer.markers.length;
      });
      count.textContent = " " + shown + " de " + total + " puntos";
    }
    from.addEventListener("change", apply); to.addEventListener("change", apply);
    L.DomEvent.disableClickPropagation(div);
    setTimeout(apply, 0);
    return div; } });
  new Filter({ position: "topright" }).addTo(map);
})({{ this._parent.get_name() }}, {{ this.read_js }});
{% endmacro %}
"""
    )

    def __init__(self, start: str | None, end: str | None):
        super().__init__()
        self._name = "DateFilter"
        self.start = start or ""
        self.end = end or ""

    def data(self) -> Any:
        return {"start": self.start, "end": self.end}


class HatchPattern(MacroElement):
    """An SVG pattern ``#linde-hatch-<color>``: paths with class ``linde-hatch`` are hatched.

    Leaflet sets each path's ``fill`` as an attribute; a CSS rule wins over it, so a
    polygon drawn with ``className="linde-hatch"`` is filled with diagonal lines.
    """

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>.linde-hatch { fill: url(#linde-hatch) !important; fill-opacity: 1 !important; }</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="linde-hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)">
<rect width="8" height="8" fill="{{ this.color }}" fill-opacity="0.12"/>
<line x1="0" y1="0" x2="0" y2="8" stroke="{{ this.color }}" stroke-width="3"/></pattern></defs></svg>
{% endmacro %}
"""
    )

    def __init__(self, color: str):
        super().__init__()
        self._name = "HatchPattern"
        self.color = _color(color)
