"""OGC API - Features (Parts 1, 2 and 3): every layer Linde holds as a collection.

``/`` landing page, ``/conformance``, ``/collections``, ``/collections/{id}``,
``/collections/{id}/queryables``, ``/collections/{id}/items`` and
``/collections/{id}/items/{featureId}``; JSON by default, HTML for a browser
(``f=html`` or ``Accept: text/html``), and downloads (``f=csv|gpkg|shp|kml|fgb|
geojson``) of any items query.

Official layers are public; claims and inspections need a planner token.
Responses carry an ``ETag`` built from the layers' change counters, and a
matching ``If-None-Match`` gets 304 without touching the data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, Engine

from api.deps import access_of, caller_of, read_target
from api.downloads import spooled_download
from api.ogc import html
from api.ogc.cache import Cached
from api.ogc.deps import (
    ITEMS_PARAMETERS,
    READ_ACTIONS,
    ItemsRequest,
    ReadableCollection,
    _readable,
    items_request,
    readable_collection,
)
from api.ogc.pages import DOWNLOADS, page_body, page_links
from api.ogc.params import parse_instant, typed_value
from api.ogc.render import (
    GEOJSON,
    HTML,
    JSON,
    OPENAPI,
    dumps,
    feature_bytes,
    link,
    self_and_alternates,
    url_for,
    wanted,
)
from api.ogc.respond import (
    Counters,
    all_versions,
    as_parameter_errors,
    cacheable_version,
    collection_version,
    html_body,
    json_body,
    respond,
    respond_fresh,
    scoped,
)
from api.ogc.schemas import property_schema
from api.routes.versions import refuse_if_withdrawn
from formats import ExportFormat
from geo.access import RowScope
from geo.crs import CRS84, SUPPORTED, parse_crs
from geo.errors import (
    InvalidParameter,
    NotFound,
    Problem,
)
from layers import collections as registry
from layers import cql2
from layers.collections import COLLECTIONS, Collection
from layers.queries import items as item_queries
from layers.queries import rendered, versions
from layers.queries.items import ItemsQuery
from layers.users import Principal
from services.exports import export_layer

router = APIRouter(tags=["OGC API - Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    # no oas30: the OpenAPI document is 3.1, for which Part 1 has no conformance class
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    # the classes the standard's examples pass on both engines (tests/test_cql2_examples.py)
    *(f"http://www.opengis.net/spec/cql2/1.0/conf/{name}" for name in cql2.CONFORMANCE_CLASSES),
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    # vector tiles of every collection (api/routes/tiles.py)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]
# Landing and conformance change only with the code: a new list of classes is a new ETag.
STATIC_VERSION = "static-" + hashlib.sha256("\n".join(CONFORMANCE).encode()).hexdigest()[:12]

CollectionId = Annotated[str, Path(description="Collection: " + ", ".join(COLLECTIONS))]


# -- landing, conformance -------------------------------------------------------------------


@router.get("/", summary="Landing page (OGC API - Features)")
async def landing(request: Request) -> Response:
    fmt = wanted(request, downloads=False)

    def build(_conn: Connection) -> Cached:
        doc = {
            "title": "Linde",
            "description": "Límites metropolitanos de México: límites municipales oficiales y "
            "reclamados, zonas metropolitanas, ríos e inspecciones, como OGC API - Features.",
            "links": [
                *self_and_alternates(request, JSON),
                link(
                    url_for(request, "/openapi.json"),
                    "service-desc",
                    OPENAPI,
                    "Definición de la API (OpenAPI)",
                ),
                link(url_for(request, "/docs"), "service-doc", HTML, "Documentación de la API"),
                link(
                    url_for(request, "/conformance"), "conformance", JSON, "Clases de conformidad"
                ),
                link(url_for(request, "/collections"), "data", JSON, "Colecciones"),
            ],
        }
        return html_body(html.render("landing.html", doc=doc)) if fmt == "html" else json_body(doc)

    return await respond(request, STATIC_VERSION, build, private=False)


@router.get("/conformance", summary="Conformance classes Linde implements")
async def conformance(request: Request) -> Response:
    fmt = wanted(request, downloads=False)

    def build(_conn: Connection) -> Cached:
        doc = {"conformsTo": CONFORMANCE}
        return (
            html_body(html.render("conformance.html", doc=doc)) if fmt == "html" else json_body(doc)
        )

    return await respond(request, STATIC_VERSION, build, private=False)


# -- collections ----------------------------------------------------------------------------


def _describe(
    request: Request, conn: Connection, c: Collection, rows: RowScope | None = None
) -> dict[str, Any]:
    """The collection document; its extents cover only the ``rows`` the caller reaches."""
    items_url = url_for(request, f"/collections/{c.id}/items")
    doc: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [crs.uri for crs in SUPPORTED],
        "storageCrs": CRS84.uri,
        "links": [
            link(url_for(request, f"/collections/{c.id}"), "self", JSON, c.title),
            link(
                url_for(request, f"/collections/{c.id}", f="html"),
                "alternate",
                HTML,
                f"{c.title} (HTML)",
            ),
            link(items_url, "items", GEOJSON, "Elementos"),
            link(
                url_for(request, f"/collections/{c.id}/items", f="html"),
                "items",
                HTML,
                "Elementos (HTML)",
            ),
            link(
                url_for(request, f"/collections/{c.id}/queryables"),
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "Propiedades consultables",
            ),
            link(
                url_for(request, f"/collections/{c.id}/tiles"),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                JSON,
                "Teselas vectoriales",
            ),
            link(
                url_for(request, f"/collections/{c.id}/sortables"),
                "http://www.opengis.net/def/rel/ogc/1.0/sortables",
                "application/schema+json",
                "Propiedades para ordenar (sortby)",
            ),
            *[
                link(
                    url_for(request, f"/collections/{c.id}/items", f=fmt.key),
                    "enclosure",
                    fmt.media_type,
                    f"Descargar todo: {fmt.title}",
                )
                for fmt in DOWNLOADS
            ],
        ],
        "extent": {},
    }
    spatial = registry.spatial_extent(conn, c, rows)
    if spatial is not None:
        doc["extent"]["spatial"] = {"bbox": [list(spatial)], "crs": CRS84.uri}
    temporal = registry.temporal_extent(conn, c, rows)
    if temporal is not None:
        doc["extent"]["temporal"] = {
            "interval": [[t.isoformat().replace("+00:00", "Z") if t else None for t in temporal]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return doc


@router.get("/collections", summary="The collections the caller may read")
async def collections(request: Request) -> Response:
    fmt = wanted(request, downloads=False)
    principal = await caller_of(request)
    visible = [c for c in COLLECTIONS.values() if _readable(c, principal)]
    # the rows of each collection this caller reaches: their extents are the caller's own
    reach = {c.id: _rows_of(principal, c) for c in visible}

    def build(conn: Connection) -> Cached:
        doc = {
            "links": self_and_alternates(request, JSON),
            "collections": [_describe(request, conn, c, reach[c.id]) for c in visible],
        }
        return (
            html_body(html.render("collections.html", doc=doc)) if fmt == "html" else json_body(doc)
        )

    version = await all_versions(request)
    role = principal.role.value if principal else "anonymous"
    scoped = any(rows is not None and not rows.everything for rows in reach.values())
    return await respond(
        request,
        # a caller who reaches only some rows gets extents of their own: never shared
        None if version is None or scoped else f"{version}|{role}",
        build,
        private=principal is not None,
    )


def _rows_of(principal: Principal | None, c: Collection) -> RowScope | None:
    action = READ_ACTIONS.get(c.id)
    return access_of(principal, action).rows if principal is not None and action else None


@router.get("/collections/{collection_id}", summary="One collection: extent, CRSs, links")
async def collection(request: Request, c: ReadableCollection) -> Response:
    fmt = wanted(request, downloads=False)

    def build(conn: Connection) -> Cached:
        doc = _describe(request, conn, c, getattr(request.state, "rows", None))
        if fmt == "html":
            return html_body(html.render("collection.html", doc=doc, collection=c))
        return json_body(doc)

    version = cacheable_version(request, await collection_version(request, c))
    return await respond(request, version, build, private=c.read_role is not None)


@router.get("/collections/{collection_id}/queryables", summary="Properties usable in filters")
async def queryables(request: Request, c: ReadableCollection) -> Response:
    def build(_conn: Connection) -> Cached:
        doc = property_schema(request, c, "queryables", geometry=True)
        return json_body(doc, "application/schema+json")

    return await respond(request, "static-" + c.id, build, private=c.read_role is not None)


@router.get(
    "/collections/{collection_id}/sortables",
    summary="Properties usable in sortby (OGC API - Records, sorting)",
)
async def sortables(request: Request, c: ReadableCollection) -> Response:
    def build(_conn: Connection) -> Cached:
        doc = property_schema(request, c, "sortables", geometry=False)
        return json_body(doc, "application/schema+json")

    return await respond(request, "static-" + c.id, build, private=c.read_role is not None)


# -- items ----------------------------------------------------------------------------------


def _file_name(c: Collection, fmt: ExportFormat, filtered: bool) -> str:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"linde_{c.id}{'_filtrado' if filtered else ''}_{day}.{fmt.extension}"


def _export(
    engine: Engine, c: Collection, fmt: ExportFormat, asked: ItemsRequest, q: ItemsQuery, base: str
) -> Iterator[bytes]:
    """The file's bytes; read whole into a temporary file before any is sent (see
    ``api.downloads``), so a bad query is a 400, never a cut file."""
    with as_parameter_errors():
        yield from export_layer(
            engine,
            c,
            fmt,
            q,
            csv_geometry=asked.csv_geometry,  # type: ignore[arg-type]
            labels=asked.labels,  # type: ignore[arg-type]
            photo_url=base + "/inspections/{id}/photos/{sha256}",
        )


async def _download(request: Request, engine: Engine, asked: ItemsRequest) -> Response:
    c, q, fmt = asked.collection, scoped(request, asked.query), asked.fmt
    assert isinstance(fmt, ExportFormat)
    filtered = any(
        k not in ("f", "crs", "properties", "csv-geometry", "labels") for k in request.query_params
    )
    name = _file_name(c, fmt, filtered)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Crs": f"<{q.crs.uri}>",
    }
    return await spooled_download(
        request,
        lambda: _export(engine, c, fmt, asked, q, url_for(request, "")),
        media_type=fmt.media_type,
        headers=headers,
    )


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection: bbox, datetime, property filters, CQL2, sortby, crs",
    response_class=Response,
    openapi_extra={"parameters": ITEMS_PARAMETERS},
)
async def items(request: Request, collection_id: CollectionId) -> Response:
    # the collection and the parameters are read here, not as FastAPI dependencies:
    # resolving those cost more per request than the rest of a page's Python
    asked = await items_request(request, await readable_collection(request, collection_id))
    engine: Engine = request.app.state.engine
    c, fmt, q = asked.collection, asked.fmt, scoped(request, asked.query)
    if isinstance(fmt, ExportFormat):
        return await _download(request, engine, asked)
    count_cap: int = request.app.state.settings.count_cap

    def build(conn: Connection) -> Cached:
        page: list[item_queries.Item] = []
        with as_parameter_errors():
            done = rendered.page_geojson(conn, c, q, count_cap) if fmt == "json" else None
            if done is None:
                page = item_queries.page(conn, c, q)
                returned = len(page)
                matched = item_queries.matched(conn, c, q, returned, count_cap)
            else:
                returned, matched = done.returned, done.matched
        links = page_links(request, c, q, returned, matched)
        if fmt == "html":
            return html_body(html.render_items(c, q, page, matched, links))
        features = done.features if done is not None else b",".join(map(feature_bytes, page))
        return page_body(q, features, returned, matched, links)

    reader = read_target(request).pages
    fetch = None
    if fmt == "json" and reader is not None and rendered.renders_async(reader, c, q):

        async def fetch() -> tuple[Cached, Counters]:
            with as_parameter_errors():
                done, counted = await rendered.page_geojson_async(
                    reader, engine.dialect, c, q, count_cap
                )
            links = page_links(request, c, q, done.returned, done.matched)
            body = page_body(q, done.features, done.returned, done.matched, links)
            return body, counted

    return await respond_fresh(request, c, build, fetch)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=Response,
)
async def item(
    request: Request,
    c: ReadableCollection,
    feature_id: Annotated[str, Path(max_length=64)],
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            description="Versioned collections (municipalities, claims): the version valid "
            "at this instant (Memento); /items/{featureId}/versions lists them all.",
        ),
    ] = None,
) -> Response:
    fmt = wanted(request, downloads=False)
    allowed = ("f", "crs", "datetime") if c.id in versions.VERSIONED else ("f", "crs")
    unknown = [k for k in request.query_params if k not in allowed]
    if unknown:
        raise InvalidParameter(
            f"{unknown[0]}: not a parameter of a single feature",
            problems=[
                Problem(unknown[0], f"a single feature of {c.id} takes only {', '.join(allowed)}")
            ],
        )
    crs = parse_crs(request.query_params.get("crs"), "crs")
    at = parse_instant(datetime_, "datetime") if datetime_ is not None else None
    try:
        key = typed_value(c.id_property, feature_id, "featureId")
    except InvalidParameter:
        raise NotFound(f"no feature {feature_id!r} in {c.id}") from None

    rows = scoped(request, item_queries.ItemsQuery()).rows
    headers: tuple[tuple[str, str], ...] = (("Content-Crs", f"<{crs.uri}>"),)

    def with_links(feature: bytes) -> bytes:
        # the database's Feature ends with "}": the links go in before it
        return feature[:-1] + b',"links":' + dumps(item_links()) + b"}"

    def build(conn: Connection) -> Cached:
        found: item_queries.Item | None
        memento: tuple[tuple[str, str], ...] = ()
        if at is not None:
            version = versions.valid_at(conn, c.id, key, at, crs)
            if version is None:
                refuse_if_withdrawn(conn, c.id, key, feature_id, at)
                raise NotFound(f"no version of {feature_id!r} in {c.id} was valid at {datetime_}")
            found = item_queries.Item(version.id, version.properties, version.geometry)
            memento = (("Memento-Datetime", format_datetime(version.valid_from, usegmt=True)),)
        else:
            refuse_if_withdrawn(conn, c.id, key, feature_id)
            if fmt != "html" and item_queries.renders_geojson(conn, c):
                text = item_queries.get_geojson(conn, c, key, crs, rows)
                if text is None:
                    raise NotFound(f"no feature {feature_id!r} in {c.id}")
                return Cached(with_links(text.encode()), GEOJSON, headers)
            found = item_queries.get(conn, c, key, crs, rows)
        if found is None:
            raise NotFound(f"no feature {feature_id!r} in {c.id}")
        links = item_links()
        if fmt == "html":
            return html_body(html.render_item(c, found, links))
        return Cached(feature_bytes(found, links), GEOJSON, headers + memento)

    def item_links() -> list[dict[str, Any]]:
        links = [
            *self_and_alternates(request, GEOJSON),
            link(url_for(request, f"/collections/{c.id}"), "collection", JSON, c.title),
        ]
        if c.id in versions.VERSIONED:
            links.append(
                link(
                    url_for(request, f"/collections/{c.id}/items/{feature_id}/versions"),
                    "version-history",
                    GEOJSON,
                    "Versiones",
                )
            )
        return links

    reader = read_target(request).pages
    fetch = None
    retirable = c.id in versions.RETIRABLE
    # a feature that can be withdrawn is read by build, which answers 410 for it
    if at is None and fmt != "html" and reader is not None and rows is None and not retirable:

        async def fetch() -> tuple[Cached, Counters]:
            text, counted = await rendered.feature_geojson_async(
                reader, request.app.state.engine.dialect, c, key, crs
            )
            if text is None:
                raise NotFound(f"no feature {feature_id!r} in {c.id}")
            return Cached(with_links(text), GEOJSON, headers), counted

    return await respond_fresh(request, c, build, fetch)
