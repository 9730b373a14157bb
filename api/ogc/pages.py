"""A page of features as GeoJSON: its links (self, alternates and downloads, its
collection, next and prev) and its body, the same whether the features were rendered by
the database in one statement on the event loop or in a worker thread."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.ogc.cache import Cached
from api.ogc.render import (
    GEOJSON,
    JSON,
    collection_bytes,
    link,
    same_query,
    self_and_alternates,
    url_for,
)
from formats import FORMATS
from layers.collections import Collection
from layers.queries import items as item_queries

#: the download formats a page links to (every export format but GeoJSON itself)
DOWNLOADS = tuple(f for key, f in FORMATS.items() if key != "json")


def page_links(
    request: Request, c: Collection, q: item_queries.ItemsQuery, returned: int, matched: int | None
) -> list[dict[str, Any]]:
    """A page's links: self, alternates and downloads, its collection, next and prev."""
    limit = q.limit or 0
    links = [
        *self_and_alternates(request, GEOJSON, DOWNLOADS),
        link(url_for(request, f"/collections/{c.id}"), "collection", JSON, c.title),
    ]
    more = returned == limit and (matched is None or q.offset + returned < matched)
    if more:
        links.append(
            link(same_query(request, offset=q.offset + limit), "next", GEOJSON, "Página siguiente")
        )
    if q.offset > 0:
        links.append(
            link(
                same_query(request, offset=max(q.offset - limit, 0) or None),
                "prev",
                GEOJSON,
                "Página anterior",
            )
        )
    return links


def page_body(
    q: item_queries.ItemsQuery,
    features: bytes,
    returned: int,
    matched: int | None,
    links: list[dict[str, Any]],
) -> Cached:
    body = collection_bytes(features, number_matched=matched, number_returned=returned, links=links)
    return Cached(body, GEOJSON, (("Content-Crs", f"<{q.crs.uri}>"),))
