"""The API's wire shapes: pydantic models of what a JSON operation answers, for OpenAPI.

One module per resource (``disputes``, ``inspections``, ``claims``, ``users``), GeoJSON
through geojson-pydantic. A route names its model with :func:`answers`, which puts
it in ``responses`` for the success status: the document then shows the typed body,
and the body itself is still serialised as before, from the dict the use case
returns (a ``response_model`` would re-validate it, reorder its keys and turn whole
numbers declared ``float`` into ``1.0``; Schemathesis checks every answer against
these models instead, in ``tests/test_fuzz.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def answers(model: type[BaseModel] | Any, status: int = 200, description: str = "") -> Any:
    """``responses={status: {"model": model}}`` for a route: its success body in OpenAPI."""
    entry: dict[str, Any] = {"model": model}
    if description:
        entry["description"] = description
    return {status: entry}
