"""The HTML view of the OGC API, in Spanish, for a browser (``f=html``).

Pages are rendered on the server with Jinja2 (autoescaped) and use no script
or stylesheet from elsewhere, so they open on networks that block CDNs.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape

from formats import FORMATS
from layers.collections import Collection
from layers.queries.items import Item, ItemsQuery


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("api.ogc", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["value"] = _value
    return env


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", " ")
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ")
    return str(value)


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def _geometry_summary(geometry: str | None) -> str:
    if not geometry:
        return "sin geometría"
    parsed = orjson.loads(geometry)
    kind = parsed.get("type", "?")
    if kind == "Point":
        x, y = parsed["coordinates"][:2]
        return f"Punto ({x}, {y})"
    names = {
        "MultiPolygon": "Multipolígono",
        "Polygon": "Polígono",
        "MultiLineString": "Multilínea",
        "LineString": "Línea",
    }
    parts = len(parsed.get("coordinates", []))
    return (
        f"{names.get(kind, kind)} ({parts} partes)"
        if kind.startswith("Multi")
        else names.get(kind, kind)
    )


def render_items(
    c: Collection,
    q: ItemsQuery,
    page: list[Item],
    matched: int | None,
    links: list[dict[str, Any]],
) -> str:
    shown = (
        c.properties
        if q.properties is None
        else [p for p in c.properties if p.name in q.properties]
    )
    rows = [
        {
            "id": item.id,
            "values": [item.properties.get(p.name) for p in shown],
            "geometry": _geometry_summary(item.geometry),
        }
        for item in page
    ]
    return render(
        "items.html",
        collection=c,
        columns=shown,
        rows=rows,
        matched=matched,
        offset=q.offset,
        links={lk["rel"]: lk["href"] for lk in links if lk["rel"] in ("next", "prev")},
        downloads=[lk for lk in links if lk["rel"] == "enclosure"],
        formats=FORMATS,
    )


def render_item(c: Collection, item: Item, links: list[dict[str, Any]]) -> str:
    return render(
        "item.html",
        collection=c,
        item=item,
        rows=[(p.title, item.properties.get(p.name)) for p in c.properties],
        geometry=_geometry_summary(item.geometry),
    )
