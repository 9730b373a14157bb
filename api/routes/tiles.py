"""OGC API - Tiles: vector tiles (MVT) of every collection the caller may read.

``/tileMatrixSets``, ``/tileMatrixSets/{id}``, and per collection ``/tiles`` (the
tilesets), ``/tiles/{tileMatrixSetId}`` (a tileset's metadata),
``.../tilejson.json`` (TileJSON 3.0.0), ``.../style.json`` (a MapLibre style in
Spanish) and ``.../{tileMatrix}/{tileRow}/{tileCol}`` (the tile; row is y, column
is x, in the standard's order: a client reads the order from the templates).

A tile is read as the collection's items are: the same role check (one call site,
``api.ogc.deps.readable_collection``), ``filter`` in CQL2-text, ``properties=``. Its ETag is
made from the layer's change counters, so a tile is never served after its data
changed, and a matching ``If-None-Match`` is a 304 without touching the data.
Tiles have their own byte-bounded cache, apart from other responses.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Connection

from api.deps import read_target
from api.ogc.cache import Cached, ResponseCache
from api.ogc.deps import readable_collection
from api.ogc.params import single
from api.ogc.render import JSON, dumps, link, url_for
from api.ogc.respond import (
    as_parameter_errors,
    cacheable_version,
    collection_version,
    counters,
    respond,
)
from api.routes.collections import CollectionId
from geo.errors import InvalidParameter, Problem
from geo.tiles import MVT, SUPPORTED_TMS, check_tile, tile_bounds, tile_matrix_set
from layers import collections as registry
from layers.collections import Collection
from layers.engine import AsyncReader, on_read_connection
from layers.tile_changes import ChangeLogs
from layers.tiles import (
    FIELD_TYPES,
    TileQuery,
    can_render_async,
    render_tile,
    render_tile_async,
    tile_properties,
)
from maps.tile_styles import style_document

router = APIRouter(tags=["OGC API - Tiles"])

#: zooms a client is told to ask for; deeper, it over-zooms the last level
MIN_ZOOM, MAX_ZOOM = 0, 18
TILE_PARAMS = ("filter", "filter-lang", "properties")
TMS_STATIC = "static-tms-1"
_GEOMETRY_TYPES = {"MultiPolygon": "polygons", "MultiLineString": "lines", "Point": "points"}
_ATTRIBUTION = "Linde; límites: INEGI, Marco Geoestadístico"

TmsId = Annotated[str, Path(description="Tile matrix set: " + ", ".join(SUPPORTED_TMS))]


def _tile_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.tile_cache
    return cache


def _tile_params(request: Request) -> tuple[str | None, tuple[str, ...] | None]:
    """``filter`` and ``properties`` of a tile request; anything else is a 400."""
    params = request.query_params
    unknown = [k for k in params if k not in (*TILE_PARAMS, "f")]
    if unknown:
        raise InvalidParameter(
            f"{unknown[0]}: not a parameter of a tile",
            problems=[Problem(unknown[0], f"a tile takes only {', '.join(TILE_PARAMS)}")],
        )
    lang = single(params, "filter-lang")
    if lang not in (None, "cql2-text"):
        raise InvalidParameter(
            "filter-lang: only cql2-text",
            problems=[Problem("filter-lang", f"{lang!r}: tiles take filter-lang=cql2-text")],
        )
    raw = single(params, "properties")
    names = tuple(n.strip() for n in raw.split(",") if n.strip()) if raw is not None else None
    return single(params, "filter"), names


def _query_suffix(request: Request) -> str:
    """The request's tile parameters, for the templates it hands out."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in TILE_PARAMS]
    if not kept:
        return ""
    return "?" + urlencode(kept)


def _template(request: Request, c: Collection, tms_id: str, xyz: bool = True) -> str:
    path = "{z}/{y}/{x}" if xyz else "{tileMatrix}/{tileRow}/{tileCol}"
    base = url_for(request, f"/collections/{c.id}/tiles/{tms_id}")
    return f"{base}/{path}{_query_suffix(request)}"


def json_body(value: Any, media_type: str = JSON) -> Cached:
    return Cached(dumps(value), media_type, ())


def _bounds(conn: Connection, c: Collection) -> list[float] | None:
    extent = registry.spatial_extent(conn, c)
    return list(extent) if extent is not None else None


# -- tile matrix sets -------------------------------------------------------------------------


@router.get("/tileMatrixSets", summary="The tile matrix sets Linde serves tiles in")
async def tile_matrix_sets(request: Request) -> Response:
    def build(_conn: Connection) -> Cached:
        doc = {
            "tileMatrixSets": [
                {
                    "id": tms_id,
                    "title": tile_matrix_set(tms_id).title,
                    "uri": tile_matrix_set(tms_id).uri,
                    "links": [
                        link(url_for(request, f"/tileMatrixSets/{tms_id}"), "self", JSON, tms_id)
                    ],
                }
                for tms_id in SUPPORTED_TMS
            ]
        }
        return json_body(doc)

    return await respond(request, TMS_STATIC, build, private=False)


