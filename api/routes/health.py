"""``GET /health``: is the service up, on which engine, at which schema version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import EngineDep
from layers import migrate
from layers.engine import engine_name

router = APIRouter(tags=["service"])


@router.get("/health", summary="Service health, engine and schema version")
def health(engine: EngineDep) -> dict[str, Any]:
    current = migrate.current_revision(engine)
    head = migrate.head_revision()
    return {
        "status": "ok" if current == head else "schema_outdated",
        "engine": engine_name(engine),
        "schema_version": current,
        "schema_head": head,
    }
