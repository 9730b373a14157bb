"""MapLibre style documents (``style.json``, style spec v8) for Linde's vector tiles.

One style per collection, with Linde's Spanish categorical styling: a style layer
per category, named in Spanish, so MapLibre draws the categories and QGIS (which
converts a style.json into its own renderer) lists them by those names in its
legend. No text labels: they would need a glyph server, and the styles must work
offline.
"""

from __future__ import annotations

from typing import Any

from maps.legend import CATEGORY_COLORS, STATUS_ES, category_label

#: the colour of each dispute status, from first detection to a closed case
STATUS_COLORS: dict[str, str] = {
    "detected": "#fdae61",
    "open": "#d7191c",
    "under_review": "#e66101",
    "agreement": "#5e3c99",
    "resolved": "#1a9641",
    "dismissed": "#969696",
}
_OFFICIAL = "#404040"
_CLAIMED = "#2166ac"
_RIVER = "#1f78b4"
_ZONE = "#7b3294"


def _fill(
    layer_id: str, source: str, color: str, opacity: float, flt: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": layer_id,
        "type": "fill",
        "source": source,
        "source-layer": source,
        "paint": {"fill-color": color, "fill-opacity": opacity},
    }
    if flt is not None:
        out["filter"] = flt
    return out


def _line(
    layer_id: str, source: str, color: str, width: Any, dash: list[float] | None = None
) -> dict[str, Any]:
    paint: dict[str, Any] = {"line-color": color, "line-width": width}
    if dash:
        paint["line-dasharray"] = dash
    return {
        "id": layer_id,
        "type": "line",
        "source": source,
        "source-layer": source,
        "paint": paint,
    }


def _by_zoom(low: float, high: float) -> list[Any]:
    return ["interpolate", ["linear"], ["zoom"], 5, low, 14, high]


def _categories(
    source: str, key: str, colors: dict[str, str], labels: dict[str, str], kind: str
) -> list[dict[str, Any]]:
    """One style layer per category of ``key``, and one for any other value."""
    layers: list[dict[str, Any]] = []
    for code, color in colors.items():
        flt = ["==", ["get", key], code]
        if kind == "circle":
            layers.append(_circle(labels[code], source, color, flt))
        else:
            layers.append(_fill(labels[code], source, color, 0.45, flt))
    other = ["!", ["in", ["get", key], ["literal", list(colors)]]]
    if kind == "circle":
        layers.append(_circle("Otra categoría", source, "#737373", other))
    else:
        layers.append(_fill("Otro estado", source, "#737373", 0.45, other))
    return layers


def _circle(layer_id: str, source: str, color: str, flt: Any) -> dict[str, Any]:
    return {
        "id": layer_id,
        "type": "circle",
        "source": source,
        "source-layer": source,
        "filter": flt,
        "paint": {
            "circle-color": color,
            "circle-radius": _by_zoom(3, 7),
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 1,
        },
    }


def _layers(collection_id: str) -> list[dict[str, Any]]:
    s = collection_id
    if s == "municipalities":
        return [
            _fill("Municipios", s, "#f2efe9", 0.35),
            _line("Límite municipal oficial", s, _OFFICIAL, _by_zoom(0.5, 2)),
        ]
    if s == "metro_zones":
        return [
            _fill("Zona metropolitana", s, _ZONE, 0.08),
            _line("Contorno de la zona metropolitana", s, _ZONE, _by_zoom(1, 3), [4, 2]),
        ]
    if s == "claims":
        return [_line("Límite reclamado", s, _CLAIMED, _by_zoom(1, 3), [3, 2])]
    if s == "rivers":
        return [_line("Río", s, _RIVER, _by_zoom(1, 4))]
    if s == "inspections":
        labels = {code: category_label(code) for code in CATEGORY_COLORS}
        return _categories(s, "category", CATEGORY_COLORS, labels, "circle")
    if s == "disputed_zones":
        labels = {code: f"En disputa: {STATUS_ES[code]}" for code in STATUS_COLORS}
        return [
            *_categories(s, "status", STATUS_COLORS, labels, "fill"),
            _line("Contorno de la zona en disputa", s, "#d7191c", _by_zoom(1, 2.5)),
        ]
    return [_line(s, s, _OFFICIAL, 1)]


def style_document(
    collection_id: str,
    title: str,
    tiles_url: str,
    bounds: list[float] | None,
    minzoom: int,
    maxzoom: int,
    attribution: str,
) -> dict[str, Any]:
    """A MapLibre style (spec v8) drawing one collection's tiles from ``tiles_url``
    (a ``{z}``/``{x}``/``{y}`` template), on a plain background."""
    source: dict[str, Any] = {
        "type": "vector",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "attribution": attribution,
    }
    if bounds is not None:
        source["bounds"] = bounds
    center = (
        [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2] if bounds else [-102.0, 23.0]
    )
    return {
        "version": 8,
        "name": title,
        "metadata": {"linde:collection": collection_id, "linde:lang": "es-MX"},
        "center": center,
        "zoom": 8 if bounds else 4,
        "sources": {collection_id: source},
        "layers": [
            {"id": "Fondo", "type": "background", "paint": {"background-color": "#ffffff"}},
            *_layers(collection_id),
        ],
    }
