"""The OGC API's request parameters, declared as ``Annotated`` FastAPI dependencies.

Declaring each parameter here is what puts it in the OpenAPI document, with the schema
the standard gives it (``limit`` an integer with its default and maximum, ``bbox`` an
array of 4 or 6 numbers, ``crs`` one of the CRSs served…). GDAL and QGIS read that
document to decide what they may send to the server: a parameter they do not find there
they evaluate on their side, after downloading every page.

The values are checked by ``api.ogc.params`` (and ``geo.bbox``), after the collection is
known and the caller may read it: a bad parameter is a 400 naming it (OGC API - Features
requirement /req/core/query-param-invalid), never FastAPI's generic 422.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from pydantic import WithJsonSchema

from api.deps import access_of, caller_of
from api.ogc.params import (
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    StandardParams,
    bad,
    items_query,
    property_equals,
    single,
)
from api.ogc.render import PAGE_FORMATS, wanted
from formats import FORMATS, ExportFormat
from geo.access import Action
from geo.crs import CRS84, SUPPORTED, parse_crs
from geo.errors import Forbidden, InvalidParameter, NotFound, Problem, Unauthenticated
from layers.collections import COLLECTIONS, Collection
from layers.queries.items import ItemsQuery
from layers.users import Principal

_CRS_URIS = [crs.uri for crs in SUPPORTED]


# Each parameter is read as text (checked by ``api.ogc.params``) and documented with
# the schema the standard gives it (``WithJsonSchema``).

F = Annotated[
    str | None,
    Query(
        description=(
            "Representation: json (GeoJSON, the default), html, or a download (csv, gpkg, shp, "
            "kml, fgb, geojson). Without f= the Accept header decides."
        ),
    ),
    WithJsonSchema({"type": "string", "enum": [*PAGE_FORMATS, *FORMATS.keys()]}),
]
Limit = Annotated[
    str | None,
    Query(
        description=(
            f"Features per page (1 to {PAGE_LIMIT_MAX:,}; {PAGE_LIMIT_DEFAULT} when not given). "
            "A download without limit holds every match."
        ),
    ),
    WithJsonSchema(
        {"type": "integer", "minimum": 1, "maximum": PAGE_LIMIT_MAX, "default": PAGE_LIMIT_DEFAULT}
    ),
]
Offset = Annotated[
    str | None,
    Query(
        description="Features to skip (the next link carries it).",
    ),
    WithJsonSchema({"type": "integer", "minimum": 0, "default": 0}),
]
Bbox = Annotated[
    str | None,
    Query(
        description=(
            "minx,miny,maxx,maxy in the axis order of bbox-crs (CRS84: lon,lat; "
            "EPSG:4326: lat,lon; EPSG:6372: northing,easting). Six numbers: heights ignored."
        ),
    ),
    WithJsonSchema({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
]
BboxCrs = Annotated[
    str | None,
    Query(
        alias="bbox-crs",
        description=("CRS of bbox (OGC API - Features Part 2)."),
    ),
    WithJsonSchema({"type": "string", "format": "uri", "enum": _CRS_URIS, "default": CRS84.uri}),
]
CrsParam = Annotated[
    str | None,
    Query(
        description=(
            "CRS of the geometries returned, in its authority's axis order (Content-Crs says it)."
        ),
    ),
    WithJsonSchema({"type": "string", "format": "uri", "enum": _CRS_URIS, "default": CRS84.uri}),
]
Datetime = Annotated[
    str | None,
    Query(
        description=(
            "An instant or date (2024-05-01T12:00:00Z, 2024-05-01) or an interval a/b, either end "
            "open (.. or empty). Features whose time or validity meets it."
        ),
    ),
    WithJsonSchema({"type": "string"}),
]
Filter = Annotated[
    str | None,
    Query(
        description=(
            "A CQL2 expression over the queryables (/collections/{id}/queryables), e.g. "
            "name LIKE 'San%' AND population > 10000."
        ),
    ),
    WithJsonSchema({"type": "string"}),
]
FilterLang = Annotated[
    str | None,
    Query(
        alias="filter-lang",
        description=("Language of filter."),
    ),
    WithJsonSchema({"type": "string", "enum": ["cql2-text"], "default": "cql2-text"}),
]
FilterCrs = Annotated[
    str | None,
    Query(
        alias="filter-crs",
        description=("CRS of the geometry literals in filter."),
    ),
    WithJsonSchema({"type": "string", "format": "uri", "default": CRS84.uri}),
]
Properties = Annotated[
    str | None,
    Query(
        description=("Comma-separated properties to return (the rest are left out)."),
    ),
    WithJsonSchema({"type": "array", "items": {"type": "string"}}),
]
Sortby = Annotated[
    str | None,
    Query(
        description=("Comma-separated sort keys, - for descending: sortby=-population,name."),
    ),
    WithJsonSchema(
        {"type": "array", "items": {"type": "string", "pattern": r"^[+-]?[A-Za-z_][A-Za-z0-9_]*$"}}
    ),
]
CsvGeometry = Annotated[
    str | None,
    Query(
        alias="csv-geometry",
        description=("Geometry columns of a CSV download: WKT, or lon and lat for points."),
    ),
    WithJsonSchema({"type": "string", "enum": ["wkt", "lonlat"], "default": "wkt"}),
]

Labels = Annotated[
    str | None,
    Query(
        description="Column names of a download: en (stable English keys, the default) or es "
        "(Spanish titles, and category codes written as their Spanish labels).",
    ),
    WithJsonSchema({"type": "string", "enum": ["en", "es"], "default": "en"}),
]


#: the action of ``geo.access.SPEC`` that reading each protected collection is
READ_ACTIONS = {
    "claims": Action.claim_read,
    "inspections": Action.inspection_read,
    "disputed_zones": Action.zone_read,
}


def _readable(c: Collection, principal: Principal | None) -> bool:
    return c.read_role is None or (principal is not None and principal.role.can_act_as(c.read_role))


async def readable_collection(
    request: Request,
    collection_id: Annotated[str, Path(description="Collection: " + ", ".join(COLLECTIONS))],
) -> Collection:
    """The collection named in the path, if the caller may read it (404, 401, 403)."""
    c = COLLECTIONS.get(collection_id)
    if c is None:
        raise NotFound(
            f"no collection {collection_id!r}; the collections are: {', '.join(COLLECTIONS)}"
        )
    # a token that is sent is checked even for a public layer: a wrong one is never ignored
    principal = await caller_of(request)
    # the rows this caller reaches (geo.access.SPEC); None: all of them
    action = READ_ACTIONS.get(c.id)
    request.state.rows = (
        access_of(principal, action).rows if principal is not None and action else None
    )
    if c.read_role is not None:
        if principal is None:
            raise Unauthenticated(
                f"{c.id} needs a {c.read_role.value} or above: a bearer token, HTTP Basic "
                "(QGIS, GDAL) or a session (/entrar)"
            )
        if not _readable(c, principal):
            raise Forbidden(
                f"{c.id} needs the {c.read_role.value} role; {principal.name} is "
                f"{principal.role.value}"
            )
    return c


ReadableCollection = Annotated[Collection, Depends(readable_collection)]


@dataclass(frozen=True)
class ItemsRequest:
    """An items request, checked: the collection, the representation and the query."""

    collection: Collection
    #: ``"json"``, ``"html"`` or a download format
    fmt: str | ExportFormat
    query: ItemsQuery
    csv_geometry: str
    #: ``en`` or ``es``: the column names and codes of a download
    labels: str = "en"


def _documented(
    f: F = None,
    limit: Limit = None,
    offset: Offset = None,
    bbox: Bbox = None,
    bbox_crs: BboxCrs = None,
    datetime: Datetime = None,
    crs: CrsParam = None,
    filter: Filter = None,
    filter_lang: FilterLang = None,
    filter_crs: FilterCrs = None,
    properties: Properties = None,
    sortby: Sortby = None,
    csv_geometry: CsvGeometry = None,
    labels: Labels = None,
) -> None:
    """The items' query parameters, as declared for the OpenAPI document; never called."""


