"""Versions of a feature (OGC API - Features "Versioned Features" proposal, Memento style).

``/collections/{id}/items/{featureId}/versions`` lists every version of a feature of a
versioned collection (municipalities: each official limit it has had; claims: every
claim of the claim's municipality) as a
FeatureCollection, oldest first, each with its validity; ``datetime=`` on the item
(``api.routes.collections.item``) selects the one valid at an instant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from api.ogc.cache import Cached
from api.ogc.deps import ReadableCollection
from api.ogc.params import typed_value
from api.ogc.render import GEOJSON, JSON, collection_bytes, feature_bytes, link, url_for
from api.ogc.respond import collection_version, respond
from geo.crs import parse_crs
from geo.errors import Gone, InvalidParameter, NotFound
from layers.claim_withdrawal import withdrawal_of, withdrawn_by
from layers.queries import items as item_queries
from layers.queries import versions

router = APIRouter(tags=["OGC API - Features"])


def refuse_if_withdrawn(
    conn: Connection, collection_id: str, key: Any, feature_id: str, at: datetime | None = None
) -> None:
    """Raise ``Gone`` (410) when the feature's series ended by withdrawal: it is the last
    version and closed (``at`` None), or, for a moment ``at`` when no version was valid,
    one was withdrawn by then. Otherwise return, and the caller answers as before."""
    if collection_id not in versions.RETIRABLE:
        return
    ended = withdrawal_of(conn, key) if at is None else withdrawn_by(conn, key, at)
    if ended is None:
        return
    history = f"/collections/{collection_id}/items/{feature_id}/versions"
    why = f": {ended.reason}" if ended.reason else ""
    raise Gone(
        f"claim {ended.claim_id} ({ended.cvegeo}, version {ended.version}) was withdrawn on "
        f"{ended.withdrawn_at:%Y-%m-%d %H:%M} UTC{why}; its versions are listed at {history}, "
        "and datetime= before the withdrawal gives it",
        history=history,
    )


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
