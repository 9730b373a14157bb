"""The JSON Schemas of a collection's queryables and sortables (OGC API - Features
Part 3, OGC API - Records sorting)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.ogc.render import url_for
from layers.collections import Collection

JSON_SCHEMA_TYPES = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "json": {},
}
GEOMETRY_SCHEMAS = {
    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
    "MultiLineString": "https://geojson.org/schema/MultiLineString.json",
    "Point": "https://geojson.org/schema/Point.json",
}


def property_schema(
    request: Request, c: Collection, document: str, *, geometry: bool
) -> dict[str, Any]:
    """The JSON Schema of a collection's queryables (with the geometry) or sortables."""
    props: dict[str, Any] = {}
    if geometry:
        props["geometry"] = {
            "title": "Geometría",
            "x-ogc-role": "primary-geometry",
            "format": f"geometry-{c.geometry_type.lower()}",
            "$ref": GEOMETRY_SCHEMAS[c.geometry_type],
        }
    for p in (c.id_property, *c.properties):
        if geometry or p.kind != "json":  # a JSON value has no order
            props[p.name] = {"title": p.title, **JSON_SCHEMA_TYPES[p.kind]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url_for(request, f"/collections/{c.id}/{document}"),
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": False,
    }