@router.get("/tileMatrixSets/{tms_id}", summary="One tile matrix set (OGC TMS 2.0 JSON)")
async def tile_matrix_set_doc(request: Request, tms_id: TmsId) -> Response:
    tms = tile_matrix_set(tms_id)

    def build(_conn: Connection) -> Cached:
        return Cached(tms.model_dump_json(exclude_none=True).encode(), JSON, ())

    return await respond(request, TMS_STATIC, build, private=False)


# -- tilesets of a collection -------------------------------------------------------------------


def _tileset(request: Request, conn: Connection, c: Collection, tms_id: str) -> dict[str, Any]:
    tms = tile_matrix_set(tms_id)
    base = url_for(request, f"/collections/{c.id}/tiles/{tms_id}")
    fields = {p.name: p.title for p in tile_properties(c)}
    doc: dict[str, Any] = {
        "title": f"{c.title}: teselas vectoriales ({tms_id})",
        "dataType": "vector",
        "crs": str(tms.crs.root),
        "tileMatrixSetURI": tms.uri,
        "links": [
            link(base, "self", JSON, "Este conjunto de teselas"),
            link(
                url_for(request, f"/tileMatrixSets/{tms_id}"),
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                JSON,
                tms_id,
            ),
            link(url_for(request, f"/collections/{c.id}"), "collection", JSON, c.title),
            link(
                _template(request, c, tms_id, xyz=False),
                "item",
                MVT,
                "Tesela (Mapbox Vector Tile)",
                templated=True,
            ),
            link(f"{base}/tilejson.json", "describedby", JSON, "TileJSON 3.0.0"),
            link(
                f"{base}/style.json",
                "stylesheet",
                "application/vnd.mapbox.style+json",
                "Estilo (MapLibre)",
            ),
        ],
        "layers": [
            {
                "id": c.id,
                "title": c.title,
                "dataType": "vector",
                "geometryType": _GEOMETRY_TYPES.get(c.geometry_type, "geometries"),
                "minTileMatrix": str(MIN_ZOOM),
                "maxTileMatrix": str(MAX_ZOOM),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {name: {"title": title} for name, title in fields.items()},
                },
            }
        ],
    }
    bounds = _bounds(conn, c)
    if bounds is not None:
        doc["boundingBox"] = {
            "lowerLeft": bounds[:2],
            "upperRight": bounds[2:],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    return doc


@router.get("/collections/{collection_id}/tiles", summary="The vector tilesets of a collection")
async def tilesets(request: Request, collection_id: CollectionId) -> Response:
    c = await readable_collection(request, collection_id)

    def build(_conn: Connection) -> Cached:
        sets = []
        for tms_id in SUPPORTED_TMS:
            tms = tile_matrix_set(tms_id)
            base = url_for(request, f"/collections/{c.id}/tiles/{tms_id}")
            sets.append(
                {
                    "title": f"{c.title} ({tms_id})",
                    "dataType": "vector",
                    "crs": str(tms.crs.root),
                    "tileMatrixSetURI": tms.uri,
                    "links": [
                        link(base, "self", JSON, tms_id),
                        link(
                            url_for(request, f"/tileMatrixSets/{tms_id}"),
                            "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                            JSON,
                            tms_id,
                        ),
                    ],
                }
            )
        doc = {
            "links": [
                link(url_for(request, f"/collections/{c.id}/tiles"), "self", JSON, "Teselas"),
                link(url_for(request, f"/collections/{c.id}"), "collection", JSON, c.title),
            ],
            "tilesets": sets,
        }
        return json_body(doc)

    return await respond(request, f"static-tiles-{c.id}", build, private=c.read_role is not None)


@router.get("/collections/{collection_id}/tiles/{tms_id}", summary="A tileset's metadata")
async def tileset(request: Request, collection_id: CollectionId, tms_id: TmsId) -> Response:
    c = await readable_collection(request, collection_id)
    tile_matrix_set(tms_id)
    with as_parameter_errors():
        _tile_params(request)

    def build(conn: Connection) -> Cached:
        return json_body(_tileset(request, conn, c, tms_id))

    return await respond(
        request, await collection_version(request, c), build, private=c.read_role is not None
    )


@router.get("/collections/{collection_id}/tiles/{tms_id}/tilejson.json", summary="TileJSON 3.0.0")
async def tilejson(request: Request, collection_id: CollectionId, tms_id: TmsId) -> Response:
    c = await readable_collection(request, collection_id)
    tile_matrix_set(tms_id)
    with as_parameter_errors():
        _filter, names = _tile_params(request)
        props = tile_properties(c, names)

    def build(conn: Connection) -> Cached:
        bounds = _bounds(conn, c) or [-180.0, -85.0511, 180.0, 85.0511]
        doc = {
            "tilejson": "3.0.0",
            "name": c.title,
            "description": c.description,
            "attribution": _ATTRIBUTION,
            "scheme": "xyz",
            "tiles": [_template(request, c, tms_id)],
            "minzoom": MIN_ZOOM,
            "maxzoom": MAX_ZOOM,
            "bounds": bounds,
            "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 8],
            "vector_layers": [
                {
                    "id": c.id,
                    "description": c.title,
                    "minzoom": MIN_ZOOM,
                    "maxzoom": MAX_ZOOM,
                    "fields": {p.name: FIELD_TYPES[p.kind] for p in props},
                }
            ],
        }
        return json_body(doc)

    return await respond(
        request, await collection_version(request, c), build, private=c.read_role is not None
    )


@router.get(
    "/collections/{collection_id}/tiles/{tms_id}/style.json",
    summary="A MapLibre style (v8) for the collection's tiles, in Spanish",
)
async def style(request: Request, collection_id: CollectionId, tms_id: TmsId) -> Response:
    c = await readable_collection(request, collection_id)
    tile_matrix_set(tms_id)
    with as_parameter_errors():
        _tile_params(request)

    def build(conn: Connection) -> Cached:
        doc = style_document(
            c.id,
            c.title,
            _template(request, c, tms_id),
            _bounds(conn, c),
            MIN_ZOOM,
            MAX_ZOOM,
            _ATTRIBUTION,
        )
        return json_body(doc)

    return await respond(
        request, await collection_version(request, c), build, private=c.read_role is not None
    )


# -- tiles ----------------------------------------------------------------------------------------


async def _tile_version(request: Request, c: Collection, q: TileQuery) -> str | None:
    """The tile's version: the collection's counters, with its own layer's counter
    replaced by the last change that met the tile (``layers.tile_changes``), so an edit
    elsewhere leaves this tile's ETag and cached body as they were.

    The layer's change log is read (from the database the counters came from) only
    when its counter moved since this process last read it."""
    counted = await counters(request)
    if registry.versions(counted, c) is None:
        return None
    counter = dict(counted)
    own = c.table.name
    logs: ChangeLogs = request.app.state.tile_changes
    log = logs.current(own, counter[own]) if own in counter else None
    if own in counter and log is None:
        engine = read_target(request).engine
        async with request.app.state.connection_slots:
            log = await run_in_threadpool(
                on_read_connection, engine, lambda conn: logs.refresh(conn, own, counter[own])
            )
    parts = [
        f"t{log.version_for(counter[name], q.bounds.lonlat_buffered)}"
        if log is not None and name == own
        else str(counter[name])
        for name in c.layers
    ]
    return ".".join(parts)


@router.get(
    "/collections/{collection_id}/tiles/{tms_id}/{z}/{y}/{x}",
    summary="One vector tile (MVT): tileMatrix z, tileRow y, tileCol x",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "The tile; empty when no feature"}},
)
async def tile(
    request: Request,
    collection_id: CollectionId,
    tms_id: TmsId,
    z: Annotated[int, Path(description="tileMatrix (zoom)")],
    y: Annotated[int, Path(description="tileRow (y, from the top)")],
    x: Annotated[int, Path(description="tileCol (x, from the west)")],
    filter: Annotated[str | None, Query(description="CQL2-text filter")] = None,
    properties: Annotated[
        str | None, Query(description="Properties to carry, separated by commas")
    ] = None,
) -> Response:
    c = await readable_collection(request, collection_id)
    tms = tile_matrix_set(tms_id)
    check_tile(tms, z, x, y)
    with as_parameter_errors():
        wanted_filter, names = _tile_params(request)
        tile_properties(c, names)
    # the rows this caller reaches (set by readable_collection): a representative's tile
    # of disputed zones or inspections holds its rows only, as its items do
    rows = getattr(request.state, "rows", None)
    q = TileQuery(z, tile_bounds(tms, z, x, y), wanted_filter, names, rows)

    def build(conn: Connection) -> Cached:
        with as_parameter_errors():
            return Cached(render_tile(conn, c, q), MVT, ())

    reader: AsyncReader | None = request.app.state.tile_reader
    build_async = None
    if reader is not None and can_render_async(reader, q):

        async def build_async() -> Cached:
            body = await render_tile_async(reader, request.app.state.engine, c, q)
            return Cached(body, MVT, ())

    return await respond(
        request,
        # a caller who reaches only some rows gets a tile of its own: never cached or shared
        cacheable_version(request, await _tile_version(request, c, q)),
        build,
        private=c.read_role is not None,
        cache=_tile_cache(request),
        build_async=build_async,
    )
