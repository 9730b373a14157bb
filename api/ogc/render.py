"""Representations of the OGC API: links, format negotiation and GeoJSON bytes.

Feature collections are assembled as bytes: the geometry arrives from the
database as GeoJSON text and is spliced in without being parsed and re-encoded;
only the properties go through ``orjson``. On PostGIS a page's features arrive
whole, written by the database (``layers.queries.rendered``), and only
the collection around them is written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request

from api.media_types import format_for_media_type
from formats import FORMATS, ExportFormat
from geo.errors import InvalidParameter, Problem
from layers.queries.items import Item

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
#: FastAPI writes OpenAPI 3.1 (the document says "openapi": "3.1.0")
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"

#: the f= values of a page (everything else in FORMATS is a download)
PAGE_FORMATS = ("json", "html")


def link(href: str, rel: str, type_: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"href": href, "rel": rel, "type": type_, "title": title, **extra}


def url_for(request: Request, path: str, **params: Any) -> str:
    """An absolute URL below the API's root with the given query parameters."""
    base = str(request.base_url).rstrip("/")
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base}{path}" + (f"?{query}" if query else "")


def same_query(request: Request, **changes: Any) -> str:
    """This request's URL with some query parameters changed (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v is not None]
    return str(request.url.replace(query=urlencode(params)))


def self_and_alternates(
    request: Request, data_type: str, downloads: Sequence[ExportFormat] = ()
) -> list[dict[str, Any]]:
    """``self`` in the negotiated JSON type, ``alternate`` HTML and download formats.

    The same URLs as :func:`same_query` with ``f`` changed, the request's URL and
    query taken apart once for all of them (a page has eight such links).
    """
    url = str(request.url)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "f"])
    stem = url.split("?", 1)[0].split("#", 1)[0] + "?" + query

    def with_f(key: str | None) -> str:
        if key is None:
            return stem if query else stem[:-1]
        return stem + ("&" if query else "") + "f=" + key

    links = [
        link(with_f(None), "self", data_type, "Este documento"),
        link(with_f("html"), "alternate", HTML, "Este documento en HTML"),
    ]
    for fmt in downloads:
        links.append(link(with_f(fmt.key), "enclosure", fmt.media_type, f"Descargar: {fmt.title}"))
    return links


def wanted(request: Request, *, downloads: bool) -> str | ExportFormat:
    """``"json"``, ``"html"`` or a download format, from ``f=`` or else ``Accept``."""
    f = request.query_params.get("f")
    if f is not None:
        f = f.lower()
        if f in PAGE_FORMATS:
            return f
        if downloads and f in FORMATS:
            return FORMATS[f]
        choices = [*PAGE_FORMATS, *(FORMATS if downloads else ())]
        raise InvalidParameter(
            f"f: unknown format {f!r}",
            problems=[Problem("f", f"{f!r} is not offered here; use one of: {', '.join(choices)}")],
        )
    accept = request.headers.get("accept", "")
    for media in _by_preference(accept):
        if media in (HTML, "application/xhtml+xml"):
            return "html"
        if media in (GEOJSON, JSON, "*/*", "application/*"):
            return "json"
        if downloads:
            fmt = format_for_media_type(media)
            if fmt is not None:
                return fmt
    return "json"


def _by_preference(accept: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranked.append((-q, i, media.lower()))
    return [media for _, _, media in sorted(ranked)]


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def feature_bytes(item: Item, links: list[dict[str, Any]] | None = None) -> bytes:
    parts = [
        b'{"type":"Feature","id":',
        dumps(item.id),
        b',"geometry":',
        item.geometry.encode() if item.geometry else b"null",
        b',"properties":',
        dumps(item.properties),
    ]
    if links is not None:
        parts += [b',"links":', dumps(links)]
    parts.append(b"}")
    return b"".join(parts)


def collection_bytes(
    features: bytes,
    *,
    number_matched: int | None,
    number_returned: int,
    links: list[dict[str, Any]],
) -> bytes:
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if number_matched is not None:
        head["numberMatched"] = number_matched
    head["numberReturned"] = number_returned
    head["links"] = links
    opening = dumps(head)[:-1]  # drop the closing brace, features follow
    return b"".join([opening, b',"features":[', features, b"]}"])