def _openapi_parameters(declared: Callable[..., Any]) -> list[dict[str, Any]]:
    """The OpenAPI entries FastAPI writes for ``declared``'s parameters: its own writer,
    on a throwaway app, so they read exactly as if the route declared them."""
    app = FastAPI()
    app.get("/_")(declared)
    parameters: list[dict[str, Any]] = app.openapi()["paths"]["/_"]["get"]["parameters"]
    return parameters


#: the items route's query parameters in the OpenAPI document (``openapi_extra``). The
#: route does not declare them to FastAPI: for fourteen parameters its resolution on
#: every request cost a third of an uncached page's Python; :func:`items_request`
#: reads them from the query string itself.
ITEMS_PARAMETERS = _openapi_parameters(_documented)
_SINGLE = tuple(
    name.replace("_", "-")
    for name in (*StandardParams.__dataclass_fields__, "f", "csv_geometry", "labels")
)


async def items_request(request: Request, c: ReadableCollection) -> ItemsRequest:
    """The parameters of ``ITEMS_PARAMETERS``, checked in the standard's order of
    concerns (400 each).

    Each standard parameter may be given once (a repetition is refused here, in the
    one place parameters are read).
    """
    params = request.query_params
    for name in _SINGLE:
        single(params, name)
    fmt = wanted(request, downloads=True)
    get = params.get
    crs = get("crs")
    csv_geometry = get("csv-geometry")
    labels = get("labels")
    given = StandardParams(
        limit=get("limit"),
        offset=get("offset"),
        bbox=get("bbox"),
        bbox_crs=get("bbox-crs"),
        datetime=get("datetime"),
        crs=crs,
        filter=get("filter"),
        filter_lang=get("filter-lang"),
        filter_crs=get("filter-crs"),
        properties=get("properties"),
        sortby=get("sortby"),
    )
    download = isinstance(fmt, ExportFormat)
    if download and fmt.key == "kml" and parse_crs(crs, "crs").epsg != 4326:  # type: ignore[union-attr]
        raise InvalidParameter(
            "crs: KML is always WGS 84",
            problems=[
                Problem(
                    "crs", "KML is always WGS 84 longitude/latitude; drop crs= or ask for f=gpkg"
                )
            ],
        )
    if csv_geometry not in (None, "wkt", "lonlat"):
        raise bad("csv-geometry", f"{csv_geometry!r}: use wkt or lonlat")
    if labels not in (None, "en", "es"):
        raise bad("labels", f"{labels!r}: use es for Spanish column names, or en (the default)")
    q = items_query(c, given, property_equals(c, params), download=download)
    return ItemsRequest(c, fmt, q, csv_geometry or "wkt", labels or "en")


ItemsRequestDep = Annotated[ItemsRequest, Depends(items_request)]
