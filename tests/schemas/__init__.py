"""The OGC's own JSON schemas, to validate what Linde serves against (see README.md).

``ogcapi-features-1.0.1/`` holds OGC API - Features - Part 1: Core 1.0.1's schemas as
the OGC published them (OpenAPI 3.0 YAML, one file per schema, ``$ref`` by file name).
:func:`ogc_validator` reads one with the others as its ``$defs``, and turns OpenAPI's
``nullable: true`` into JSON Schema's ``null`` type, so a JSON Schema validator reads it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

FEATURES_1 = Path(__file__).parent / "ogcapi-features-1.0.1"


def _converted(node: Any) -> Any:
    """One OpenAPI 3.0 schema node as JSON Schema: ``$ref: other.yaml`` points into
    ``$defs`` (GeoJSON geometries refer to each other: they cannot be inlined), and
    ``nullable: true`` becomes the ``null`` type."""
    if isinstance(node, dict):
        out = {key: _converted(value) for key, value in node.items() if key != "example"}
        ref = out.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            out["$ref"] = f"#/$defs/{Path(ref).stem}"
        if out.pop("nullable", False) and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_converted(item) for item in node]
    return node


@cache
def ogc_validator(name: str, folder: Path = FEATURES_1) -> Any:
    """A validator of the schema in ``folder/name``, every schema of the folder beside it."""
    defs = {p.stem: _converted(yaml.safe_load(p.read_text())) for p in folder.glob("*.yaml")}
    schema = {**defs[Path(name).stem], "$defs": defs}
    return jsonschema_rs.Draft202012Validator(schema)
