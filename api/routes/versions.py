"""Versions of a feature (OGC API - Features "Versioned Features" proposal, Memento style).

``/collections/{id}/items/{featureId}/versions`` lists every version of a feature of a
versioned collection (municipalities: each official limit it has had; claims: every
claim of the claim's municipality) as a
FeatureCollection, oldest first, each with its validity; ``datetime=`` on the item
(``api.routes.collections.item``) selects the one valid at an instant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from api.ogc.cache import Cached
from api.ogc.deps import ReadableCollection
from api.ogc.params import typed_value
from api.ogc.render import GEOJSON, JSON, collection_bytes, feature_bytes, link, url_for
from api.ogc.respond import collection_version, respond
from geo.crs import parse_crs
from geo.errors import InvalidParameter, NotFound
from layers.queries import items as item_queries
from layers.queries import versions

router = APIRouter(tags=["OGC API - Features"])


@router.get(
    "/collections/{collection_id}/items/{feature_id}/versions",
    summary="Every version of a feature (versioned: municipalities, claims)",
    response_class=Response,
)
async def feature_versions(
    request: Request,
    c: ReadableCollection,
    feature_id: Annotated[str, Path(max_length=64)],
) -> Response:
    if c.id not in versions.VERSIONED:
        raise NotFound(f"{c.id} keeps no versions; versioned: {', '.join(versions.VERSIONED)}")
    crs = parse_crs(request.query_params.get("crs"), "crs")
    try:
        key = typed_value(c.id_property, feature_id, "featureId")
    except InvalidParameter:
        raise NotFound(f"no feature {feature_id!r} in {c.id}") from None

    def build(conn: Connection) -> Cached:
        found = versions.history(conn, c.id, key, crs)
        if not found:
            raise NotFound(f"no feature {feature_id!r} in {c.id}")
        item_url = url_for(request, f"/collections/{c.id}/items/{feature_id}")
        features = []
        for v in found:
            stamp = v.valid_from.isoformat().replace("+00:00", "Z")
            memento = link(
                url_for(request, f"/collections/{c.id}/items/{v.id}", datetime=stamp),
                "memento",
                GEOJSON,
                f"Versión {v.properties['version']}",
                datetime=stamp,
            )
            item = item_queries.Item(v.id, v.properties, v.geometry)
            features.append(feature_bytes(item, [memento]))
        links = [
            link(str(request.url), "self", GEOJSON, "Versiones"),
            link(item_url, "original", GEOJSON, "Versión vigente"),
            link(url_for(request, f"/collections/{c.id}"), "collection", JSON, c.title),
        ]
        body = collection_bytes(
            b",".join(features),
            number_matched=len(features),
            number_returned=len(features),
            links=links,
        )
        return Cached(body, GEOJSON, (("Content-Crs", f"<{crs.uri}>"),))

    return await respond(
        request, await collection_version(request, c), build, private=c.read_role is not None
    )
