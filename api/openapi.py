"""The OpenAPI document, with the errors Linde really answers documented on every route.

Every error body has one shape (``api.errors.error_body``): ``{"code", "description",
"error": {"code", "message", "details": [{"field", "reason", "row"?}]}}`` (the root
``code`` is OGC API - Features' exception schema), 422 included (FastAPI's own
``HTTPValidationError`` is never sent: ``api.errors`` rewrites validation errors).
Each operation lists the statuses it can give: the ones every route can give (a
malformed or NUL-holding URL 400, a wrong or missing token 401, a role too low 403,
an unknown thing 404, an unsupported ``f=`` 406, invalid input 422, too many wrong
tokens 429), plus on writes a conflict 409, a stale or missing ``If-Match`` 412/428,
a body too large or of the wrong type 413/415, a full disk 507, and everywhere 503
(the database unreachable, busy or damaged; too many downloads; no map renderer).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.ogc.params import PAGE_LIMIT_DEFAULT
from api.wire.inspections import REQUEST_MODELS
from formats import FORMATS
from layers.collections import COLLECTIONS, Collection

#: FastAPI writes OpenAPI 3.1; the landing page's ``service-desc`` link says so
OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.1"

ERROR = {
    "type": "object",
    "required": ["code", "description", "error"],
    "properties": {
        "code": {"type": "string", "description": "Stable error code (OGC exception)"},
        "description": {"type": "string", "description": "What went wrong, for people"},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "reason": {"type": "string"},
                            "row": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
}
DESCRIPTIONS = {
    400: "Malformed parameter (the message says which, and where)",
    401: "No bearer token, or one that is unknown, revoked or expired",
    403: "The caller's role may not do this",
    404: "No such resource",
    406: "A format this resource does not offer",
    409: "Conflicts with the current state (the message says how)",
    410: "Gone: the feature's series ended (a withdrawn claim); the Link header "
    '(rel="version-history") lists its versions, datetime= before the end gives it',
    412: "If-Match names an older version: read again, then retry",
    413: "Body too large",
    415: "Body of a type this route does not take",
    422: "Invalid input (every problem listed in details, by field)",
    428: "This edit needs If-Match with the ETag last read",
    429: "Too many wrong tokens from this address; see Retry-After",
    503: "Not now: the database is unreachable, busy or damaged, too many downloads are "
    "under way, or a PNG or PDF cannot be drawn here (the code and message say which; "
    "Retry-After says when to try again)",
    507: "The disk is full; nothing was written",
}
_EVERY_ROUTE = (400, 401, 403, 404, 406, 422, 429, 503)
_ANY: dict[str, Any] = {}
_TEXT = {"schema": {"type": "string"}}
_OBJECT = {"schema": {"type": "object"}}
#: what a successful answer may be, beyond JSON: OGC resources have an HTML view
#: (``f=html``), items every export format, maps PNG and PDF
_OGC_VIEWS = {"application/json": _OBJECT, "text/html": _TEXT}


_MAPS = ("/maps/metro-zones/", "/maps/rivers/", "/maps/disputes/")


def _success_types(path: str) -> dict[str, Any] | None:
    if path.endswith(("/queryables", "/sortables")):
        return {"application/schema+json": _OBJECT, "text/html": _TEXT}
    if path.startswith("/collections/") and "/items" in path:
        types = {"application/geo+json": _OBJECT, "text/html": _TEXT}
        if path.endswith("/items"):
            types |= {f.media_type.split(";")[0]: _ANY for f in FORMATS.values()}
        return types
    if path in ("/", "/conformance", "/collections", "/collections/{collection_id}"):
        return _OGC_VIEWS
    if path.startswith(_MAPS):  # the maps drawn; /maps/logos and /maps/river-choices are JSON
        return {"text/html": _TEXT, "image/png": _ANY, "application/pdf": _ANY}
    return None


_WRITES = (409, 412, 413, 415, 428, 507)
#: routes that answer 410 for a withdrawn claim (``api.routes.versions.refuse_if_withdrawn``)
_GONE = ("/collections/{collection_id}/items/{feature_id}",)
_ITEMS = "/collections/{collection_id}/items"
_QUERYABLE_TYPES = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}
#: comma-separated lists, as the standard writes them (``bbox=1,2,3,4``)
_COMMA_LISTS = ("bbox", "properties", "sortby")


def _items_operation(generic: dict[str, Any], c: Collection) -> dict[str, Any]:
    """The items operation of one collection: the standard parameters, and each
    queryable as a property filter (``?cvegeo=20157``).

    GDAL and QGIS look for ``/collections/<id>/items`` in the document and send a
    filter to the server only on the parameters listed there; they do not read the
    ``{collection_id}`` template.
    """
    operation = copy.deepcopy(generic)
    operation["operationId"] = f"items_{c.id}"
    operation["summary"] = f"{c.title}: features"
    parameters = [p for p in operation.get("parameters", []) if p.get("in") != "path"]
    for p in (c.id_property, *(p for p in c.properties if p.name != c.id_property.name)):
        if p.kind not in _QUERYABLE_TYPES:
            continue
        parameters.append(
            {
                "name": p.name,
                "in": "query",
                "required": False,
                "description": f"{p.title}: features whose {p.name} equals this value",
                # QGIS takes a parameter for a property filter only when it says so
                "style": "form",
                "explode": False,
                "schema": _QUERYABLE_TYPES[p.kind],
            }
        )
    operation["parameters"] = parameters
    return operation


def _declare_items(schema: dict[str, Any]) -> None:
    generic = schema["paths"].get(_ITEMS, {}).get("get")
    if generic is None:
        return
    for parameter in generic.get("parameters", []):
        if parameter["name"] in _COMMA_LISTS:
            parameter |= {"style": "form", "explode": False}
        if parameter["name"] == "limit":
            parameter["schema"]["default"] = PAGE_LIMIT_DEFAULT
    for c in COLLECTIONS.values():
        schema["paths"][f"/collections/{c.id}/items"] = {"get": _items_operation(generic, c)}


def _typed_success(operation: dict[str, Any]) -> None:
    """Keep only the model's ``$ref`` where a route names its success body
    (``api.wire.answers``): FastAPI merges it into the untyped object it infers from a
    route's ``dict[str, Any]`` annotation."""
    for code, response in operation.get("responses", {}).items():
        if not code.startswith("2"):
            continue
        for content in response.get("content", {}).values():
            schema = content.get("schema", {})
            if "$ref" in schema:
                content["schema"] = {"$ref": schema["$ref"]}
            elif schema.get("type") == "array" and "$ref" in schema.get("items", {}):
                content["schema"] = {"type": "array", "items": schema["items"]}


def _request_models(schema: dict[str, Any]) -> None:
    """The models a route names only in ``openapi_extra`` (``POST /inspections``)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in REQUEST_MODELS:
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[model.__name__] = body


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        _declare_items(schema)
        _request_models(schema)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        # the pages (es-MX, for people) refuse a wrong password (401), a form from
        # another site or without its CSRF token (403) and too many tries (429) with an
        # HTML page; malformed input is still the JSON error
        page_error = {**error, "text/html": _TEXT}
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                # public routes that show more to a signed-in caller: a token is optional
                if operation.pop("x-linde-auth", None) == "optional":
                    operation["security"] = [{}, *operation.get("security", [])]
                _typed_success(operation)
                success = _success_types(path)
                if success is not None and "200" in operation.get("responses", {}):
                    operation["responses"]["200"]["content"] = success
                codes = list(_EVERY_ROUTE)
                if method in ("post", "put", "patch", "delete"):
                    codes += _WRITES
                if path in _GONE:
                    codes.append(410)
                responses = operation.setdefault("responses", {})
                page = "pages" in operation.get("tags", ())
                for code in codes:
                    entry = responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
                    entry["content"] = page_error if page else error
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
